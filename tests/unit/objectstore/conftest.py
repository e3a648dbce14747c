"""The objectstore tests run against the in-process objectstore of tests/fixtures/objectstore.py."""

from tests.fixtures.database import sqlite_db  # noqa: F401
from tests.fixtures.objectstore import PAIRS, USERS, _fresh_auth_cache, client_for, objectstore, s3  # noqa: F401
