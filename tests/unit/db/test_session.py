"""Engine construction from --sql_connection."""

import socket

import pytest
import sqlalchemy
from sqlalchemy.pool import StaticPool

from nova import exception, flags
from nova.db.sqlalchemy import session

FLAGS = flags.FLAGS


@pytest.fixture(autouse=True)
def fresh_engine():
    session.reset()
    yield
    session.reset()


@pytest.mark.parametrize("url, driver, charset", [
    ("mysql://nova:pw@db/nova", "mysql+pymysql", "utf8mb4"),
    ("mysql+pymysql://nova:pw@db/nova?charset=latin1", "mysql+pymysql", "latin1"),
    ("postgresql://nova:pw@db/nova", "postgresql+psycopg2", None),
    ("postgres://nova:pw@db/nova", "postgresql+psycopg2", None),
    ("sqlite:///tmp/nova.sqlite", "sqlite", None),
])
def test_urls_get_nova_drivers(url, driver, charset):
    parsed = session.normalize_url(url)
    assert parsed.drivername == driver
    assert parsed.query.get("charset") == charset


def test_safe_url_hides_the_password():
    assert "secret" not in session.safe_url("mysql://nova:secret@db/nova")
    assert "nova@db/nova" in session.safe_url("postgresql://nova@db/nova")


def test_default_sqlite_file_is_created_under_state_path_with_wal(tmp_path):
    engine = session.get_engine()
    assert engine.url.database == str(tmp_path / "nova.sqlite")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == session.SQLITE_BUSY_TIMEOUT_MS
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert (tmp_path / "nova.sqlite").exists()


def test_missing_parent_directories_are_created(tmp_path):
    FLAGS.sql_connection = f"sqlite:///{tmp_path}/a/b/nova.sqlite"
    with session.get_engine().connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    assert (tmp_path / "a" / "b" / "nova.sqlite").exists()


def test_memory_database_uses_one_shared_connection():
    FLAGS.sql_connection = "sqlite://"
    engine = session.get_engine()
    assert isinstance(engine.pool, StaticPool)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0


def test_engine_is_shared_and_rebuilt_when_the_flag_changes(tmp_path):
    first = session.get_engine()
    assert session.get_engine() is first
    FLAGS.sql_connection = f"sqlite:///{tmp_path}/other.sqlite"
    second = session.get_engine()
    assert second is not first and second.url.database == str(tmp_path / "other.sqlite")
    session.reset()
    assert session.get_engine() is not second


def test_server_engines_check_and_recycle_connections():
    FLAGS.sql_idle_timeout = 77
    FLAGS.sql_connection = "mysql://nova@127.0.0.1:1/nova"
    engine = session.get_engine()
    assert engine.dialect.driver == "pymysql"
    assert engine.pool._recycle == 77
    # Checked on checkout by nova's own listener, not a round trip per checkout.
    assert not engine.pool._pre_ping
    assert len(engine.pool.dispatch.checkout) == 1


class _Connection:
    def __init__(self, sock):
        self.sock = sock

    def fileno(self):
        return self.sock.fileno()


def test_a_connection_the_server_closed_is_seen_without_a_round_trip():
    ours, servers = socket.socketpair()
    try:
        assert not session._closed_by_server(_Connection(ours))
        servers.close()
        assert session._closed_by_server(_Connection(ours))
    finally:
        ours.close()
    assert session._closed_by_server(_Connection(ours))  # fileno() of a closed socket is -1


def test_postgresql_is_made_green_under_eventlet(monkeypatch):
    import psycopg2.extensions

    monkeypatch.setattr(session, "_psycopg_patched", False)
    previous = psycopg2.extensions.get_wait_callback()
    try:
        FLAGS.sql_connection = "postgresql://nova@127.0.0.1:1/nova"
        assert session.get_engine().dialect.driver == "psycopg2"
        assert psycopg2.extensions.get_wait_callback() is not None
    finally:
        psycopg2.extensions.set_wait_callback(previous)


TRANSACTIONS = [pytest.param(lambda: session.get_session(), id="get_session"),
                pytest.param(lambda: session.get_connection(), id="get_connection")]


@pytest.mark.parametrize("transaction", TRANSACTIONS)
def test_session_rolls_back_on_error_and_commits_otherwise(transaction):
    FLAGS.sql_connection = "sqlite://"
    with session.get_engine().begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    with pytest.raises(RuntimeError):
        with transaction() as s:
            s.execute(sqlalchemy.text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("boom")
    with transaction() as s:
        s.execute(sqlalchemy.text("INSERT INTO t VALUES (2)"))
    with transaction() as s:
        assert s.execute(sqlalchemy.text("SELECT x FROM t")).scalars().all() == [2]


@pytest.mark.parametrize("transaction", TRANSACTIONS)
def test_driver_errors_become_nova_exceptions(transaction):
    FLAGS.sql_connection = "sqlite://"
    with session.get_engine().begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER PRIMARY KEY, y INTEGER NOT NULL)")
    with transaction() as s:
        s.execute(sqlalchemy.text("INSERT INTO t VALUES (1, 1)"))
    with pytest.raises(exception.Duplicate) as duplicate:
        with transaction() as s:
            s.execute(sqlalchemy.text("INSERT INTO t VALUES (1, 1)"))
    assert "UNIQUE" in duplicate.value.kwargs["detail"]
    with pytest.raises(exception.InvalidInput):
        with transaction() as s:
            s.execute(sqlalchemy.text("INSERT INTO t VALUES (2, NULL)"))
    with pytest.raises(exception.DatabaseError):
        with transaction() as s:
            s.execute(sqlalchemy.text("SELECT * FROM no_such_table"))


