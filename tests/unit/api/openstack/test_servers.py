"""Servers through the OpenStack API with scheduler, compute (fake) and network in process."""

import base64

import boto3
import pytest

from nova import wsgi
from tests.fixtures.rpc import wait_for
from tests.unit.api.openstack.conftest import fault_of, wait_status


@pytest.fixture
def ec2_port(osapi):
    server = wsgi.Server("ec2", wsgi.load_paste_app("ec2"), "127.0.0.1", 0)
    server.start()
    yield server.port
    server.stop()


def test_create_to_active_and_show(cloud):
    cloud.post("/os-keypairs", {"keypair": {"name": "k"}})
    created = cloud.create_server(name="web", key_name="k", metadata={"role": "web"},
                                  user_data=base64.b64encode(b"#!/bin/sh\n").decode(),
                                  security_groups=[{"name": "default"}], availability_zone="nova")
    assert created["links"][0]["href"].endswith(f"/v2.1/servers/{created['id']}")
    assert created["security_groups"] == [{"name": "default"}] and created["OS-DCF:diskConfig"] == "MANUAL"
    server = wait_status(cloud, created["id"], "ACTIVE")
    assert server["name"] == "web" and server["key_name"] == "k" and server["metadata"] == {"role": "web"}
    assert server["tenant_id"] == "proj-a" and server["user_id"] == "alice"
    assert server["image"]["id"] == cloud.image_id and server["flavor"]["id"] == "1"
    assert server["OS-EXT-STS:vm_state"] == "active" and server["OS-EXT-STS:power_state"] == 1
    assert server["OS-EXT-AZ:availability_zone"] == "nova" and server["hostId"]
    (label, addresses), = server["addresses"].items()
    assert addresses[0]["version"] == 4 and addresses[0]["OS-EXT-IPS:type"] == "fixed"
    assert addresses[0]["OS-EXT-IPS-MAC:mac_addr"].count(":") == 5
    assert "OS-EXT-SRV-ATTR:host" not in server
    assert cloud.get(f"/servers/{created['id']}", user="root").json()["server"]["OS-EXT-SRV-ATTR:host"]
    ips = cloud.get(f"/servers/{created['id']}/ips").json()["addresses"]
    assert ips == server["addresses"]
    assert cloud.get(f"/servers/{created['id']}/ips/{label}").json() == {label: addresses}
    assert fault_of(cloud.get(f"/servers/{created['id']}/ips/nonet")) == ("itemNotFound", 404)


def test_list_filters_and_pages(cloud):
    ids = [cloud.create_server(name=f"vm-{n}")["id"] for n in range(3)]
    for server_id in ids:
        wait_status(cloud, server_id, "ACTIVE")
    listed = cloud.get("/servers").json()["servers"]
    assert sorted(s["id"] for s in listed) == sorted(ids) and set(listed[0]) == {"id", "name", "links"}
    assert [s["name"] for s in cloud.get("/servers?name=vm-1").json()["servers"]] == ["vm-1"]
    assert len(cloud.get("/servers/detail?status=ACTIVE").json()["servers"]) == 3
    assert cloud.get("/servers/detail?status=SHUTOFF").json()["servers"] == []
    assert len(cloud.get(f"/servers?image={cloud.image_id}&flavor=1").json()["servers"]) == 3
    assert cloud.get("/servers?flavor=2").json()["servers"] == []
    assert len(cloud.get("/servers?changes-since=2000-01-01T00:00:00Z").json()["servers"]) == 3
    first = cloud.get("/servers/detail?limit=2").json()
    assert len(first["servers"]) == 2 and first["servers_links"][0]["rel"] == "next"
    rest = cloud.get(f"/servers/detail?limit=2&marker={first['servers'][1]['id']}").json()
    assert len(rest["servers"]) == 1 and "servers_links" not in rest
    assert {s["id"] for s in first["servers"] + rest["servers"]} == set(ids)
    assert fault_of(cloud.get("/servers?marker=nope")) == ("badRequest", 400)
    assert fault_of(cloud.get("/servers?limit=x")) == ("badRequest", 400)
    assert fault_of(cloud.get("/servers?changes-since=yesterday")) == ("badRequest", 400)
    assert cloud.get("/servers", user="bob").json()["servers"] == []


def test_update_and_delete(cloud):
    server_id = cloud.create_server()["id"]
    wait_status(cloud, server_id, "ACTIVE")
    response = cloud.request("PUT", f"/servers/{server_id}", json={"server": {"name": "renamed"}})
    assert response.status_code == 200 and response.json()["server"]["name"] == "renamed"
    assert fault_of(cloud.request("PUT", f"/servers/{server_id}", json={"server": {"bogus": 1}}))[1] == 400
    assert cloud.request("DELETE", f"/servers/{server_id}").status_code == 204
    wait_for(lambda: cloud.get(f"/servers/{server_id}").status_code == 404)
    assert fault_of(cloud.get(f"/servers/{server_id}")) == ("itemNotFound", 404)
    assert cloud.get("/servers").json()["servers"] == []


