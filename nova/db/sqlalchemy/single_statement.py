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
errors, the connection back to the pool on exit.  Use it only where the
block sends a single statement: a second one raises RuntimeError unsent.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from nova.db.sqlalchemy import session as db_session


@contextlib.contextmanager
def get_connection() -> Iterator[Connection]:
    """A Core connection for one statement (autocommit on PostgreSQL; elsewhere one transaction):
    ``session.get_connection(single_statement=True)``, which refuses a second statement."""
    with db_session.get_connection(single_statement=True) as connection:
        yield connection


@contextlib.contextmanager
def get_session() -> Iterator[Session]:
    """An ORM session for one statement that loads objects (they stay usable, detached, after the block)."""
    with get_connection() as connection:
        session = Session(bind=connection, expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
