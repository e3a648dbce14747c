"""NetworkManager strategies on SQLite with --fake_network: what lands in the
database and which host commands would run."""

from __future__ import annotations

import datetime
import os

import pytest

from nova import context, exception, flags, utils
from nova.db import api as db
from nova.network import linux_net, manager
from tests.fixtures.sql import counting_statements
from tests.unit.network.conftest import make_instance

FLAGS = flags.FLAGS


def flat_dhcp(cidr: str = "10.0.0.0/28") -> tuple[manager.FlatDHCPManager, dict]:
    FLAGS.flat_interface = "eth1"
    mgr = manager.FlatDHCPManager(host="net-host")
    [network] = mgr.create_networks(context.get_admin_context(), cidr, 1, 16, label="public")
    return mgr, network


def hosts_file(bridge: str) -> str:
    with open(os.path.join(FLAGS.networks_path, f"nova-{bridge}.conf")) as handle:
        return handle.read()


def test_create_networks_reserves_network_gateway_and_broadcast(fake_net, admin):
    _mgr, network = flat_dhcp()
    assert (network["cidr"], network["gateway"], network["dhcp_start"]) == ("10.0.0.0/28", "10.0.0.1", "10.0.0.2")
    rows = db.fixed_ip_get_all_by_network(admin, network["id"])
    assert len(rows) == 16
    assert sorted(r["address"] for r in rows if r["reserved"]) == ["10.0.0.0", "10.0.0.1", "10.0.0.15"]


@pytest.mark.parametrize("cidr,num,size,why", [
    ("10.0.0.0/28", 1, 10, "power of two"),
    ("10.0.0.0/28", 2, 16, "holds only 1"),
    ("not-a-cidr", 1, 16, "bad cidr"),
    ("10.0.0.0/29", 1, 16, "smaller than one network"),
])
def test_create_networks_rejects_bad_input(fake_net, admin, cidr, num, size, why):
    with pytest.raises(exception.InvalidInput, match=why):
        manager.FlatDHCPManager(host="h").create_networks(admin, cidr, num, size)
    assert db.network_get_all(admin) == []


def test_same_cidr_twice_is_refused(fake_net, admin):
    flat_dhcp()
    with pytest.raises(exception.NetworkExists):
        flat_dhcp()


def test_flat_dhcp_allocation_sets_up_bridge_dnsmasq_and_hosts_file(fake_net, admin):
    mgr, network = flat_dhcp()
    instance = make_instance(hostname="web1")
    [nic] = mgr.allocate_for_instance(admin, instance["id"], "compute-1")
    assert nic["address"] == "10.0.0.2"
    assert nic["mac_address"].startswith("02:16:3e:")
    assert (nic["bridge"], nic["gateway"], nic["dhcp_server"], nic["injected"]) == (
        "br100", "10.0.0.1", "10.0.0.1", False)
    assert db.network_get(admin, network["id"])["host"] == "net-host"
    assert db.instance_get(admin, instance["id"])["mac_address"] == nic["mac_address"]
    assert hosts_file("br100") == f"{nic['mac_address']},web1.novalocal,10.0.0.2\n"
    commands = "\n".join(fake_net)
    assert "ip link add br100 type bridge" in commands
    assert "ip link set eth1 master br100" in commands
    assert "ip addr add 10.0.0.1/28 brd 10.0.0.15 dev br100" in commands
    dnsmasq = [c for c in fake_net if " dnsmasq " in c][-1]
    for arg in ("--strict-order", "--bind-interfaces", "--conf-file=", "--domain=novalocal",
                "--listen-address=10.0.0.1", "--except-interface=lo", "--dhcp-range=10.0.0.2,static,120s",
                f"--dhcp-hostsfile={FLAGS.networks_path}/nova-br100.conf",
                f"--dhcp-script={linux_net.dhcpbridge_path()}",
                "--leasefile-ro", f"FLAGFILE={FLAGS.dhcpbridge_flagfile}", "DNSMASQ_INTERFACE=br100"):
        assert arg in dnsmasq.split(), arg


