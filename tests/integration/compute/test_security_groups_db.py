"""tests/unit/compute/test_security_groups_db.py on every backend."""

from tests.unit.compute.test_security_groups_db import *  # noqa: F401,F403
