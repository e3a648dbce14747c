"""An empty floating-IP pool is a known limit, not a bug: one WARNING line per
request with its request id, no traceback, in the API and in nova-network."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import ClientError

from nova import log as nova_log
from tests.unit.api.conftest import error_of
from tests.unit.api.ec2.test_addresses import network  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("network")


def test_empty_pool_is_one_warning_line_with_the_request_id(ec2_env, caplog):
    alice = ec2_env.client()
    for _ in range(3):
        alice.allocate_address()
    caplog.handler.addFilter(nova_log.RequestIdFilter())
    caplog.clear()
    with caplog.at_level(logging.INFO), pytest.raises(ClientError) as excinfo:
        alice.allocate_address()
    assert error_of(excinfo) == ("InsufficientAddressCapacity", 503)
    request_id = excinfo.value.response["ResponseMetadata"]["RequestId"]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.request_id == request_id]
    assert {r.name for r in warnings} >= {"nova.api.ec2.faults", "nova.rpc.server"}
    assert any("NoMoreFloatingIps" in r.getMessage() for r in warnings)
