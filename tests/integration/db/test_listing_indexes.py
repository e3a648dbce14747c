"""tests/unit/db/test_listing_indexes.py on every backend."""

from tests.unit.db.test_listing_indexes import *  # noqa: F401,F403
