"""tests/unit/db/test_instance_types.py on every backend."""

from tests.unit.db.test_instance_types import *  # noqa: F401,F403
