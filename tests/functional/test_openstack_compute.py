"""Servers through the OpenStack compute API v2.1, driven by the ``openstack`` command line and
openstacksdk with nothing but the novarc, against nova-api, nova-scheduler, nova-compute (fake driver)
and nova-network (--fake_network) started once for the module; the same servers seen through EC2."""

from __future__ import annotations

import boto3
import botocore.config
import openstack.exceptions
import pytest

from tests.fixtures import services
from tests.fixtures.daemons import wait_for
from tests.functional.test_openstack_clients import OpenStackCloud

NO_RETRY = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60)


@pytest.fixture(scope="module")
def compute_cloud(tmp_path_factory, vhost_pool):
    vhost, url = vhost_pool.take(services.rabbit_url())
    cloud = None
    try:
        cloud = OpenStackCloud(tmp_path_factory.mktemp("oscompute"), url, compute=True)
        disk = cloud.tmp_path / "disk.raw"
        disk.write_bytes(b"\0" * 4096)
        cloud.image = cloud.openstack("alice", "image", "create", "--file", str(disk), "--disk-format", "raw",
                                      "--container-format", "bare", "--public", "cirros")
        yield cloud
    finally:
        if cloud is not None:
            cloud.close()
        vhost_pool.give_back(vhost)


def _refused(cloud: OpenStackCloud, user: str, *args: str) -> str:
    """Run the CLI expecting a failure; returns its stderr."""
    result = cloud.run_cli(user, *args)
    assert result.returncode != 0, result.stdout
    return result.stderr


def _ec2(cloud: OpenStackCloud, user: str):
    env = cloud.env(user)
    return boto3.client("ec2", endpoint_url=env["EC2_URL"], region_name=env["AWS_DEFAULT_REGION"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], config=NO_RETRY)


