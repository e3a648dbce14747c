"""nova-compute and nova-network together on the memory transport with
--fake_network: the compute host's own network set-up (setup_compute_network,
in process) and source-group rules that follow group membership."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from nova import context, exception, flags, rpc
from nova.compute import manager as compute_manager
from nova.compute import states
from nova.db import api as db
from nova.network import linux_net
from nova.network import manager as network_manager
from nova.virt import fake, iptables_firewall
from tests.fixtures.rpc import RpcEnv, wait_for
from tests.unit.compute.fakes import make_image, user_context

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()


class Cloud:
    """One nova-network host (test-host) and compute hosts host-a/host-b, all serving RPC in process."""

    def __init__(self, env: RpcEnv, manager_class: str) -> None:
        self.env = env
        FLAGS.network_manager = f"nova.network.manager.{manager_class}"
        FLAGS.network_topic = env.topic("network")
        FLAGS.compute_topic = env.topic("compute")
        self.network = network_manager.__dict__[manager_class](host="test-host")
        self._serve(FLAGS.network_topic, "test-host", self.network)
        self.computes: dict[str, compute_manager.ComputeManager] = {}

    def _serve(self, topic: str, host: str, manager: Any) -> None:
        server = rpc.Server(topic, host, rpc.Dispatcher(manager))
        server.start(timeout=30)
        self.env.servers.append(server)

    def compute(self, host: str) -> compute_manager.ComputeManager:
        mgr = compute_manager.ComputeManager(host=host, compute_driver=fake.FakeDriver())
        self._serve(FLAGS.compute_topic, host, mgr)
        self.computes[host] = mgr
        return mgr


@pytest.fixture
def env(sqlite_db) -> Iterator[RpcEnv]:
    FLAGS.fake_rabbit = True
    FLAGS.flat_interface = "eth1"
    FLAGS.vlan_interface = "eth2"
    rpc.cleanup()
    linux_net.reset()
    environment = RpcEnv()
    yield environment
    environment.close()
    linux_net.reset()


def launch(ctxt: context.RequestContext, compute: compute_manager.ComputeManager, group: Any = None) -> Any:
    """An instance the scheduler sent to ``compute``'s host, built there."""
    image = make_image(ctxt)
    instance = db.instance_create(ctxt, {"image_id": str(image["id"]), "vm_state": states.BUILDING,
                                         "task_state": states.SCHEDULING, "memory_mb": 512, "vcpus": 1,
                                         "local_gb": 0, "host": compute.host})
    if group is not None:
        db.instance_add_security_group(ADMIN, instance["id"], group["id"])
    compute.run_instance(ctxt, instance["id"])
    return db.instance_get(ADMIN, instance["id"])


def commands_at_spawn(compute: compute_manager.ComputeManager) -> list[list[str]]:
    """What the compute host ran between the end of the allocation call and the spawn."""
    seen: list[list[str]] = []
    allocate, spawn = compute.network_api.allocate_for_instance, compute.driver.spawn

    def allocate_then_forget(*args: Any) -> Any:
        nics = allocate(*args)
        linux_net.FAKE_COMMANDS.clear()  # the network host's own commands, run in this process
        return nics

    def spawn_recording(*args: Any) -> None:
        seen.append(list(linux_net.FAKE_COMMANDS))
        spawn(*args)

    compute.network_api.allocate_for_instance = allocate_then_forget
    compute.driver.spawn = spawn_recording
    return seen


# -- setup_compute_network ----------------------------------------------------------


def test_flat_dhcp_compute_host_makes_the_bridge_and_nothing_else(env):
    cloud = Cloud(env, "FlatDHCPManager")
    cloud.network.create_networks(ADMIN, "10.0.0.0/28", 1, 16)
    FLAGS.flat_interface = "eth9"  # the compute host's own interface, not the network host's
    compute = cloud.compute("host-a")
    seen = commands_at_spawn(compute)
    instance = launch(user_context(), compute)
    assert instance["vm_state"] == states.ACTIVE
    [commands] = seen
    assert "ip link add br100 type bridge" in commands
    assert "ip link set eth9 master br100" in commands
    assert not [c for c in commands if "dnsmasq" in c or c.startswith("iptables") or "addr add" in c], commands


