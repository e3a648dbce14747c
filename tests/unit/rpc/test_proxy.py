"""The typed RPC clients: one per manager method, and every message they build fits the manager."""

import inspect

import pytest

from nova import context, flags, manager
from nova.compute import manager as compute_manager
from nova.compute import rpcapi as compute_rpcapi
from nova.network import manager as network_manager
from nova.network import rpcapi as network_rpcapi
from nova.rpc import client
from nova.rpc.dispatcher import exposed_methods
from nova.scheduler import manager as scheduler_manager
from nova.scheduler import rpcapi as scheduler_rpcapi
from nova.volume import manager as volume_manager
from nova.volume import rpcapi as volume_rpcapi

FLAGS = flags.FLAGS
CTXT = context.RequestContext("alice", "proj-a")
# Per client, the parameters that choose where the message goes (or how long to wait), not what it says.
PAIRS = [
    (compute_rpcapi.ComputeAPI, compute_manager.ComputeManager, {"host"}),
    (network_rpcapi.NetworkAPI, network_manager.VlanManager, {"network_host"}),
    (network_rpcapi.NetworkAPI, network_manager.FlatDHCPManager, {"network_host"}),
    (scheduler_rpcapi.SchedulerAPI, scheduler_manager.SchedulerManager, {"timeout"}),
    (volume_rpcapi.VolumeAPI, volume_manager.VolumeManager, {"host"}),
]


@pytest.fixture
def sent(monkeypatch):
    messages = []

    def record(kind):
        def send(ctxt, topic, msg, timeout=None):
            messages.append({"kind": kind, "topic": topic, "msg": msg, "timeout": timeout})
            return None
        return send

    for kind in ("call", "cast", "fanout_cast"):
        monkeypatch.setattr(client, kind, record(kind))
    return messages


def _message_params(func, routing):
    return [p for p in list(inspect.signature(func).parameters)[2:] if p not in routing]


@pytest.mark.parametrize("client_cls,manager_cls,routing", PAIRS, ids=lambda v: getattr(v, "__name__", ""))
def test_every_rpc_method_has_one_client_method_with_the_same_arguments(client_cls, manager_cls, routing):
    remote = exposed_methods(manager_cls, manager.Manager)
    for name in remote:
        assert hasattr(client_cls, name), f"{client_cls.__name__} lacks {name}"
        client_params = set(_message_params(getattr(client_cls, name), routing))
        manager_params = set(_message_params(getattr(manager_cls, name), set()))
        assert client_params == manager_params, name


@pytest.mark.parametrize("client_cls,manager_cls,routing", PAIRS, ids=lambda v: getattr(v, "__name__", ""))
def test_every_message_binds_to_the_manager_method(sent, client_cls, manager_cls, routing):
    remote = exposed_methods(manager_cls, manager.Manager)
    for name in remote:
        func = getattr(client_cls(), name)
        args = {p.name: (f"h-{p.name}" if p.name in routing else 7)
                for p in list(inspect.signature(func).parameters.values())
                if p.default is inspect.Parameter.empty and p.name != "ctxt"}
        func(CTXT, **args)
        message = sent.pop()["msg"]
        assert message["method"] == name
        inspect.signature(getattr(manager_cls, name)).bind(None, CTXT, **message["args"])


def test_compute_actions_cast_to_the_instance_host_and_the_console_is_a_call(sent):
    api = compute_rpcapi.ComputeAPI()
    api.reboot_instance(CTXT, "host-a", 5)
    api.snapshot_instance(CTXT, "host-b", 5, image_id=9)
    api.get_console_output(CTXT, "host-a", 5)
    assert [(m["kind"], m["topic"], m["msg"]) for m in sent] == [
        ("cast", "compute.host-a", {"method": "reboot_instance", "args": {"instance_id": 5}}),
        ("cast", "compute.host-b", {"method": "snapshot_instance", "args": {"instance_id": 5, "image_id": 9}}),
        ("call", "compute.host-a", {"method": "get_console_output", "args": {"instance_id": 5}}),
    ]


def test_a_given_topic_replaces_the_flag(sent):
    compute_rpcapi.ComputeAPI(topic="compute-test").run_instance(CTXT, "host-a", 3)
    FLAGS.compute_topic = "renamed"
    compute_rpcapi.ComputeAPI().run_instance(CTXT, "host-a", 3)
    assert [m["topic"] for m in sent] == ["compute-test.host-a", "renamed.host-a"]


def test_network_calls_wait_network_rpc_timeout_and_dhcp_notes_are_casts(sent):
    FLAGS.network_rpc_timeout = 17
    api = network_rpcapi.NetworkAPI()
    api.allocate_for_instance(CTXT, 4, "compute-1")
    api.associate_floating_ip(CTXT, "net-2", "4.4.4.4", "10.0.0.3")
    api.lease_fixed_ip(CTXT, "net-1", "10.0.0.3", "02:16:3e:00:00:01")
    assert [(m["kind"], m["topic"], m["timeout"]) for m in sent] == [
        ("call", "network", 17), ("call", "network.net-2", 17), ("cast", "network.net-1", None)]
    assert sent[0]["msg"] == {"method": "allocate_for_instance", "args": {"instance_id": 4, "host": "compute-1"}}


def test_scheduler_client(sent):
    api = scheduler_rpcapi.SchedulerAPI()
    api.run_instance(CTXT, "compute", 8, availability_zone="nova", vcpus=2, memory_mb=2048)
    api.update_service_capabilities(CTXT, "compute", "host-a", {"vcpus": 2})
    api.get_service_capabilities(CTXT, timeout=3)
    assert [(m["kind"], m["topic"], m["msg"]["method"]) for m in sent] == [
        ("cast", "scheduler", "run_instance"), ("fanout_cast", "scheduler", "update_service_capabilities"),
        ("call", "scheduler", "get_service_capabilities")]
    assert sent[0]["msg"]["args"] == {"topic": "compute", "instance_id": 8, "availability_zone": "nova",
                                      "forced_host": None, "vcpus": 2, "memory_mb": 2048}
    assert sent[2]["timeout"] == 3


def test_no_manager_method_takes_var_keyword_arguments():
    for _client, manager_cls, _routing in PAIRS:
        for name in exposed_methods(manager_cls, manager.Manager):
            kinds = {p.kind for p in inspect.signature(getattr(manager_cls, name)).parameters.values()}
            assert inspect.Parameter.VAR_KEYWORD not in kinds, f"{manager_cls.__name__}.{name}"