def test_addresses_and_macs_are_unique_until_the_pool_runs_out(fake_net, admin):
    mgr, network = flat_dhcp()
    nics = [mgr.allocate_for_instance(admin, make_instance()["id"], "c")[0] for _ in range(13)]
    assert len({n["address"] for n in nics}) == 13
    assert len({n["mac_address"] for n in nics}) == 13
    assert {"10.0.0.0", "10.0.0.1", "10.0.0.15"}.isdisjoint(n["address"] for n in nics)
    with pytest.raises(exception.NoMoreFixedIps):
        mgr.allocate_for_instance(admin, make_instance()["id"], "c")


def test_an_allocation_delivered_twice_keeps_one_address(fake_net, admin):
    """RPC is at-least-once: a broker failover may hand the same allocate request over again."""
    mgr, _network = flat_dhcp()
    instance = make_instance()
    [first] = mgr.allocate_for_instance(admin, instance["id"], "c")
    [again] = mgr.allocate_for_instance(admin, instance["id"], "c")
    assert again == first
    assert [f["address"] for f in db.fixed_ip_get_all_by_instance(admin, instance["id"])] == [first["address"]]
    mgr.deallocate_for_instance(admin, instance["id"])
    [after] = mgr.allocate_for_instance(admin, instance["id"], "c")
    assert after["address"] != first["address"] or after["mac_address"] != first["mac_address"]


def test_lease_release_cycle(fake_net, admin):
    mgr, _network = flat_dhcp()
    instance = make_instance(hostname="vm")
    [nic] = mgr.allocate_for_instance(admin, instance["id"], "c")
    address, mac = nic["address"], nic["mac_address"]
    mgr.lease_fixed_ip(admin, address, "02:16:3e:ff:ff:ff")
    assert not db.fixed_ip_get_by_address(admin, address)["leased"], "a lease by another MAC is ignored"
    mgr.lease_fixed_ip(admin, address, mac.upper())
    assert db.fixed_ip_get_by_address(admin, address)["leased"]
    assert mgr.get_dhcp_leases(admin, "br100")[0].split()[1:] == [mac, address, "vm", "*"]

    fake_net.clear()
    mgr.deallocate_for_instance(admin, instance["id"])
    row = db.fixed_ip_get_by_address(admin, address)
    assert (row["allocated"], row["leased"], row["instance_id"]) == (False, True, instance["id"])
    assert hosts_file("br100") == ""
    assert f"dhcp_release br100 {address} {mac}" in fake_net
    # dnsmasq's "del" (what dhcp_release triggers) frees it
    mgr.release_fixed_ip(admin, address, mac)
    row = db.fixed_ip_get_by_address(admin, address)
    assert (row["leased"], row["instance_id"], row["mac_address"]) == (False, None, None)


def test_release_of_an_allocated_address_keeps_it(fake_net, admin):
    mgr, _network = flat_dhcp()
    instance = make_instance()
    [nic] = mgr.allocate_for_instance(admin, instance["id"], "c")
    mgr.lease_fixed_ip(admin, nic["address"], nic["mac_address"])
    mgr.release_fixed_ip(admin, nic["address"], nic["mac_address"])
    row = db.fixed_ip_get_by_address(admin, nic["address"])
    assert (row["leased"], row["allocated"], row["instance_id"]) == (False, True, instance["id"])


