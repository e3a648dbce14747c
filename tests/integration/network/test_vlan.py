"""VlanManager in namespaces: a network per project, each with its own
bridge and dnsmasq, handing out addresses from .3.

This kernel has no 802.1Q support, so ``ip link add ... type vlan`` fails
(the test checks and says so); the VLAN interfaces the manager would make
are stood in for by veths of the same name, which the manager then finds
and enslaves.  The exact VLAN command lines are checked in
tests/unit/network/test_manager.py; bridges, dnsmasq and DHCP run for real.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from nova import context, flags
from nova.db import api as db
from nova.network import linux_net, manager
from tests.fixtures.rpc import wait_for
from tests.integration.network.netns import Topology, require_root_tools
from tests.integration.network.test_flat_dhcp import _instance

FLAGS = flags.FLAGS


@pytest.fixture
def vlan_host(sqlite_db, tmp_path):
    require_root_tools("dnsmasq", "busybox")
    topo = Topology()
    net = topo.ns("n")
    topo.veth(net, "trunk0", net, "trunk0p")
    probe = topo.exec(net, "ip", "link", "add", "link", "trunk0", "name", "vlanprobe", "type", "vlan", "id", "100",
                      check=False)
    networks_path = tempfile.mkdtemp(prefix="nova-networks-")
    os.chmod(networks_path, 0o755)  # dnsmasq re-reads its hosts file as "nobody"
    flagfile = tmp_path / "nova.conf"
    flagfile.write_text(f"--sql_connection={sqlite_db}\n--fake_rabbit\n--host=net-host\n"
                        "--network_manager=nova.network.manager.VlanManager\n")
    for name, value in {"netns": net, "root_helper": "", "fake_network": False, "networks_path": networks_path,
                        "lock_path": str(tmp_path), "dhcpbridge_flagfile": str(flagfile),
                        "vlan_interface": "trunk0", "fixed_range": "10.99.0.0/24", "metadata_port": 18775,
                        "ec2_dmz_host": "10.99.255.1", "routing_source_ip": "10.99.255.1"}.items():
        setattr(FLAGS, name, value)
    linux_net.reset()
    yield topo, net
    linux_net.reset()
    topo.cleanup()
    shutil.rmtree(networks_path, ignore_errors=True)


def test_one_network_bridge_and_dnsmasq_per_project(vlan_host, tmp_path):
    topo, net = vlan_host
    kernel_has_vlan = "vlanprobe" in topo.exec(net, "ip", "-o", "link", "show")
    if not kernel_has_vlan:
        print("no 802.1Q in this kernel: VLAN interfaces stood in for by veths")
        for vlan in (100, 101):
            topo.veth(net, f"vlan{vlan}", net, f"vlan{vlan}p")
    admin = context.get_admin_context()
    mgr = manager.VlanManager(host="net-host")
    mgr.create_networks(admin, "10.99.0.0/24", 2, 128, vlan_start=100)
    mgr.init_host()

    leases = {}
    for index, project in enumerate(("proj-a", "proj-b")):
        instance = _instance(project, hostname=f"{project}-vm")
        [nic] = mgr.allocate_for_instance(admin, instance["id"], "compute-1")
        vm = topo.plug_instance(net, nic["bridge"], nic["mac_address"], index)
        leases[project] = (nic, topo.dhcp(vm, str(tmp_path)))
        wait_for(lambda: db.fixed_ip_get_by_address(admin, nic["address"])["leased"], timeout=20)

    (nic_a, lease_a), (nic_b, lease_b) = leases["proj-a"], leases["proj-b"]
    assert (nic_a["vlan"], nic_a["bridge"], lease_a) == (100, "br100", ["10.99.0.3", "proj-a-vm", "novalocal",
                                                                        "10.99.0.1"])
    assert (nic_b["vlan"], nic_b["bridge"], lease_b) == (101, "br101", ["10.99.0.131", "proj-b-vm", "novalocal",
                                                                        "10.99.0.129"])
    assert "vlan100" in topo.exec(net, "ip", "-o", "link", "show", "master", "br100")
    assert "vlan101" in topo.exec(net, "ip", "-o", "link", "show", "master", "br101")
    pids = {linux_net.dnsmasq_pid("br100"), linux_net.dnsmasq_pid("br101")}
    assert None not in pids and len(pids) == 2, "one dnsmasq per network"
    assert db.project_get_network(admin, "proj-a", associate=False)["vlan"] == 100
