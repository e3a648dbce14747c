"""nova/db/sqlalchemy/single_statement.py: one statement without BEGIN and COMMIT round trips on
PostgreSQL, the same transaction as get_connection elsewhere; connections go back to the pool as they came."""

import pytest
import sqlalchemy
from sqlalchemy import event

from nova import context, exception
from nova.db import api as db
from nova.db.sqlalchemy import session, single_statement

ADMIN = context.get_admin_context()


def _autocommit(connection):
    """Whether the driver connection under ``connection`` is in autocommit (None where it has no such switch)."""
    return getattr(connection.connection.dbapi_connection, "autocommit", None)


@pytest.fixture
def seen():
    """(statement, the driver's autocommit switch while it ran) of every statement sent in the test."""
    found = []

    def record(conn, _cursor, statement, *_args):
        found.append((statement, _autocommit(conn) if conn.dialect.name == "postgresql" else None))

    engine = session.get_engine()
    event.listen(engine, "before_cursor_execute", record)
    yield found
    event.remove(engine, "before_cursor_execute", record)


def test_one_statement_runs_in_autocommit_on_postgresql_only(db_url, seen):
    with single_statement.get_connection() as connection:
        assert connection.execute(sqlalchemy.text("SELECT 1")).scalar() == 1
    [(_statement, autocommit)] = seen
    assert autocommit is (True if session.get_engine().dialect.name == "postgresql" else None)


def test_the_connection_goes_back_to_transactions(db_url, seen):
    service = db.service_create(ADMIN, {"host": "h", "binary": "nova-compute", "topic": "compute"})
    for _ in range(3):  # every pooled connection has been through single_statement once
        with single_statement.get_connection() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    with pytest.raises(RuntimeError):
        with session.get_connection() as connection:
            connection.execute(sqlalchemy.text("UPDATE services SET host = 'moved' WHERE id = :id"),
                               {"id": service["id"]})
            raise RuntimeError("roll back")
    assert db.service_get(ADMIN, service["id"])["host"] == "h"
    assert all(autocommit in (False, None) for statement, autocommit in seen if "UPDATE" in statement)


def test_driver_errors_become_nova_exceptions_and_the_connection_survives(db_url):
    with pytest.raises(exception.DatabaseError):
        with single_statement.get_connection() as connection:
            connection.execute(sqlalchemy.text("SELECT * FROM no_such_table"))
    with single_statement.get_connection() as connection:
        assert connection.execute(sqlalchemy.text("SELECT 1")).scalar() == 1


def test_session_objects_stay_readable_after_the_block(db_url):
    service = db.service_create(ADMIN, {"host": "h", "binary": "nova-compute", "topic": "compute"})
    from nova.db.sqlalchemy import models

    with single_statement.get_session() as orm:
        row = orm.get(models.Service, service["id"])
    assert (row.host, row.topic) == ("h", "compute")
