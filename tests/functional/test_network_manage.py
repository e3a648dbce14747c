"""nova-manage network, floating and fixed, run as processes against a flagfile."""

import pytest

from nova import context, flags
from nova.db import api as db
from tests.fixtures.daemons import Cloud

FLAGS = flags.FLAGS


@pytest.fixture
def cloud(tmp_path):
    c = Cloud(tmp_path, rabbit_url=None)
    with open(c.flagfile, "a") as handle:
        handle.write("--network_manager=nova.network.manager.VlanManager\n--vlan_start=200\n")
    c.sync_db()
    yield c
    c.cleanup()


def _error(result):
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


def test_network_create_and_list(cloud):
    out = cloud.manage("network", "create", "10.20.0.0/24", "2", "64").stdout
    assert out.splitlines() == ["created network 10.20.0.0/26 on bridge br200",
                                "created network 10.20.0.64/26 on bridge br201"]
    rows = cloud.manage("network", "list").stdout.splitlines()
    assert rows[0].split()[:3] == ["id", "network", "netmask"]
    assert [r.split()[1:8] for r in rows[1:]] == [
        ["10.20.0.0/26", "255.255.255.192", "10.20.0.1", "10.20.0.3", "8.8.4.4", "br200", "200"],
        ["10.20.0.64/26", "255.255.255.192", "10.20.0.65", "10.20.0.67", "8.8.4.4", "br201", "201"]]
    again = cloud.manage("network", "create", "10.20.0.0/24", "2", "64", check=False)
    assert "A network with cidr 10.20.0.0/26 exists" in _error(again)
    bad = cloud.manage("network", "create", "10.20.0.0/24", "1", "100", check=False)
    assert "network_size must be a power of two" in _error(bad)


def test_floating_create_list_delete(cloud):
    assert cloud.manage("floating", "create", "net-a", "203.0.113.0/30").stdout.strip() == \
        "created 2 floating IPs on net-a"
    cloud.manage("floating", "create", "net-b", "203.0.113.8/32")
    rows = [r.split() for r in cloud.manage("floating", "list").stdout.splitlines()[1:]]
    assert rows == [["net-a", "203.0.113.1", "-", "-"], ["net-a", "203.0.113.2", "-", "-"],
                    ["net-b", "203.0.113.8", "-", "-"]]
    assert len(cloud.manage("floating", "list", "net-b").stdout.splitlines()) == 2
    dup = cloud.manage("floating", "create", "net-a", "203.0.113.2/32", check=False)
    assert "Floating IP 203.0.113.2 exists" in _error(dup)
    assert "bad IP range" in _error(cloud.manage("floating", "create", "net-a", "nonsense", check=False))

    FLAGS.sql_connection = f"sqlite:///{cloud.tmp_path}/nova.sqlite"
    db.floating_ip_allocate_address(context.get_admin_context(), "net-b", "proj1")
    held = cloud.manage("floating", "delete", "203.0.113.8/32", check=False)
    assert "allocated to project proj1" in _error(held)
    cloud.manage("floating", "delete", "203.0.113.0/30")
    rows = [r.split() for r in cloud.manage("floating", "list").stdout.splitlines()[1:]]
    assert rows == [["net-b", "203.0.113.8", "proj1", "-"]]


def test_fixed_list_shows_addresses_in_use(cloud):
    cloud.manage("network", "create", "10.30.0.0/28", "1", "16")
    FLAGS.sql_connection = f"sqlite:///{cloud.tmp_path}/nova.sqlite"
    FLAGS.fake_network = True
    from nova.network import manager

    admin = context.get_admin_context()
    instance = db.instance_create(admin, {"project_id": "p1", "hostname": "db1", "host": "compute-7"})
    [nic] = manager.VlanManager(host="net-host").allocate_for_instance(admin, instance["id"], "compute-7")
    rows = [r.split() for r in cloud.manage("fixed", "list").stdout.splitlines()[1:]]
    assert rows == [["10.30.0.0/28", "10.30.0.3", nic["mac_address"], "db1", "compute-7"]]
    assert cloud.manage("fixed", "list", "other-host").stdout.splitlines()[1:] == []
