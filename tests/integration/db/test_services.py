"""tests/unit/db/test_services.py on every backend."""

from tests.unit.db.test_services import *  # noqa: F401,F403
