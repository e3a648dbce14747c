"""A real ComputeManager behind the dispatcher refuses messages whose arguments do not fit.

The message is hand-built on purpose: the typed client (nova.compute.rpcapi)
cannot send such a message, an older or foreign sender can.
"""

import logging

import pytest

from nova import context, rpc
from nova.compute import manager as compute_manager
from nova.rpc import dispatcher
from nova.virt import fake

CTXT = context.RequestContext("alice", "proj-a")


@pytest.fixture
def compute_topic(sqlite_db, memory_rpc):
    manager = compute_manager.ComputeManager(host="host-a", compute_driver=fake.FakeDriver())
    topic = memory_rpc.topic("compute")
    server = rpc.Server(topic, "host-a", dispatcher.Dispatcher(manager))
    server.start(timeout=30)
    memory_rpc.servers.append(server)
    return f"{topic}.host-a"


@pytest.mark.parametrize("args,named", [
    ({"instance_id": 1, "flavor": "m1.tiny"}, "flavor"),
    ({}, "instance_id"),
])
def test_unknown_or_missing_argument_is_refused_by_name_without_a_traceback(compute_topic, caplog, args, named):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(rpc.InvalidArguments) as info:
        rpc.call(CTXT, compute_topic, {"method": "run_instance", "args": args}, timeout=10)
    message = str(info.value)
    assert "run_instance" in message and repr(named) in message
    assert "ComputeManager" in message
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert "Traceback" not in caplog.text and "TypeError" not in caplog.text
    assert any("refused" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_dispatcher_alone_refuses_before_calling_the_manager(sqlite_db):
    manager = compute_manager.ComputeManager(host="host-a", compute_driver=fake.FakeDriver())
    calls = []
    manager.driver.get_console_output = lambda instance: calls.append(instance)
    with pytest.raises(rpc.InvalidArguments, match="get_console_output.*'instance_id'"):
        dispatcher.Dispatcher(manager).dispatch(CTXT, "get_console_output", {"instance": 3})
    assert calls == []
