"""tests/unit/db/test_instance_launch.py on every backend."""

from tests.unit.db.test_instance_launch import *  # noqa: F401,F403
