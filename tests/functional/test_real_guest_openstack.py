"""The same real guest's lifecycle through the OpenStack compute API v2.1, driven with openstacksdk.

It reuses the EC2 module's cloud (nova-api, nova-scheduler, FlatDHCP
nova-network and libvirt nova-compute from one flagfile), with nova-api also
serving the OpenStack, identity and image APIs on free ports.  SSH and security
groups are the EC2 test's; this one follows the guest's console through boot,
reboot, stop, start and delete.
"""

from __future__ import annotations

import sys

import openstack
import pytest

from tests.fixtures.daemons import wait_for
from tests.fixtures.daemons import free_port
from tests.functional.test_real_guest_ec2 import _listening, link, real_cloud  # noqa: F401
from tests.integration.virt.test_real_guest import host, markers  # noqa: F401

API_PORTS = ("osapi_port", "identity_port", "image_api_port")


@pytest.fixture
def os_ports() -> dict[str, int]:
    return {name: free_port() for name in API_PORTS}


@pytest.fixture
def real_cloud_flags(os_ports) -> list[str]:
    return ["--osapi_listen=127.0.0.1", "--identity_listen=127.0.0.1", "--image_api_listen=127.0.0.1",
            "--osapi_host=127.0.0.1", "--identity_host=127.0.0.1", "--image_api_host=127.0.0.1",
            *[f"--{name}={number}" for name, number in os_ports.items()]]


def _console(conn, server) -> str:
    return conn.compute.get_server_console_output(server).get("output") or ""


@pytest.mark.timeout(600)
def test_server_lifecycle_of_a_real_guest_through_the_openstack_api(real_cloud, os_ports, monkeypatch):
    for name in os_ports:
        wait_for(lambda: _listening(os_ports[name]), timeout=30, what=f"nova-api on --{name}")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", "/dev/null")
    conn = openstack.connect(auth_url=f"http://127.0.0.1:{os_ports['identity_port']}/v3", username="alice",
                             password="SK-alice", project_name="proj", user_domain_name="Default",
                             project_domain_name="Default", region_name="nova")
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    conn.compute.create_keypair(name="oskey")
    image_id = str(int(real_cloud["ami"].split("-", 1)[1], 16))
    server = conn.compute.create_server(name="guest1", image_id=image_id, flavor_id=flavor.id, key_name="oskey")
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=120, interval=1)
    text = wait_for(lambda: (lambda t: "NOVA-GUEST ready" in t and t)(_console(conn, server)), timeout=120,
                    interval=1, what="the guest's ready line")
    seen = markers(text)
    # the guest's metadata names it by its EC2 id: the same instance seen through the other API
    ec2_ids = [i["InstanceId"] for r in real_cloud["client"].describe_instances()["Reservations"]
               for i in r["Instances"]]
    assert [seen["instance-id"]] == ec2_ids, text
    assert seen["public-key"].startswith("ssh-rsa"), text
    assert seen["local-ipv4"] in str(conn.compute.get_server(server.id).addresses), text

    conn.compute.reboot_server(server, "SOFT")
    wait_for(lambda: _console(conn, server).count("NOVA-GUEST ready") == 2, timeout=120, interval=1,
             what="a second boot")
    conn.compute.wait_for_server(conn.compute.get_server(server.id), status="ACTIVE", wait=60, interval=1)
    conn.compute.stop_server(server)
    conn.compute.wait_for_server(server, status="SHUTOFF", wait=90, interval=1)
    conn.compute.start_server(server)
    conn.compute.wait_for_server(server, status="ACTIVE", wait=90, interval=1)
    wait_for(lambda: _console(conn, server).count("NOVA-GUEST ready") == 3, timeout=120, interval=1,
             what="a third boot")

    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=60, interval=1)
    assert list(conn.compute.servers()) == []
    domains = real_cloud["topo"].exec(
        real_cloud["net"], sys.executable, "-c",
        "import libvirt; print([d.name() for d in libvirt.open('qemu:///system').listAllDomains()])")
    assert domains.strip() == "[]"
