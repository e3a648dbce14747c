"""tests/unit/db/test_quotas.py on every backend."""

from tests.unit.db.test_quotas import *  # noqa: F401,F403
