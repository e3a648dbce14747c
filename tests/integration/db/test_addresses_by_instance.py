"""tests/unit/db/test_addresses_by_instance.py on every backend."""

from tests.unit.db.test_addresses_by_instance import *  # noqa: F401,F403
