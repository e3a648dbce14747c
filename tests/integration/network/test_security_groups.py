"""Security groups enforced by IptablesFirewallDriver, for real: a host
namespace with a bridge (as a compute host has) and three instance
namespaces on it; same-bridge traffic goes through FORWARD
(bridge-nf-call-iptables is on), where the driver's chains sit.  The last
test drives it through ComputeManager on the memory transport: members
launched or terminated after a source-group rule was written are let in or
shut out with no further API call."""

from __future__ import annotations

import pytest

from nova import context, flags, rpc
from nova.compute import manager as compute_manager
from nova.compute import states
from nova.db import api as db
from nova.network import linux_net, manager
from nova.virt import fake, iptables_firewall
from tests.fixtures.rpc import RpcEnv, wait_for
from tests.integration.network.netns import Topology, iptables_lines, require_root_tools

FLAGS = flags.FLAGS


@pytest.fixture
def compute_host(sqlite_db, tmp_path):
    require_root_tools("iptables-save")
    topo = Topology()
    host = topo.ns("c")
    topo.exec(host, "ip", "link", "add", "br100", "type", "bridge")
    topo.exec(host, "ip", "link", "set", "br100", "up")
    topo.address(host, "br100", "10.88.0.1/24")
    for name, value in {"netns": host, "root_helper": "", "fake_network": False, "lock_path": str(tmp_path),
                        "flat_network_bridge": "br100"}.items():
        setattr(FLAGS, name, value)
    linux_net.reset()
    yield topo, host
    linux_net.reset()
    topo.cleanup()


def _group(name: str, rules: list[dict]) -> dict:
    admin = context.get_admin_context()
    group = db.security_group_create(admin, {"name": name, "project_id": "p1", "user_id": "u1",
                                             "description": name})
    for rule in rules:
        db.security_group_rule_create(admin, {"parent_group_id": group["id"], **rule})
    return group


def test_cidr_and_source_group_rules_open_only_what_they_say(compute_host):
    topo, host = compute_host
    admin = context.get_admin_context()
    net_mgr = manager.FlatManager(host="net-host")
    net_mgr.create_networks(admin, "10.88.0.0/24", 1, 256)
    clients = _group("clients", [])
    web = _group("web", [
        {"protocol": "TCP", "from_port": 8080, "to_port": 8081, "cidr": "10.88.0.0/24"},
        {"protocol": "tcp", "from_port": 9090, "to_port": 9090, "group_id": clients["id"]},
        {"protocol": "icmp", "from_port": -1, "to_port": -1, "cidr": "0.0.0.0/0"},
    ])
    namespaces, nics, instances = {}, {}, {}
    for index, (role, group) in enumerate((("target", web), ("member", clients), ("other", None))):
        instance = db.instance_create(admin, {"project_id": "p1", "user_id": "u1", "host": "compute-1"})
        if group is not None:
            db.instance_add_security_group(admin, instance["id"], group["id"])
        [nic] = net_mgr.allocate_for_instance(admin, instance["id"], "compute-1")
        vm = topo.plug_instance(host, "br100", nic["mac_address"], index)
        topo.address(vm, "eth0", f"{nic['address']}/24")
        namespaces[role], nics[role], instances[role] = vm, nic, instance
    target = nics["target"]["address"]
    for port in (8080, 8081, 7070, 9090):
        topo.peer_server(namespaces["target"], "0.0.0.0", port)

    def reach(role: str, port: int) -> bool:
        return topo.connect(namespaces[role], target, port, timeout=1) == nics[role]["address"]

    assert reach("other", 7070), "no filter yet: everything passes"
    driver = iptables_firewall.IptablesFirewallDriver()
    driver.prepare_instance_filter(instances["target"], [nics["target"]])
    driver.apply_instance_filter(instances["target"], [nics["target"]])
    assert driver.instance_filter_exists(instances["target"])

    assert reach("other", 8080) and reach("other", 8081), "the CIDR rule (protocol given as 'TCP') opens 8080-8081"
    assert not reach("other", 7070), "no rule, no entry"
    assert reach("member", 9090), "the source-group rule lets members in"
    assert not reach("other", 9090), "and keeps others out"
    topo.exec(namespaces["other"], "busybox", "ping", "-c", "1", "-W", "2", target)

    # revoking the CIDR rule closes 8080 once compute refreshes the group's rules
    [cidr_rule] = [r for r in db.security_group_rule_get_by_security_group(admin, web["id"])
                   if r["from_port"] == 8080]
    db.security_group_rule_destroy(admin, cidr_rule["id"])
    driver.refresh_security_group_rules(web["id"])
    assert not reach("other", 8080)
    assert reach("member", 9090)

    # "other" joins the source group: the members refresh lets it in
    db.instance_add_security_group(admin, instances["other"]["id"], clients["id"])
    driver.refresh_security_group_members(clients["id"])
    assert reach("other", 9090)

    # no rule appears twice, and unfiltering removes the instance's chain
    lines = iptables_lines(topo, host)
    assert len(lines) == len(set(lines))
    driver.unfilter_instance(instances["target"])
    assert not any(f"inst-{instances['target']['id']}" in line for line in iptables_lines(topo, host))
    assert reach("other", 7070)


