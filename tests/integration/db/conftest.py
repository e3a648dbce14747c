"""The database tests shared with tests/unit/db run here on PostgreSQL and MariaDB (tests/unit/db runs
them on SQLite: running them on SQLite here too would only repeat those)."""

import pytest

from tests.fixtures.database import db_url, empty_db_url, sqlite_db  # noqa: F401

SERVERS = ("postgresql", "mysql")


@pytest.fixture(params=SERVERS)
def backend(request) -> str:
    return request.param
