"""tests/unit/db/test_migration.py on every backend."""

from tests.unit.db.test_migration import *  # noqa: F401,F403
