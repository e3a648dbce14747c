"""Readiness checks of tests/unit/db/test_check_ready.py on every backend."""

from tests.unit.db.test_check_ready import test_an_old_schema_is_not_ready, test_ready_once_synced  # noqa: F401
