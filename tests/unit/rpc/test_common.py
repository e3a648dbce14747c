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


def test_a_nova_failure_round_trips_into_the_same_exception():
    payload = common.failure_payload(exception.InstanceNotFound(instance_id=5))
    assert payload == {
        "class": "InstanceNotFound",
        "module": "nova.exception",
        "message": "Instance 5 could not be found.",
        "code": 404,
        "kwargs": {"instance_id": 5},
    }
    with pytest.raises(exception.InstanceNotFound) as info:
        common.result_from_reply({"failure": payload})
    assert (str(info.value), info.value.kwargs, info.value.remote) == (
        "Instance 5 could not be found.", {"instance_id": 5}, True)


def test_a_foreign_or_unknown_failure_becomes_remote_error():
    with pytest.raises(rpc.RemoteError) as info:
        common.result_from_reply({"failure": common.failure_payload(ValueError("boom"))})
    assert (info.value.exc_type, info.value.value, info.value.code) == ("ValueError", "boom", 500)
    # A class name that is not an imported nova exception is never looked up or imported.
    forged = {"class": "InstanceNotFound", "module": "os", "message": "m", "code": 404}
    with pytest.raises(rpc.RemoteError):
        common.result_from_reply({"failure": forged})
    odd_kwargs = {"class": "InstanceNotFound", "module": "nova.exception", "message": "m", "code": 404,
                  "kwargs": ["not", "a", "dict"]}
    with pytest.raises(exception.InstanceNotFound):
        common.result_from_reply({"failure": odd_kwargs})


def test_rpc_exceptions_are_nova_exceptions():
    for cls in (rpc.Timeout, rpc.RemoteError, rpc.BrokerUnavailable, rpc.UnknownMethod, rpc.PublishError):
        assert issubclass(cls, exception.NovaException)