@pytest.fixture
def rpc_env(compute_host):
    FLAGS.fake_rabbit = True
    rpc.cleanup()
    env = RpcEnv()
    FLAGS.network_topic, FLAGS.compute_topic = env.topic("network"), env.topic("compute")
    FLAGS.network_manager = "nova.network.manager.FlatManager"  # br100 exists: nothing to make
    FLAGS.firewall_driver = "nova.virt.iptables_firewall.IptablesFirewallDriver"
    yield env
    env.close()


def _serve(env: RpcEnv, topic: str, host: str, mgr) -> None:
    server = rpc.Server(topic, host, rpc.Dispatcher(mgr))
    server.start(timeout=30)
    env.servers.append(server)


def test_source_group_rules_follow_members_launched_and_terminated_by_compute(compute_host, rpc_env):
    """No API call after the rule is written: nova-compute's own run/terminate refresh the members."""
    topo, host = compute_host
    admin = context.get_admin_context()
    user = context.RequestContext("u1", "p1")
    net_mgr = manager.FlatManager(host="test-host")
    net_mgr.create_networks(admin, "10.88.0.0/24", 1, 256)
    _serve(rpc_env, FLAGS.network_topic, "test-host", net_mgr)
    compute = compute_manager.ComputeManager(host="host-a", compute_driver=fake.FakeDriver())
    _serve(rpc_env, FLAGS.compute_topic, "host-a", compute)
    clients = _group("clients", [])
    web = _group("web", [{"protocol": "tcp", "from_port": 9090, "to_port": 9090, "group_id": clients["id"]}])

    def launch(group, index: int) -> tuple[str, str]:
        instance = db.instance_create(admin, {"project_id": "p1", "user_id": "u1", "host": "host-a",
                                              "vm_state": states.BUILDING, "task_state": states.SCHEDULING})
        if group is not None:
            db.instance_add_security_group(admin, instance["id"], group["id"])
        compute.run_instance(user, instance["id"])
        assert db.instance_get(admin, instance["id"])["vm_state"] == states.ACTIVE
        [fixed] = db.fixed_ip_get_all_by_instance(admin, instance["id"])
        vm = topo.plug_instance(host, "br100", fixed["mac_address"], index)
        topo.address(vm, "eth0", f"{fixed['address']}/24")
        return instance["id"], vm

    target_id, target_ns = launch(web, 0)
    [target_ip] = [f["address"] for f in db.fixed_ip_get_all_by_instance(admin, target_id)]
    topo.peer_server(target_ns, "0.0.0.0", 9090)
    member_id, member_ns = launch(clients, 1)
    _other_id, other_ns = launch(None, 2)

    def reach(ns: str) -> bool:
        return not topo.connect(ns, target_ip, 9090, timeout=1).startswith("ERROR")

    wait_for(lambda: reach(member_ns), timeout=15)
    assert not reach(other_ns), "a non-member stays out"

    compute.terminate_instance(user, member_id)
    wait_for(lambda: not reach(member_ns), timeout=15)
    lines = iptables_lines(topo, host)
    assert len(lines) == len(set(lines))