@pytest.mark.timeout(600)
def test_server_lifecycle_with_the_cli(compute_cloud, monkeypatch):
    cli = compute_cloud.openstack
    assert "m1.tiny" in [f["Name"] for f in cli("alice", "flavor", "list")]
    assert [i["Name"] for i in cli("alice", "image", "list")] == ["cirros"]
    key = cli("alice", "keypair", "create", "--private-key", str(compute_cloud.tmp_path / "k.pem"), "k")
    assert key["name"] == "k" and (compute_cloud.tmp_path / "k.pem").read_text().startswith("-----BEGIN")
    assert [k["Name"] for k in cli("alice", "keypair", "list")] == ["k"]
    # python-openstackclient sends these to the network API (Neutron v2.0) in the catalog
    group = cli("alice", "security", "group", "create", "web")
    assert group["name"] == "web" and group["id"].isdigit()
    rule = cli("alice", "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "web")
    assert (rule["port_range_min"], rule["port_range_max"], rule["protocol"], rule["remote_ip_prefix"]) == (
        22, 22, "tcp", "0.0.0.0/0")
    assert "web" not in [g["Name"] for g in cli("bob", "security", "group", "list")]
    assert "No SecurityGroup found" in _refused(compute_cloud, "bob", "security", "group", "show", group["id"])

    server = cli("alice", "server", "create", "--image", "cirros", "--flavor", "m1.tiny", "--key-name", "k",
                 "--security-group", "web", "--wait", "web1")
    assert (server["status"], server["name"], server["key_name"]) == ("ACTIVE", "web1", "k")
    assert [(s["ID"], s["Status"]) for s in cli("alice", "server", "list")] == [(server["id"], "ACTIVE")]
    shown = cli("alice", "server", "show", server["id"])
    assert shown["flavor"].startswith("m1.tiny") and "10.0.0." in str(shown["addresses"])
    assert group["name"] in str(shown["security_groups"])

    cli("alice", "server", "reboot", "--wait", "web1", parse=False)
    cli("alice", "server", "stop", "web1", parse=False)
    wait_for(lambda: cli("alice", "server", "show", "web1")["status"] == "SHUTOFF", timeout=60, what="SHUTOFF")
    cli("alice", "server", "start", "web1", parse=False)
    wait_for(lambda: cli("alice", "server", "show", "web1")["status"] == "ACTIVE", timeout=60, what="ACTIVE")
    assert isinstance(cli("alice", "console", "log", "show", "web1", parse=False), str)

    floating = cli("alice", "floating", "ip", "create", "nova")
    assert floating["floating_ip_address"].startswith("172.24.4.") and floating["port_id"] is None
    cli("alice", "server", "add", "floating", "ip", "web1", floating["floating_ip_address"], parse=False)
    wait_for(lambda: floating["floating_ip_address"] in str(cli("alice", "server", "show", "web1")["addresses"]),
             timeout=30, what="the floating IP in the server's addresses")
    listed = {f["Floating IP Address"]: f for f in cli("alice", "floating", "ip", "list")}
    assert listed[floating["floating_ip_address"]]["Port"] is not None
    assert cli("bob", "floating", "ip", "list") == []

    limits = {row["Name"]: row["Value"] for row in cli("alice", "limits", "show", "--absolute")}
    assert limits["instances_used"] == 1 and limits["instances"] >= 1, limits

    assert "No Server found" in _refused(compute_cloud, "bob", "server", "show", server["id"])
    _refused(compute_cloud, "bob", "server", "delete", server["id"])
    _refused(compute_cloud, "bob", "server", "reboot", server["id"])
    assert cli("bob", "server", "list") == []

    cli("alice", "server", "delete", "--wait", "web1", parse=False)
    assert cli("alice", "server", "list") == []
    cli("alice", "keypair", "delete", "k", parse=False)
    assert cli("alice", "keypair", "list") == []


@pytest.mark.timeout(600)
def test_server_lifecycle_with_openstacksdk(compute_cloud, monkeypatch):
    bob = compute_cloud.connect("bob", monkeypatch)
    conn = compute_cloud.connect("alice", monkeypatch)
    flavor = conn.compute.find_flavor("m1.tiny")
    image = conn.image.find_image("cirros")
    assert flavor is not None and image is not None
    key = conn.compute.create_keypair(name="sdk-key")
    assert key.private_key.startswith("-----BEGIN") and "sdk-key" in [k.name for k in conn.compute.keypairs()]
    group = conn.create_security_group("sdk-web", "web servers")
    assert conn.get_security_group("sdk-web")["id"] == group["id"]
    conn.create_security_group_rule(group["id"], port_range_min=80, port_range_max=80, protocol="tcp",
                                    remote_ip_prefix="0.0.0.0/0")

    server = conn.compute.create_server(name="sdk1", image_id=image.id, flavor_id=flavor.id, key_name="sdk-key")
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=120, interval=1)
    assert [s.id for s in conn.compute.servers()] == [server.id]
    assert conn.compute.get_server(server.id).key_name == "sdk-key"
    conn.compute.reboot_server(server, "SOFT")
    # wait_for_server trusts the status it was handed (ACTIVE): read the REBOOT one first
    conn.compute.wait_for_server(conn.compute.get_server(server.id), status="ACTIVE", wait=60, interval=1)
    conn.compute.stop_server(server)
    conn.compute.wait_for_server(server, status="SHUTOFF", wait=60, interval=1)
    conn.compute.start_server(server)
    conn.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=1)
    assert "output" in conn.compute.get_server_console_output(server)
    pool = conn.network.find_network("nova", ignore_missing=False)
    floating = conn.network.create_ip(floating_network_id=pool.id)
    port = next(iter(conn.network.ports(device_id=server.id)))
    conn.network.update_ip(floating, port_id=port.id)
    wait_for(lambda: floating.floating_ip_address in str(conn.compute.get_server(server.id).addresses), timeout=30,
             what="the floating IP in the server's addresses")
    assert list(bob.network.ports(device_id=server.id)) == []
    conn.network.delete_ip(floating)
    assert conn.compute.get_limits().absolute.instances_used == 1

    with pytest.raises(openstack.exceptions.NotFoundException):
        bob.compute.get_server(server.id)
    with pytest.raises(openstack.exceptions.NotFoundException):
        bob.compute.delete_server(server.id, ignore_missing=False)
    with pytest.raises(openstack.exceptions.NotFoundException):
        bob.compute.get_server_console_output(server.id)
    assert list(bob.compute.servers()) == []

    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=60, interval=1)
    conn.compute.delete_keypair("sdk-key")
    conn.delete_security_group(group["id"])
    assert list(conn.compute.servers()) == []


