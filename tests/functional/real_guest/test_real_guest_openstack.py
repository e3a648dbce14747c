"""The same real guest's lifecycle through the OpenStack compute API v2.1, driven with openstacksdk.

It runs on the cloud of tests/functional/conftest.py, whose nova-api on the compute host also serves
the OpenStack, identity and image APIs.  SSH and security groups are the EC2 test's; this one follows
the guest's console through boot, reboot, stop, start and delete.
"""

from __future__ import annotations

import openstack
import pytest

from tests.fixtures.daemons import wait_for
from tests.functional.real_guest.conftest import PORTS, domains
from tests.integration.virt.test_real_guest import markers


def _console(conn, server) -> str:
    return conn.compute.get_server_console_output(server).get("output") or ""


@pytest.mark.timeout(900)
def test_server_lifecycle_of_a_real_guest_through_the_openstack_api(tenant, monkeypatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", "/dev/null")
    conn = openstack.connect(auth_url=f"http://{tenant['cmp'].address}:{PORTS['identity_port']}/v3",
                             username=tenant["user"], password=tenant["password"], project_name=tenant["project"],
                             user_domain_name="Default", project_domain_name="Default", region_name="nova")
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    conn.compute.create_keypair(name="oskey")
    image_id = str(int(tenant["ami"].split("-", 1)[1], 16))
    server = conn.compute.create_server(name="guest1", image_id=image_id, flavor_id=flavor.id, key_name="oskey")
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=120, interval=1)
    text = wait_for(lambda: (lambda t: "NOVA-GUEST ready" in t and t)(_console(conn, server)), timeout=300,
                    interval=1, what="the guest's ready line")
    seen = markers(text)
    # the guest's metadata names it by its EC2 id: the same instance seen through the other API
    ec2_ids = [i["InstanceId"] for r in tenant["client"].describe_instances()["Reservations"]
               for i in r["Instances"]]
    assert [seen["instance-id"]] == ec2_ids, text
    assert seen["public-key"].startswith("ssh-rsa"), text
    assert seen["local-ipv4"] in str(conn.compute.get_server(server.id).addresses), text

    conn.compute.reboot_server(server, "SOFT")
    wait_for(lambda: _console(conn, server).count("NOVA-GUEST ready") == 2, timeout=240, interval=1,
             what="a second boot")
    conn.compute.wait_for_server(conn.compute.get_server(server.id), status="ACTIVE", wait=60, interval=1)
    conn.compute.stop_server(server)
    conn.compute.wait_for_server(server, status="SHUTOFF", wait=90, interval=1)
    conn.compute.start_server(server)
    conn.compute.wait_for_server(server, status="ACTIVE", wait=90, interval=1)
    wait_for(lambda: _console(conn, server).count("NOVA-GUEST ready") == 3, timeout=240, interval=1,
             what="a third boot")

    name = f"instance-{int(seen['instance-id'][2:], 16):08x}"
    assert name in domains()
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=60, interval=1)
    assert list(conn.compute.servers()) == []
    assert name not in domains()
