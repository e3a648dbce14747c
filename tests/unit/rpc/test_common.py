from __future__ import annotations

import pytest

from nova import context, exception, rpc
from nova.rpc import common


def test_envelope_carries_the_context_and_leaves_the_message_alone():
    ctxt = context.RequestContext("u", "p")
    msg = {"method": "run", "args": {"a": 1}}
    body = common.envelope(ctxt, msg)
    assert body == {"method": "run", "args": {"a": 1}, "_context": ctxt.to_dict()}
    assert msg == {"method": "run", "args": {"a": 1}}


@pytest.mark.parametrize("msg", [{}, {"method": ""}, {"method": "x", "args": [1]}])
def test_envelope_refuses_malformed_messages(msg):
    with pytest.raises(ValueError):
        common.envelope(context.get_admin_context(), msg)


def test_a_failure_round_trips_into_remote_error():
    payload = common.failure_payload(exception.InstanceNotFound(instance_id=5))
    assert payload == {
        "class": "InstanceNotFound",
        "module": "nova.exception",
        "message": "Instance 5 could not be found.",
        "code": 404,
    }
    with pytest.raises(rpc.RemoteError) as info:
        common.result_from_reply({"failure": payload})
    assert (info.value.exc_type, info.value.value, info.value.code) == (
        "InstanceNotFound", "Instance 5 could not be found.", 404,
    )
    assert isinstance(info.value, exception.NovaException)


def test_rpc_exceptions_are_nova_exceptions():
    for cls in (rpc.Timeout, rpc.RemoteError, rpc.BrokerUnavailable, rpc.UnknownMethod, rpc.PublishError):
        assert issubclass(cls, exception.NovaException)