def test_periodic_task_frees_only_stale_unleased_addresses(fake_net, admin):
    FLAGS.fixed_ip_disassociate_timeout = 600
    mgr, _network = flat_dhcp()
    stale, fresh, leased = (make_instance() for _ in range(3))
    addresses = {}
    for inst in (stale, fresh, leased):
        [nic] = mgr.allocate_for_instance(admin, inst["id"], "c")
        addresses[inst["id"]] = nic
    mgr.lease_fixed_ip(admin, addresses[leased["id"]]["address"], addresses[leased["id"]]["mac_address"])
    long_ago = utils.utcnow() - datetime.timedelta(seconds=3600)
    for inst in (stale, fresh):
        mgr.deallocate_for_instance(admin, inst["id"])
    db.fixed_ip_update(admin, addresses[stale["id"]]["address"], {"updated_at": long_ago})
    db.fixed_ip_update(admin, addresses[leased["id"]]["address"], {"allocated": False, "updated_at": long_ago})
    mgr.periodic_tasks(admin)
    assert db.fixed_ip_get_by_address(admin, addresses[stale["id"]]["address"])["instance_id"] is None
    assert db.fixed_ip_get_by_address(admin, addresses[fresh["id"]]["address"])["instance_id"] == fresh["id"]
    assert db.fixed_ip_get_by_address(admin, addresses[leased["id"]]["address"])["instance_id"] == leased["id"]


def test_flat_manager_injects_and_runs_no_dhcp(fake_net, admin):
    mgr = manager.FlatManager(host="net-host")
    mgr.create_networks(admin, "10.1.0.0/28", 1, 16)
    instance = make_instance()
    [nic] = mgr.allocate_for_instance(admin, instance["id"], "c")
    assert (nic["injected"], nic["dhcp_server"], nic["bridge"]) == (True, None, "br100")
    assert not any("dnsmasq" in c or "ip link add" in c for c in fake_net), "the flat bridge pre-exists"
    mgr.deallocate_for_instance(admin, instance["id"])
    assert db.fixed_ip_get_by_address(admin, nic["address"])["instance_id"] is None


def test_vlan_manager_binds_one_network_per_project(fake_net, admin):
    FLAGS.vlan_interface = "eth2"
    mgr = manager.VlanManager(host="net-host")
    networks = mgr.create_networks(admin, "10.2.0.0/27", 2, 16, vlan_start=100, vpn_start=1000)
    assert [(n["vlan"], n["bridge"], n["gateway"], n["vpn_private_address"], n["dhcp_start"], n["vpn_public_port"])
            for n in networks] == [(100, "br100", "10.2.0.1", "10.2.0.2", "10.2.0.3", 1000),
                                   (101, "br101", "10.2.0.17", "10.2.0.18", "10.2.0.19", 1001)]
    [a1] = mgr.allocate_for_instance(admin, make_instance("projA")["id"], "c")
    [b1] = mgr.allocate_for_instance(admin, make_instance("projB")["id"], "c")
    [a2] = mgr.allocate_for_instance(admin, make_instance("projA")["id"], "c")
    assert (a1["vlan"], a2["vlan"], b1["vlan"]) == (100, 100, 101)
    assert (a1["address"], a2["address"], b1["address"]) == ("10.2.0.3", "10.2.0.4", "10.2.0.19")
    assert "ip link add link eth2 name vlan100 type vlan id 100" in fake_net
    assert "ip link set vlan101 master br101" in fake_net
    with pytest.raises(exception.NoMoreNetworks):
        mgr.allocate_for_instance(admin, make_instance("projC")["id"], "c")


def test_vlan_compute_host_joins_the_vlan_bridge(fake_net, admin):
    FLAGS.vlan_interface = "eth2"
    net_mgr = manager.VlanManager(host="net-host")
    net_mgr.create_networks(admin, "10.2.0.0/28", 1, 16)
    instance = make_instance("projA")
    net_mgr.allocate_for_instance(admin, instance["id"], "c")
    fake_net.clear()
    manager.VlanManager(host="compute-1").setup_compute_network(admin, instance["id"])
    assert fake_net[:4] == ["ip link show dev vlan100", "ip link add link eth2 name vlan100 type vlan id 100",
                            "ip link set vlan100 up", "ip link show dev br100"]


