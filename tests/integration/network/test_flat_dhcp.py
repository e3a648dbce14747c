"""FlatDHCPManager for real, in namespaces: a network host runs linux_net
(bridge, dnsmasq, NAT), an instance namespace gets its address by DHCP and
reaches nova-api's metadata service through the DNAT, an outside namespace
reaches it through a floating IP, and a restart restores everything without
duplicating a rule.

The metadata service is nova-api's own: the servers ``nova.cmd.api`` builds
(the paste pipelines on eventlet.wsgi), served by this process from sockets
made inside the network host namespace on ``--ec2_dmz_host``, where the
DNAT sends ``169.254.169.254:80``.
"""

from __future__ import annotations

import collections
import os
import shutil
import sys
import tempfile

import pytest

from nova import context, flags
from nova.cmd import api as api_cmd
from nova.db import api as db
from nova.network import linux_net, manager
from tests.fixtures.rpc import wait_for
from tests.integration.network.netns import Topology, inside, iptables_lines, require_root_tools

FLAGS = flags.FLAGS

API_IP = "203.0.113.1"
OUTSIDE_IP = "203.0.113.2"
FLOATING_IP = "203.0.113.100"
METADATA_PORT = 18775
EC2_PORT = 18773

HTTP_CLIENT = r"""
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end="")
except urllib.error.HTTPError as exc:
    print("HTTP", exc.code, end="")
"""


@pytest.fixture
def topo():
    require_root_tools("dnsmasq", "dhcp_release", "iptables-save", "busybox")
    t = Topology()
    yield t
    t.cleanup()


@pytest.fixture
def network_host(topo, sqlite_db, tmp_path):
    """The network host namespace, flags pointing linux_net at it, and a flagfile for nova-dhcpbridge."""
    net = topo.ns("n")
    outside = topo.ns("o")
    topo.veth(net, "pub0", outside, "ext0")
    topo.address(net, "pub0", f"{API_IP}/24")
    topo.address(outside, "ext0", f"{OUTSIDE_IP}/24")
    topo.veth(net, "flat0", net, "flat0p")
    # dnsmasq drops root and re-reads its hosts file as "nobody" on SIGHUP,
    # so the file must not sit under pytest's 0700 tmp_path.
    networks_path = tempfile.mkdtemp(prefix="nova-networks-")
    os.chmod(networks_path, 0o755)
    flagfile = tmp_path / "nova.conf"
    flagfile.write_text("\n".join([
        f"--sql_connection={sqlite_db}", "--fake_rabbit", "--host=net-host",
        "--network_manager=nova.network.manager.FlatDHCPManager", f"--state_path={tmp_path}",
        f"--logfile={tmp_path}/dhcpbridge.log", "--verbose"]) + "\n")
    for name, value in {
        "netns": net, "root_helper": "", "fake_network": False, "host": "net-host",
        "networks_path": networks_path, "lock_path": str(tmp_path),
        "dhcpbridge_flagfile": str(flagfile), "public_interface": "pub0", "flat_interface": "flat0",
        "fixed_range": "10.77.0.0/24", "routing_source_ip": API_IP, "ec2_dmz_host": API_IP,
        "metadata_port": METADATA_PORT,
    }.items():
        setattr(FLAGS, name, value)
    linux_net.reset()
    yield net, outside, str(flagfile)
    linux_net.reset()
    shutil.rmtree(networks_path, ignore_errors=True)


@pytest.fixture
def nova_api(network_host):
    """nova-api's EC2 and metadata servers, listening in the network host namespace on API_IP."""
    net, _outside, _flagfile = network_host
    for name, value in {"ec2_listen": API_IP, "ec2_port": EC2_PORT, "metadata_listen": API_IP}.items():
        setattr(FLAGS, name, value)
    with inside(net):
        servers = api_cmd.build_servers()
    try:
        for server in servers:
            server.start()
        yield {server.name: server for server in servers}
    finally:
        for server in servers:
            server.stop()


def _instance(project: str = "proj1", hostname: str = "vm1"):
    return db.instance_create(context.get_admin_context(), {"project_id": project, "user_id": "u1",
                                                            "hostname": hostname, "host": "compute-1"})


def http_get(topo: Topology, ns: str, url: str) -> str:
    """The body of GET ``url`` from namespace ``ns``, or ``HTTP <status>``."""
    return topo.exec(ns, sys.executable, "-c", HTTP_CLIENT, url, timeout=20)