@pytest.mark.timeout(600)
def test_servers_are_ec2_instances_and_back(compute_cloud, monkeypatch):
    conn = compute_cloud.connect("alice", monkeypatch)
    ec2 = _ec2(compute_cloud, "alice")
    image = conn.image.find_image("cirros")
    server = conn.compute.create_server(name="both", image_id=image.id,
                                        flavor_id=conn.compute.find_flavor("m1.tiny").id)
    conn.compute.wait_for_server(server, status="ACTIVE", wait=120, interval=1)
    described = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    assert [i["State"]["Name"] for i in described] == ["running"]
    assert described[0]["PrivateIpAddress"] in str(conn.compute.get_server(server.id).addresses)
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    launched = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="m1.tiny")
    instance_id = launched["Instances"][0]["InstanceId"]
    wait_for(lambda: len([s for s in conn.compute.servers() if s.status == "ACTIVE"]) == 2, timeout=120,
             what="the EC2 instance ACTIVE through the OpenStack API")
    ec2_ip = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["PrivateIpAddress"]
    other = [s for s in conn.compute.servers(details=True) if s.id != server.id]
    assert len(other) == 1 and ec2_ip in str(other[0].addresses)
    assert _ec2(compute_cloud, "bob").describe_instances()["Reservations"] == []
    ec2.terminate_instances(InstanceIds=[instance_id])
    conn.compute.delete_server(server)
    wait_for(lambda: not list(conn.compute.servers()), timeout=60, what="both servers gone")


@pytest.mark.timeout(300)
def test_volume_attachments_with_openstacksdk(compute_cloud, monkeypatch):
    """os-volumes through the SDK's compute proxy, attachments through its volume_attachment calls; nova-volume
    keeps its volumes in memory (the unit tests' driver), nova-compute's fake driver plugs them."""
    if ("vol1", "nova-volume") not in compute_cloud.cloud.service_states():
        compute_cloud.cloud.start("nova-volume", "--host=vol1", "--volume_driver=tests.unit.volume.fakes.MemoryDriver")
        wait_for(lambda: compute_cloud.cloud.service_states().get(("vol1", "nova-volume")) == ":-)", timeout=60,
                 what="nova-volume up")
    bob = compute_cloud.connect("bob", monkeypatch)
    conn = compute_cloud.connect("alice", monkeypatch)
    server = conn.compute.create_server(name="disks", image_id=conn.image.find_image("cirros").id,
                                        flavor_id=conn.compute.find_flavor("m1.tiny").id)
    created = conn.compute.post("/os-volumes", json={"volume": {"size": 1, "display_name": "data"}})
    assert created.status_code == 200, created.text
    volume_id = created.json()["volume"]["id"]

    def volume() -> dict:
        return conn.compute.get(f"/os-volumes/{volume_id}").json()["volume"]

    wait_for(lambda: volume()["status"] == "available", timeout=60, what="the volume available")
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=120, interval=1)
    attachment = conn.compute.create_volume_attachment(server, volume=volume_id, device="/dev/vdb")
    assert (attachment.volume_id, attachment.device) == (volume_id, "/dev/vdb")
    wait_for(lambda: volume()["status"] == "in-use", timeout=60, what="the volume in-use")
    assert volume()["attachments"][0]["serverId"] == server.id
    assert [(a.volume_id, a.device) for a in conn.compute.volume_attachments(server)] == [(volume_id, "/dev/vdb")]
    assert conn.compute.get_volume_attachment(server, volume_id).device == "/dev/vdb"
    assert [v.id for v in conn.compute.get_server(server.id).attached_volumes] == [volume_id]
    with pytest.raises(openstack.exceptions.NotFoundException):
        list(bob.compute.volume_attachments(server.id))
    assert bob.compute.get(f"/os-volumes/{volume_id}").status_code == 404
    assert conn.compute.delete(f"/os-volumes/{volume_id}").status_code == 409

    conn.compute.delete_volume_attachment(server, volume_id, ignore_missing=False)
    wait_for(lambda: volume()["status"] == "available", timeout=60, what="the volume detached")
    assert list(conn.compute.volume_attachments(server)) == []
    assert conn.compute.delete(f"/os-volumes/{volume_id}").status_code == 202
    wait_for(lambda: conn.compute.get(f"/os-volumes/{volume_id}").status_code == 404, timeout=60,
             what="the volume gone")
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=60, interval=1)