def test_init_host_sets_default_nat_and_metadata_forward(fake_net, admin):
    FLAGS.ec2_port = 8773
    FLAGS.metadata_port = 8775
    manager.FlatDHCPManager(host="net-host").init_host()
    restores = [c for c in fake_net if c.startswith("iptables-restore")]
    assert restores, "rules were applied"
    nat = linux_net.iptables_manager().modify_table("nat", "")
    assert "-A nova-network-snat -s 10.0.0.0/16 -j SNAT --to-source 192.0.2.10" in nat
    assert "-A nova-network-POSTROUTING -s 10.0.0.0/16 -d 192.0.2.20/32 -j ACCEPT" in nat
    assert ("-A nova-network-PREROUTING -d 169.254.169.254/32 -p tcp -m tcp --dport 80 "
            "-j DNAT --to-destination 192.0.2.20:8775") in nat


def test_flat_allocate_and_deallocate_cost_four_and_two_statements(fake_net, admin):
    # allocate: one transaction (what the instance or the MAC holds, the candidate, the claim, the
    # instance's MAC), the network being remembered; deallocate: addresses with their hosts and floating
    # IPs, the release.
    mgr = manager.FlatManager(host="net-host")
    [network] = mgr.create_networks(admin, "10.0.0.0/28", 1, 16)
    warm_up = make_instance()["id"]  # and the network gets its host
    mgr.allocate_for_instance(admin, warm_up, "c")
    mgr.deallocate_for_instance(admin, warm_up)
    instance = make_instance()
    with counting_statements() as statements:
        [nic] = mgr.allocate_for_instance(admin, instance["id"], "c")
    assert len(statements) == 4, statements
    assert nic["network_id"] == network["id"] and db.instance_get(admin, instance["id"])["mac_address"] == \
        nic["mac_address"]
    with counting_statements() as statements:
        mgr.deallocate_for_instance(admin, instance["id"])
    assert len(statements) == 2, statements
    assert db.fixed_ip_get_all_by_instance(admin, instance["id"]) == []


def test_a_remembered_network_deleted_since_is_read_again(fake_net, admin):
    mgr = manager.FlatManager(host="net-host")
    [first] = mgr.create_networks(admin, "10.0.0.0/28", 1, 16)
    [held] = mgr.allocate_for_instance(admin, make_instance()["id"], "c")
    db.fixed_ip_disassociate(admin, held["address"])
    db.network_delete_safe(admin, first["id"])  # its addresses go with it
    [second] = mgr.create_networks(admin, "10.2.0.0/28", 1, 16)
    [nic] = mgr.allocate_for_instance(admin, make_instance()["id"], "c")
    assert nic["network_id"] == second["id"] and nic["address"].startswith("10.2.0.")
    db.fixed_ip_disassociate(admin, nic["address"])
    db.network_delete_safe(admin, second["id"])
    with pytest.raises(exception.NoNetworksFound):  # read again once, not for ever
        mgr.allocate_for_instance(admin, make_instance()["id"], "c")


def test_allocating_for_a_deleted_instance_fails_and_holds_nothing(fake_net, admin):
    mgr = manager.FlatManager(host="net-host")
    [network] = mgr.create_networks(admin, "10.0.0.0/28", 1, 16)
    instance = make_instance()
    db.instance_destroy(admin, instance["id"])
    with pytest.raises(exception.InstanceNotFound):
        mgr.allocate_for_instance(admin, instance["id"], "c")
    assert all(f["instance_id"] is None for f in db.fixed_ip_get_all_by_network(admin, network["id"]))


def test_the_release_of_an_instance_addresses_is_a_cast(monkeypatch):
    # Persistent in a durable queue: it waits there while nova-network is down instead of timing out.
    from nova.network import rpcapi as network_rpcapi

    sent = []
    monkeypatch.setattr(network_rpcapi.NetworkAPI, "cast", lambda self, ctxt, msg, host=None: sent.append(msg))
    monkeypatch.setattr(network_rpcapi.NetworkAPI, "call", lambda *a, **k: pytest.fail("a call"))
    network_rpcapi.NetworkAPI().deallocate_for_instance(context.get_admin_context(), 7)
    assert sent == [{"method": "deallocate_for_instance", "args": {"instance_id": 7}}]
