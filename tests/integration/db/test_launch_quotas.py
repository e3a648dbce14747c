"""compute.API's quota checks of tests/unit/compute/test_api.py on every backend (on PostgreSQL a launch's
write makes them, in the statement that writes the instances)."""

import pytest

from nova import flags
from tests.unit.compute.fakes import RecordingScheduler
from tests.unit.compute.test_api import (  # noqa: F401 - the tests and their fixture
    api,
    test_create_writes_building_rows_and_asks_the_scheduler,
    test_quotas_limit_the_count_and_min_count_fails_cleanly,
)

FLAGS = flags.FLAGS


@pytest.fixture
def scheduler(db_url, memory_rpc):
    manager = RecordingScheduler("test-host")
    memory_rpc.server(FLAGS.scheduler_topic, manager)
    return manager
