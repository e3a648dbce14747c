"""Image tests run on SQLite; registration tests use the in-process objectstore."""

import pytest

from tests.fixtures.database import db_url, empty_db_url, sqlite_db  # noqa: F401
from tests.fixtures.objectstore import _fresh_auth_cache, objectstore  # noqa: F401


@pytest.fixture
def backend() -> str:
    return "sqlite"
