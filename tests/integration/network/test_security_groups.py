"""Security groups enforced by IptablesFirewallDriver, for real: a host
namespace with a bridge (as a compute host has) and three instance
namespaces on it; same-bridge traffic goes through FORWARD
(bridge-nf-call-iptables is on), where the driver's chains sit."""

from __future__ import annotations

import pytest

from nova import context, flags
from nova.db import api as db
from nova.network import linux_net, manager
from nova.virt import iptables_firewall
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
