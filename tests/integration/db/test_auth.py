"""tests/unit/db/test_auth.py on every backend."""

from tests.unit.db.test_auth import *  # noqa: F401,F403
