"""Service API unit tests run on SQLite."""

import pytest

from tests.fixtures.database import db_url, empty_db_url, sqlite_db  # noqa: F401


@pytest.fixture
def backend() -> str:
    return "sqlite"