def test_flat_dhcp_end_to_end(topo, network_host, nova_api, tmp_path):
    net, outside, _flagfile = network_host
    admin = context.get_admin_context()
    user = context.RequestContext("u1", "proj1")
    mgr = manager.FlatDHCPManager(host="net-host")
    mgr.create_networks(admin, "10.77.0.0/24", 1, 256)
    mgr.init_host()
    instance = _instance()
    [nic] = mgr.allocate_for_instance(admin, instance["id"], "compute-1")
    assert "flat0" in topo.exec(net, "ip", "-o", "link", "show", "master", "br100")

    # DHCP from our dnsmasq; nova-dhcpbridge marks the address leased
    vm = topo.plug_instance(net, "br100", nic["mac_address"])
    lease = topo.dhcp(vm, str(tmp_path))
    assert lease == [nic["address"], "vm1", "novalocal", "10.77.0.1"]
    wait_for(lambda: db.fixed_ip_get_by_address(admin, nic["address"])["leased"], timeout=20)

    # nova-api's metadata service through the DNAT, with the fixed IP kept as the source
    assert (nova_api["metadata"].host, nova_api["metadata"].port) == (API_IP, METADATA_PORT)
    assert http_get(topo, vm, "http://169.254.169.254/latest/meta-data/instance-id") == "i-%08x" % instance["id"]
    assert http_get(topo, vm, "http://169.254.169.254/latest/meta-data/local-ipv4") == nic["address"]
    assert http_get(topo, outside, f"http://{API_IP}:{METADATA_PORT}/latest/meta-data/instance-id") == "HTTP 404", \
        "a source address that is no instance's gets nothing"

    # without a floating IP the instance goes out as the routing source IP
    topo.peer_server(outside, OUTSIDE_IP, 9000)
    assert topo.connect(vm, OUTSIDE_IP, 9000) == API_IP

    # a floating IP: reachable from outside, and the instance's outbound source
    topo.peer_server(vm, "0.0.0.0", 8080)
    db.floating_ip_bulk_create(admin, "net-host", [FLOATING_IP])
    address = mgr.allocate_floating_ip(user, "proj1")
    assert address == FLOATING_IP
    mgr.associate_floating_ip(user, FLOATING_IP, nic["address"])
    assert topo.connect(outside, FLOATING_IP, 8080) == OUTSIDE_IP
    assert topo.connect(vm, OUTSIDE_IP, 9000) == FLOATING_IP

    # restart: a new process's manager restores bridge, dnsmasq and NAT without duplicates
    dnsmasq_pid = linux_net.dnsmasq_pid("br100")
    before = iptables_lines(topo, net)
    linux_net.reset()
    manager.FlatDHCPManager(host="net-host").init_host()
    after = iptables_lines(topo, net)
    assert sorted(after) == sorted(before)
    duplicates = [line for line, n in collections.Counter(after).items() if n > 1]
    assert duplicates == []
    assert linux_net.dnsmasq_pid("br100") == dnsmasq_pid
    assert topo.connect(outside, FLOATING_IP, 8080) == OUTSIDE_IP

    # disassociated: neither direction uses the floating IP any more
    mgr = manager.FlatDHCPManager(host="net-host")
    mgr.disassociate_floating_ip(user, FLOATING_IP)
    assert topo.connect(outside, FLOATING_IP, 8080, timeout=1).startswith("ERROR")
    assert topo.connect(vm, OUTSIDE_IP, 9000) == API_IP
    assert not any(FLOATING_IP in line for line in iptables_lines(topo, net))

    # terminate: dhcp_release makes dnsmasq run "del", and the address is free again
    mgr.deallocate_for_instance(admin, instance["id"])
    wait_for(lambda: db.fixed_ip_get_by_address(admin, nic["address"])["instance_id"] is None, timeout=20)
    assert open(os.path.join(FLAGS.networks_path, "nova-br100.conf")).read() == ""


def test_iptables_manager_keeps_foreign_rules(topo, network_host):
    net, _outside, _flagfile = network_host
    topo.exec(net, "iptables", "-A", "FORWARD", "-s", "192.0.2.0/24", "-j", "DROP")
    topo.exec(net, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "pub0", "-j", "MASQUERADE")
    mgr = manager.FlatDHCPManager(host="net-host")
    mgr.init_host()
    mgr.init_host()
    lines = iptables_lines(topo, net)
    assert lines.count("filter:-A FORWARD -s 192.0.2.0/24 -j DROP") == 1
    assert lines.count("nat:-A POSTROUTING -o pub0 -j MASQUERADE") == 1
    assert lines.count("filter:-A FORWARD -j nova-filter-top") == 1
    forward = [line for line in lines if line.startswith("filter:-A FORWARD")]
    assert forward[0] == "filter:-A FORWARD -j nova-filter-top", "security groups come before anything else"
    postrouting = [line for line in lines if line.startswith("nat:-A POSTROUTING")]
    assert postrouting[-1] == "nat:-A POSTROUTING -j nova-postrouting-bottom"
