"""On PostgreSQL, plain reads run outside transactions and writes stay atomic (nova.db.sqlalchemy.session)."""

import time

import pytest
import sqlalchemy
from sqlalchemy import text

from nova import exception
from nova.db.sqlalchemy import prepared, session


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def table(db_url):
    engine = sqlalchemy.create_engine(db_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE session_probe (id integer PRIMARY KEY)"))
    yield "session_probe"
    with engine.connect() as connection:
        connection.execute(text("DROP TABLE session_probe"))
    engine.dispose()


def own_transaction(connection) -> bool:
    """Whether the statement run now shares a transaction begun by an earlier statement."""
    time.sleep(0.02)
    return not connection.execute(text("SELECT now() = statement_timestamp()")).scalar()


def test_reads_hold_no_transaction_open(table):
    with session.get_connection() as connection:
        connection.execute(text("SELECT count(*) FROM session_probe"))
        assert not own_transaction(connection)


def test_after_a_write_the_block_is_one_transaction(table):
    with session.get_connection() as connection:
        connection.execute(text("SELECT count(*) FROM session_probe"))
        connection.execute(text("INSERT INTO session_probe VALUES (1)"))
        assert own_transaction(connection)
    with session.get_connection() as connection:  # the same pooled connection, reading again
        connection.execute(text("SELECT 1"))
        assert not own_transaction(connection)


def test_a_row_lock_begins_the_transaction(table):
    with session.get_connection() as connection:
        connection.execute(text("SELECT id FROM session_probe FOR UPDATE"))
        assert own_transaction(connection)


def test_writes_of_a_failed_block_are_rolled_back(table):
    with pytest.raises(exception.Duplicate):
        with session.get_session() as db:
            db.execute(text("SELECT count(*) FROM session_probe"))
            db.execute(text("INSERT INTO session_probe VALUES (1)"))
            db.execute(text("INSERT INTO session_probe VALUES (2)"))
            db.execute(text("INSERT INTO session_probe VALUES (1)"))
    with session.get_connection() as connection:
        assert connection.execute(text("SELECT count(*) FROM session_probe")).scalar() == 0


def test_a_single_statement_block_commits_by_itself(table):
    with session.get_connection(single_statement=True) as connection:
        # The row goes in only if no BEGIN came before the statement (the transaction began with it).
        insert = "INSERT INTO session_probe SELECT 1 WHERE now() = statement_timestamp()"
        assert connection.execute(text(insert)).rowcount == 1
    with session.get_connection() as connection:
        assert connection.execute(text("SELECT count(*) FROM session_probe")).scalar() == 1
        assert not own_transaction(connection)


def test_a_second_statement_in_a_single_statement_block_is_refused(table):
    with pytest.raises(RuntimeError):
        with session.get_connection(single_statement=True) as connection:
            connection.execute(text("INSERT INTO session_probe VALUES (1)"))
            connection.execute(text("INSERT INTO session_probe VALUES (2)"))
    with session.get_connection() as connection:
        assert connection.execute(text("SELECT array_agg(id) FROM session_probe")).scalar() == [1]


def test_in_one_transaction_a_single_statement_before_any_write_commits_by_itself(table):
    with session.one_transaction():
        with session.get_connection() as connection:
            connection.execute(text("SELECT count(*) FROM session_probe"))
        with session.get_connection(single_statement=True) as connection:
            insert = "INSERT INTO session_probe SELECT 1 WHERE now() = statement_timestamp()"
            assert connection.execute(text(insert)).rowcount == 1
        with session.get_connection() as connection:  # reads may follow
            assert connection.execute(text("SELECT count(*) FROM session_probe")).scalar() == 1
        with pytest.raises(RuntimeError):  # a write could not be atomic with the one committed already
            with session.get_connection() as connection:
                connection.execute(text("INSERT INTO session_probe VALUES (2)"))
    with session.get_connection() as connection:
        assert connection.execute(text("SELECT array_agg(id) FROM session_probe")).scalar() == [1]


def test_in_one_transaction_a_single_statement_after_a_write_joins_the_transaction(table):
    with pytest.raises(exception.Duplicate):
        with session.one_transaction():
            with session.get_connection() as connection:
                connection.execute(text("INSERT INTO session_probe VALUES (1)"))
            with session.get_connection(single_statement=True) as connection:
                connection.execute(text("INSERT INTO session_probe VALUES (2)"))
            with session.get_connection() as connection:
                connection.execute(text("INSERT INTO session_probe VALUES (1)"))
    with session.get_connection() as connection:
        assert connection.execute(text("SELECT count(*) FROM session_probe")).scalar() == 0
    with session.one_transaction():  # the next checkout of the connection starts afresh
        with session.get_connection() as connection:
            connection.execute(text("INSERT INTO session_probe VALUES (3)"))
            assert own_transaction(connection)


def PREPARE_ME(sql: str):
    """A statement that asks to be prepared on the server, as ``common.prepared``'s do."""
    return text(sql).execution_options(**{prepared.SERVER_PREPARE: True})


def test_other_statements_are_sent_as_text(table):
    with session.get_connection() as connection:
        connection.execute(text("SELECT id FROM session_probe WHERE id < :high"), {"high": 5})
        assert not [s for s in prepared_on_this_connection(connection) if "session_probe WHERE id <" in s]


def prepared_on_this_connection(connection) -> list[str]:
    return connection.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()


def test_statements_are_prepared_once_per_connection_and_answer_the_same(table):
    with session.get_connection() as connection:
        connection.execute(text("INSERT INTO session_probe VALUES (:a), (:b)"), {"a": 1, "b": 2})
    for _ in range(3):
        with session.get_connection() as connection:
            rows = connection.execute(PREPARE_ME("SELECT id FROM session_probe WHERE id >= :low ORDER BY id"),
                                      {"low": 2}).scalars().all()
            assert rows == [2]
            mine = [s for s in prepared_on_this_connection(connection)
                    if s.endswith(" AS SELECT id FROM session_probe WHERE id >= $1 ORDER BY id")]
            assert len(mine) == 1  # one pooled connection, prepared on its first use only


def test_a_statement_the_server_will_not_prepare_runs_as_text_in_its_transaction(table):
    with session.get_connection() as connection:
        connection.execute(text("INSERT INTO session_probe VALUES (7)"))
        # $1 IS NULL cannot be prepared (no type for $1); as text it is NULL IS NULL
        assert connection.execute(PREPARE_ME("SELECT :x IS NULL"), {"x": None}).scalar() is True
        connection.execute(text("INSERT INTO session_probe VALUES (8)"))
    with session.get_connection() as connection:
        assert connection.execute(text("SELECT array_agg(id ORDER BY id) FROM session_probe")).scalar() == [7, 8]


def test_the_flag_turns_prepared_statements_off(table):
    from nova import flags

    flags.FLAGS.sql_server_prepared_statements = False
    try:
        session.reset()
        with session.get_connection() as connection:
            connection.execute(PREPARE_ME("SELECT count(*) FROM session_probe WHERE id > :n"), {"n": 0})
            assert prepared_on_this_connection(connection) == []
    finally:
        flags.FLAGS.sql_server_prepared_statements = True
        session.reset()
