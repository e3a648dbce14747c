"""The shared db tests of compute rerun here on SQLite, PostgreSQL and MariaDB."""

from tests.fixtures.database import backend, db_url, empty_db_url, sqlite_db  # noqa: F401