def test_actions_move_the_status(cloud):
    server_id = cloud.create_server()["id"]
    wait_status(cloud, server_id, "ACTIVE")

    def act(body):
        return cloud.post(f"/servers/{server_id}/action", body)

    assert fault_of(act({"os-start": None})) == ("conflict", 409)
    for action, status in (("os-stop", "SHUTOFF"), ("os-start", "ACTIVE"), ("pause", "PAUSED"),
                           ("unpause", "ACTIVE"), ("suspend", "SUSPENDED"), ("resume", "ACTIVE")):
        response = act({action: None})
        assert response.status_code == 202, (action, response.text)
        wait_status(cloud, server_id, status)
    for kind in ("SOFT", "HARD"):
        assert act({"reboot": {"type": kind}}).status_code == 202
        wait_status(cloud, server_id, "ACTIVE")
    assert fault_of(act({"reboot": {"type": "GENTLE"}})) == ("badRequest", 400)
    assert fault_of(act({"reboot": {}})) == ("badRequest", 400)
    assert fault_of(act({"explode": {}})) == ("badRequest", 400)
    assert fault_of(act({"os-stop": None, "os-start": None})) == ("badRequest", 400)
    output = act({"os-getConsoleOutput": {"length": 1}})
    assert output.status_code == 200 and output.json()["output"].count("\n") == 0
    assert act({"os-getConsoleOutput": {}}).json()["output"]


def test_create_image(cloud):
    server_id = cloud.create_server()["id"]
    wait_status(cloud, server_id, "ACTIVE")
    response = cloud.post(f"/servers/{server_id}/action", {"createImage": {"name": "snap"}})
    assert response.status_code == 202
    image_id = response.json()["image_id"]
    assert response.headers["Location"].endswith(f"/images/{image_id}")
    image = cloud.get(f"/images/{image_id}").json()["image"]
    assert image["name"] == "snap" and image["status"] in ("SAVING", "ACTIVE")
    assert fault_of(cloud.post(f"/servers/{server_id}/action", {"createImage": {}})) == ("badRequest", 400)


def test_floating_ip_on_a_server(cloud):
    server_id = cloud.create_server()["id"]
    wait_status(cloud, server_id, "ACTIVE")
    floating = cloud.post("/os-floating-ips", {"pool": "nova"}).json()["floating_ip"]
    assert floating["pool"] == "nova" and floating["instance_id"] is None
    assert cloud.post(f"/servers/{server_id}/action", {"addFloatingIp": {"address": floating["ip"]}}).status_code == 202
    shown = cloud.get(f"/os-floating-ips/{floating['id']}").json()["floating_ip"]
    assert shown["instance_id"] == server_id and shown["fixed_ip"]
    addresses = [a for nets in cloud.get(f"/servers/{server_id}").json()["server"]["addresses"].values()
                 for a in nets]
    assert {"floating", "fixed"} == {a["OS-EXT-IPS:type"] for a in addresses}
    assert fault_of(cloud.post(f"/servers/{server_id}/action",
                               {"addFloatingIp": {"address": "203.0.113.9"}})) == ("itemNotFound", 404)
    response = cloud.post(f"/servers/{server_id}/action", {"removeFloatingIp": {"address": floating["ip"]}})
    assert response.status_code == 202
    assert cloud.get(f"/os-floating-ips/{floating['id']}").json()["floating_ip"]["instance_id"] is None
    assert cloud.request("DELETE", f"/os-floating-ips/{floating['id']}").status_code == 202
    assert cloud.get("/os-floating-ips").json() == {"floating_ips": []}


@pytest.mark.parametrize("body, fault", [
    ({"imageRef": "999", "flavorRef": "1"}, "badRequest"),
    ({"imageRef": "x", "flavorRef": "1"}, "badRequest"),
    ({"flavorRef": "1"}, "badRequest"),
    ({"imageRef": "IMAGE", "flavorRef": "77"}, "itemNotFound"),
    ({"imageRef": "IMAGE", "flavorRef": "1", "key_name": "missing"}, "badRequest"),
    ({"imageRef": "IMAGE", "flavorRef": "1", "security_groups": [{"name": "missing"}]}, "badRequest"),
    ({"imageRef": "IMAGE", "flavorRef": "1", "user_data": "%%%"}, "badRequest"),
    ({"imageRef": "IMAGE", "flavorRef": "1", "min_count": 3, "max_count": 2}, "badRequest"),
    ({"imageRef": "IMAGE", "flavorRef": "1", "metadata": "x"}, "badRequest"),
    ({"imageRef": "IMAGE", "flavorRef": "1", "min_count": 11}, "forbidden"),
])
def test_bad_creates(osapi, body, fault):
    body = dict(body, name="vm")
    if body.get("imageRef") == "IMAGE":
        body["imageRef"] = osapi.image_id
    response = osapi.post("/servers", {"server": body})
    assert fault_of(response)[0] == fault
    assert osapi.get("/servers").json()["servers"] == []


def test_reservation_id_and_counts(osapi):
    response = osapi.post("/servers", {"server": {"name": "many", "imageRef": osapi.image_id, "flavorRef": "1",
                                                  "min_count": 2, "max_count": 2, "return_reservation_id": True}})
    assert response.status_code == 202 and response.json()["reservation_id"].startswith("r-")
    assert len(osapi.get("/servers").json()["servers"]) == 2


def test_visible_through_ec2_both_ways(osapi, ec2_port):
    ec2 = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{ec2_port}/services/Cloud", region_name="nova",
                       aws_access_key_id="AK-ALICE", aws_secret_access_key="SK-ALICE")
    made_here = osapi.create_server(name="from-os")["id"]
    reservation = ec2.run_instances(ImageId="ami-%08x" % int(osapi.image_id), MinCount=1, MaxCount=1)
    ec2_ids = {i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    assert len(ec2_ids) == 2 and reservation["Instances"][0]["InstanceId"] in ec2_ids
    servers = osapi.get("/servers/detail").json()["servers"]
    assert len(servers) == 2 and made_here in {s["id"] for s in servers}
    ec2_made = [s for s in servers if s["id"] != made_here][0]
    assert ec2_made["status"] == "BUILD" and ec2_made["image"]["id"] == osapi.image_id

