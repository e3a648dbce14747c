"""Connections and sessions for work that is one statement, without a transaction round trip each side.

psycopg2 sends ``BEGIN`` before a transaction's first statement and
``COMMIT`` after it, each a round trip of its own (and through psycogreen a
hub switch, two epoll calls and a server wake-up): a transaction of one
statement costs three round trips.  One statement is atomic on its own, so
here it runs on a connection in autocommit mode, which sends only the
statement.  MySQL/MariaDB and SQLite keep the transaction of
``get_connection`` (PyMySQL's autocommit switch is a round trip itself, and
SQLite has none to save).

Everything else is ``session.get_connection``'s: a live connection first
(retried for ``--sql_connect_retry_seconds``), nova exceptions for driver
errors, the connection back to the pool on exit (out of autocommit again).
Use it only where the block sends a single statement.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from nova.db.sqlalchemy import session as db_session


def _driver_connection(connection: Connection) -> Any:
    """The psycopg2 connection under ``connection`` (None on other databases)."""
    if connection.dialect.name != "postgresql":
        return None
    return connection.connection.dbapi_connection


@contextlib.contextmanager
def get_connection() -> Iterator[Connection]:
    """A Core connection for one statement (autocommit on PostgreSQL; elsewhere one transaction).

    The driver's own autocommit switch is set and cleared here, not the
    engine's isolation level: psycopg2 sends a round trip when an isolation
    level is set on a connection in autocommit, which the engine's reset on
    the way back to the pool would do.
    """
    connection = db_session._connected(lambda: db_session.get_engine().connect())
    driver = None
    try:
        driver = _driver_connection(connection)
        if driver is not None:
            driver.autocommit = True
        with db_session._as_nova_errors(), connection.begin():
            yield connection
    finally:
        if driver is not None:
            try:
                driver.autocommit = False
            except Exception:  # noqa: BLE001 - closed or busy (interrupted): it must not go back to the pool
                connection.invalidate()
        connection.close()


@contextlib.contextmanager
def get_session() -> Iterator[Session]:
    """An ORM session for one statement that loads objects (they stay usable, detached, after the block)."""
    with get_connection() as connection:
        session = Session(bind=connection, expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