def test_a_core_connection_retries_an_unreachable_server_then_is_a_503():
    import time

    FLAGS.sql_connection = "postgresql://nova@127.0.0.1:1/nova"
    FLAGS.sql_connect_retry_seconds = 0.3
    FLAGS.sql_retry_interval = 0.1
    started = time.monotonic()
    with pytest.raises(exception.DBConnectionError) as caught:
        with session.get_connection():
            pass
    assert 0.3 <= time.monotonic() - started < 5
    assert caught.value.code == 503 and "\n" not in str(caught.value)


def test_deadlocks_are_told_apart_from_other_errors():
    from sqlalchemy import exc as sa_exc

    from nova.db.sqlalchemy import session as db_session

    class MysqlError(Exception):
        pass

    class PgError(Exception):
        pgcode = "40P01"

    mysql_deadlock = sa_exc.OperationalError("UPDATE quotas", {}, MysqlError(1213, "Deadlock found"))
    mysql_other = sa_exc.OperationalError("UPDATE quotas", {}, MysqlError(2013, "Lost connection"))
    pg_deadlock = sa_exc.OperationalError("UPDATE quotas", {}, PgError("deadlock detected"))
    assert db_session.is_deadlock(mysql_deadlock)
    assert db_session.is_deadlock(pg_deadlock)
    assert not db_session.is_deadlock(mysql_other)


def test_an_unreachable_server_is_retried_then_is_a_503(monkeypatch):
    import time

    FLAGS.sql_connection = "postgresql://nova@127.0.0.1:1/nova"
    FLAGS.sql_connect_retry_seconds = 0.5
    FLAGS.sql_retry_interval = 0.1
    attempts = []
    real_connect = session.Session.connection
    monkeypatch.setattr(session.Session, "connection", lambda self, *a, **k: attempts.append(1) or real_connect(self))
    started = time.monotonic()
    with pytest.raises(exception.DBConnectionError) as caught:
        with session.get_session():
            pass
    assert 0.5 <= time.monotonic() - started < 5
    assert len(attempts) >= 3
    assert caught.value.code == 503 and "\n" not in str(caught.value)


def test_an_exhausted_pool_is_a_503_not_a_timeout_traceback(tmp_path):
    from sqlalchemy.pool import QueuePool

    FLAGS.sql_connection = f"sqlite:///{tmp_path}/pool.sqlite"
    engine = session.get_engine()
    engine.pool = QueuePool(engine.pool._creator, pool_size=1, max_overflow=0, timeout=0.2)
    with session.get_session():
        with pytest.raises(exception.DBConnectionError, match="pool is exhausted") as caught:
            with session.get_session():
                pass
    assert caught.value.code == 503
    with session.get_session() as again:  # the held connection went back to the pool
        assert again.connection().exec_driver_sql("SELECT 1").scalar() == 1


def test_statements_are_counted_into_a_file_per_process_when_asked(tmp_path):
    import os

    FLAGS.sql_statement_count_dir = str(tmp_path / "counts")
    FLAGS.sql_connection = f"sqlite:///{tmp_path}/counted.sqlite"
    engine = session.get_engine()
    counter = tmp_path / "counts" / str(os.getpid())
    before = int.from_bytes(counter.read_bytes()[:8], "little")
    with engine.connect() as conn:
        for _ in range(3):
            conn.execute(sqlalchemy.text("SELECT 1"))
    assert int.from_bytes(counter.read_bytes()[:8], "little") == before + 3


@pytest.mark.filterwarnings("ignore:Using fork")
def test_a_forked_process_counts_into_its_own_file(tmp_path):
    """nova-api's workers each count their statements; the parent's count is left alone."""
    import os

    FLAGS.sql_statement_count_dir = str(tmp_path / "counts")
    FLAGS.sql_connection = f"sqlite:///{tmp_path}/counted.sqlite"
    engine = session.get_engine()
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text("SELECT 1"))
    mine = tmp_path / "counts" / str(os.getpid())
    before = int.from_bytes(mine.read_bytes()[:8], "little")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            with session.get_engine().connect() as conn:  # a pool of its own (the inherited one was dropped)
                for _ in range(2):
                    conn.execute(sqlalchemy.text("SELECT 1"))
            code = 0
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    assert int.from_bytes((tmp_path / "counts" / str(pid)).read_bytes()[:8], "little") == 2
    assert int.from_bytes(mine.read_bytes()[:8], "little") == before


def test_server_pool_size_comes_from_the_flags():
    FLAGS.sql_max_pool_size, FLAGS.sql_max_overflow = 7, 30
    engine = session.create_engine("postgresql://nova:pw@db/nova")
    assert (engine.pool.kept_size(), engine.pool.max_overflow()) == (7, 30)


def test_one_transaction_shares_one_connection_and_commits_or_rolls_back_together():
    FLAGS.sql_connection = "sqlite://"
    with session.get_engine().begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    with session.one_transaction():
        with session.get_connection() as first:
            first.execute(sqlalchemy.text("INSERT INTO t VALUES (1)"))
        with session.one_transaction(), session.get_connection() as second:  # a nested block joins
            assert second is first
            second.execute(sqlalchemy.text("INSERT INTO t VALUES (2)"))
    with pytest.raises(exception.Duplicate):
        with session.one_transaction():
            with session.get_connection() as c:
                c.execute(sqlalchemy.text("INSERT INTO t VALUES (3)"))
            with session.get_connection() as c:
                c.execute(sqlalchemy.text("INSERT INTO t VALUES (1)"))
    with session.get_connection() as c:  # after the block: a connection of its own again
        assert c is not first
        assert c.execute(sqlalchemy.text("SELECT x FROM t ORDER BY x")).scalars().all() == [1, 2]