@pytest.mark.timeout(300)
def test_boot_from_volume_and_its_image_with_openstacksdk(compute_cloud, monkeypatch):
    """block_device_mapping_v2 through the SDK: a server booted from an existing volume with a blank one,
    createImage of it (an EBS image, seen in the image API), a server of that image on a new root volume."""
    if ("vol1", "nova-volume") not in compute_cloud.cloud.service_states():
        compute_cloud.cloud.start("nova-volume", "--host=vol1", "--volume_driver=tests.unit.volume.fakes.MemoryDriver")
        wait_for(lambda: compute_cloud.cloud.service_states().get(("vol1", "nova-volume")) == ":-)", timeout=60,
                 what="nova-volume up")
    conn = compute_cloud.connect("alice", monkeypatch)
    flavor = conn.compute.find_flavor("m1.tiny").id
    volume_id = conn.compute.post("/os-volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]

    def volume(number: str) -> dict:
        return conn.compute.get(f"/os-volumes/{number}").json().get("volume") or {}

    wait_for(lambda: volume(volume_id).get("status") == "available", timeout=60, what="the volume available")
    server = conn.compute.create_server(name="bfv", flavor_id=flavor, block_device_mapping=[
        {"uuid": volume_id, "source_type": "volume", "destination_type": "volume", "boot_index": 0},
        {"source_type": "blank", "destination_type": "volume", "volume_size": 1, "delete_on_termination": True}])
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=120, interval=1)
    attached = {v["id"]: v["delete_on_termination"] for v in conn.compute.get_server(server.id).attached_volumes}
    (blank_id,) = set(attached) - {volume_id}
    assert attached == {volume_id: False, blank_id: True}
    assert {a.volume_id: a.device for a in conn.compute.volume_attachments(server)} == {
        volume_id: "/dev/vda", blank_id: "/dev/vdb"}

    image = conn.compute.create_server_image(server, "bfv-image", wait=True, timeout=60)
    assert image.status == "active" and image.properties["root_device_name"] == "/dev/vda"
    from_image = conn.compute.create_server(name="from-ebs", image_id=image.id, flavor_id=flavor)
    from_image = conn.compute.wait_for_server(from_image, status="ACTIVE", wait=120, interval=1)
    copies = {v["id"]: v["delete_on_termination"] for v in conn.compute.get_server(from_image.id).attached_volumes}
    assert len(copies) == 2 and not set(copies) & set(attached) and all(copies.values())

    for each in (server, from_image):
        conn.compute.delete_server(each)
        conn.compute.wait_for_delete(each, wait=60, interval=1)
    wait_for(lambda: volume(volume_id).get("status") == "available", timeout=60, what="the boot volume kept")
    for gone_id in (blank_id, *copies):
        wait_for(lambda: conn.compute.get(f"/os-volumes/{gone_id}").status_code == 404, timeout=60,
                 what=f"volume {gone_id} deleted with its server")
