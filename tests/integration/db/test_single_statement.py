"""tests/unit/db/test_single_statement.py on every backend."""

from tests.unit.db.test_single_statement import *  # noqa: F401,F403
