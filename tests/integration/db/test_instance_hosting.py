"""tests/unit/db/test_instance_hosting.py on every backend."""

from tests.unit.db.test_instance_hosting import *  # noqa: F401,F403