def test_vlan_compute_host_joins_the_projects_vlan_bridge(env):
    cloud = Cloud(env, "VlanManager")
    cloud.network.create_networks(ADMIN, "10.2.0.0/27", 2, 16)
    compute = cloud.compute("host-a")
    seen = commands_at_spawn(compute)
    launch(user_context("proj-a"), compute)
    instance = launch(user_context("proj-b"), compute)
    assert instance["vm_state"] == states.ACTIVE
    first, second = seen
    assert first[:4] == ["ip link show dev vlan100", "ip link add link eth2 name vlan100 type vlan id 100",
                         "ip link set vlan100 up", "ip link show dev br100"]
    assert "ip link add br101 type bridge" in second and "ip link set vlan101 master br101" in second
    for commands in seen:
        assert not [c for c in commands if "dnsmasq" in c or c.startswith("iptables") or "addr add" in c]


def test_flat_compute_host_uses_the_existing_bridge(env):
    cloud = Cloud(env, "FlatManager")
    cloud.network.create_networks(ADMIN, "10.0.0.0/28", 1, 16)
    compute = cloud.compute("host-a")
    seen = commands_at_spawn(compute)
    instance = launch(user_context(), compute)
    assert instance["vm_state"] == states.ACTIVE
    assert seen == [[]]


def test_failed_compute_network_setup_leaves_error_with_the_reason(env, monkeypatch):
    cloud = Cloud(env, "FlatDHCPManager")
    cloud.network.create_networks(ADMIN, "10.0.0.0/28", 1, 16)
    compute = cloud.compute("host-a")
    real_execute, real_allocate = linux_net.execute, compute.network_api.allocate_for_instance

    def no_bridges(*cmd: Any, **kwargs: Any) -> tuple[str, str]:
        if cmd[:3] == ("ip", "link", "add"):
            raise exception.ProcessExecutionError(cmd=" ".join(cmd), exit_code=2,
                                                  stderr="RTNETLINK answers: Operation not permitted")
        return real_execute(*cmd, **kwargs)

    def allocate_then_break_bridges(*args: Any) -> Any:
        nics = real_allocate(*args)  # the network host made its bridge; this host cannot
        monkeypatch.setattr(linux_net, "execute", no_bridges)
        return nics

    compute.network_api.allocate_for_instance = allocate_then_break_bridges
    instance = launch(user_context(), compute)
    assert instance["vm_state"] == states.ERROR and instance["task_state"] is None
    assert instance["fault"].startswith("network setup failed on host-a: Command ip link add br100")
    assert "Operation not permitted" in instance["fault"]
    assert compute.driver.list_instances() == []


# -- source-group rules follow membership ----------------------------------------------


def _filter_rules() -> list[str]:
    return linux_net.iptables_manager().modify_table("filter", "").splitlines()


def _accepts(instance_id: int) -> list[str]:
    chain = linux_net.iptables_manager().wrapped(f"inst-{instance_id}")
    return [line for line in _filter_rules() if line.startswith(f"-A {chain} -s") and line.endswith("-j ACCEPT")]


def test_source_group_rules_follow_members_launched_and_terminated_later(env):
    FLAGS.firewall_driver = "nova.virt.iptables_firewall.IptablesFirewallDriver"
    cloud = Cloud(env, "FlatManager")
    cloud.network.create_networks(ADMIN, "10.0.0.0/27", 1, 32)
    host_a, host_b = cloud.compute("host-a"), cloud.compute("host-b")
    assert isinstance(host_a.firewall, iptables_firewall.IptablesFirewallDriver)
    ctxt = user_context()
    group = {"project_id": ctxt.project_id, "user_id": ctxt.user_id}
    clients = db.security_group_create(ADMIN, dict(group, name="clients", description="c"))
    web = db.security_group_create(ADMIN, dict(group, name="web", description="w"))
    db.security_group_rule_create(ADMIN, {"parent_group_id": web["id"], "group_id": clients["id"],
                                          "protocol": "tcp", "from_port": 22, "to_port": 22})

    target = launch(ctxt, host_a, web)
    assert target["vm_state"] == states.ACTIVE
    assert _accepts(target["id"]) == [], "no member yet"

    member = launch(ctxt, host_b, clients)
    outsider = launch(ctxt, host_b)
    [member_ip] = [f["address"] for f in db.fixed_ip_get_all_by_instance(ADMIN, member["id"])]
    [outsider_ip] = [f["address"] for f in db.fixed_ip_get_all_by_instance(ADMIN, outsider["id"])]
    expected = f"-s {member_ip}/32 -p tcp -m tcp --dport 22 -j ACCEPT"
    wait_for(lambda: [line for line in _accepts(target["id"]) if line.endswith(expected)])
    assert not [line for line in _accepts(target["id"]) if outsider_ip in line], "a non-member stays out"

    host_b.terminate_instance(ctxt, member["id"])
    wait_for(lambda: not [line for line in _accepts(target["id"]) if member_ip in line])
    assert host_a.firewall.instance_filter_exists(target)
