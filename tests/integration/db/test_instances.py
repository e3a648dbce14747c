"""tests/unit/db/test_instances.py on every backend."""

from tests.unit.db.test_instances import *  # noqa: F401,F403
