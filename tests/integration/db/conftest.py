"""Every test here runs once per backend: SQLite, PostgreSQL and MariaDB."""

from tests.fixtures.database import backend, db_url, empty_db_url, sqlite_db  # noqa: F401
