"""tests/unit/db/test_instance_listing.py on every backend."""

from tests.unit.db.test_instance_listing import *  # noqa: F401,F403
