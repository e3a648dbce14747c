"""On PostgreSQL, plain reads run outside transactions and writes stay atomic (nova.db.sqlalchemy.session)."""

import time

import pytest
import sqlalchemy
from sqlalchemy import text

from nova import exception
from nova.db.sqlalchemy import session


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
