"""KeepingPool: overflow connections are reused while a load keeps them busy, closed once idle."""

import pytest
from sqlalchemy import exc as sa_exc

from nova import flags
from nova.db.sqlalchemy.pool import KeepingPool

FLAGS = flags.FLAGS


class FakeConnection:
    def __init__(self, opened: list) -> None:
        self.closed = False
        opened.append(self)

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def opened():
    return []


@pytest.fixture
def pool(opened):
    saved = FLAGS.sql_overflow_idle_seconds
    yield KeepingPool(lambda: FakeConnection(opened), pool_size=1, max_overflow=2, timeout=0.1)
    FLAGS.sql_overflow_idle_seconds = saved


def burst(pool, width):
    held = [pool.connect() for _ in range(width)]
    for connection in held:
        connection.close()


def test_a_steady_load_wider_than_the_pool_opens_no_new_connections(pool, opened):
    FLAGS.sql_overflow_idle_seconds = 30
    for _ in range(5):
        burst(pool, 3)
    assert len(opened) == 3
    assert not any(connection.closed for connection in opened)
    assert (pool.kept_size(), pool.max_overflow(), pool.checkedin()) == (1, 2, 3)


def test_overflow_connections_idle_long_enough_are_closed(pool, opened):
    FLAGS.sql_overflow_idle_seconds = 0
    burst(pool, 3)
    assert [connection.closed for connection in opened] == [True, True, False]
    assert pool.checkedin() == 1
    burst(pool, 3)
    assert len(opened) == 5


def test_no_more_than_size_plus_overflow_at_once(pool, opened):
    FLAGS.sql_overflow_idle_seconds = 30
    held = [pool.connect() for _ in range(3)]
    with pytest.raises(sa_exc.TimeoutError):
        pool.connect()
    held.pop().close()
    held.append(pool.connect())
    assert len(opened) == 3


def test_recreate_keeps_the_sizes(pool):
    again = pool.recreate()
    assert (type(again), again.kept_size(), again.max_overflow()) == (KeepingPool, 1, 2)


def test_after_dispose_the_whole_width_is_there_again(pool, opened):
    FLAGS.sql_overflow_idle_seconds = 30
    burst(pool, 3)
    pool.dispose()
    assert all(connection.closed for connection in opened)
    held = [pool.connect() for _ in range(3)]
    assert len(opened) == 6 and len(held) == 3
