"""compute.API's quota checks of tests/unit/compute/test_api.py on every backend (on PostgreSQL a launch's
write makes them, in the statement that writes the instances)."""

import pytest

from tests.fixtures.sql import counting_statements
from tests.unit.compute.fakes import make_image, serve_recording_scheduler, user_context
from tests.unit.compute.test_api import (  # noqa: F401 - the tests and their fixture
    api,
    test_create_writes_building_rows_and_asks_the_scheduler,
    test_quotas_limit_the_count_and_min_count_fails_cleanly,
)


@pytest.fixture
def scheduler(db_url, memory_rpc):
    return serve_recording_scheduler(memory_rpc)


def test_a_launch_reads_only_its_image_before_its_write(db_url, scheduler, api):
    ctxt = user_context()
    image = make_image(ctxt)
    api.create(ctxt, "m1.tiny", image["id"])  # the flavor and the default group are remembered from here
    with counting_statements() as statements:
        _, [instance] = api.create(ctxt, "m1.tiny", image["id"])
    assert instance["hostname"] == "i-%08x" % instance["id"]
    if db_url.startswith("postgresql"):  # the image, then one write that checks the quotas itself
        assert len(statements) == 2, statements
        assert "INSERT INTO instances" in statements[1] and "quotas" in statements[1]
    else:  # the image, the quota read, the instance, its hostname, its group link
        assert len(statements) == 5, statements
