"""Flavors, images, key pairs, limits, security groups, pools, zones, quota sets, services, hypervisors."""

from nova import context
from nova.db import api as db
from tests.unit.api.openstack.conftest import fault_of

ADMIN = context.get_admin_context()


def test_flavors(osapi):
    listed = osapi.get("/flavors").json()["flavors"]
    assert {"m1.tiny", "m1.small"} <= {f["name"] for f in listed} and set(listed[0]) == {"id", "name", "links"}
    tiny = osapi.get("/flavors/1").json()["flavor"]
    assert (tiny["name"], tiny["ram"], tiny["vcpus"], tiny["disk"]) == ("m1.tiny", 512, 1, 0)
    assert tiny["OS-FLV-DISABLED:disabled"] is False and tiny["os-flavor-access:is_public"] is True
    detail = osapi.get("/flavors/detail?minRam=2048").json()["flavors"]
    assert detail and all(f["ram"] >= 2048 for f in detail)
    assert fault_of(osapi.get("/flavors/999")) == ("itemNotFound", 404)
    assert fault_of(osapi.get("/flavors/m1.tiny")) == ("itemNotFound", 404)
    body = {"flavor": {"name": "m1.custom", "ram": 256, "vcpus": 1, "disk": 2, "id": "42"}}
    assert fault_of(osapi.post("/flavors", body)) == ("forbidden", 403)
    created = osapi.post("/flavors", body, user="root").json()["flavor"]
    assert (created["id"], created["ram"], created["disk"]) == ("42", 256, 2)
    assert fault_of(osapi.post("/flavors", body, user="root")) == ("conflict", 409)
    assert fault_of(osapi.post("/flavors", {"flavor": {"name": "x", "ram": "lots", "vcpus": 1, "disk": 0}},
                               user="root")) == ("badRequest", 400)
    assert fault_of(osapi.request("DELETE", "/flavors/42")) == ("forbidden", 403)
    assert osapi.request("DELETE", "/flavors/42", user="root").status_code == 202
    assert fault_of(osapi.get("/flavors/42")) == ("itemNotFound", 404)


def test_images(osapi):
    listed = osapi.get("/images").json()["images"]
    assert [i["id"] for i in listed] == [osapi.image_id]
    image = osapi.get(f"/images/{osapi.image_id}").json()["image"]
    assert image["name"] == "cirros" and image["status"] == "ACTIVE" and image["progress"] == 100
    assert osapi.get("/images/detail?name=cirros").json()["images"][0]["OS-EXT-IMG-SIZE:size"] > 0
    assert fault_of(osapi.get("/images/9999")) == ("itemNotFound", 404)
    assert fault_of(osapi.get("/images/not-an-id")) == ("itemNotFound", 404)
    assert fault_of(osapi.request("DELETE", f"/images/{osapi.image_id}")) == ("forbidden", 403)
    assert osapi.request("DELETE", f"/images/{osapi.image_id}", user="root").status_code == 204
    assert osapi.get("/images").json() == {"images": []}


def test_keypairs(osapi):
    created = osapi.post("/os-keypairs", {"keypair": {"name": "gen"}}).json()["keypair"]
    assert "PRIVATE KEY" in created["private_key"] and created["public_key"].startswith("ssh-")
    assert created["user_id"] == "alice" and created["type"] == "ssh" and created["fingerprint"]
    imported = osapi.post("/os-keypairs", {"keypair": {"name": "imp", "public_key": created["public_key"]}})
    assert imported.status_code == 200 and "private_key" not in imported.json()["keypair"]
    listed = osapi.get("/os-keypairs").json()["keypairs"]
    assert [k["keypair"]["name"] for k in listed] == ["gen", "imp"]
    shown = osapi.get("/os-keypairs/gen").json()["keypair"]
    assert shown["public_key"] == created["public_key"] and shown["user_id"] == "alice"
    assert fault_of(osapi.post("/os-keypairs", {"keypair": {"name": "gen"}})) == ("conflict", 409)
    assert fault_of(osapi.post("/os-keypairs", {"keypair": {"name": "bad", "public_key": "junk"}})) == \
        ("badRequest", 400)
    assert fault_of(osapi.post("/os-keypairs", {"keypair": {}})) == ("badRequest", 400)
    assert osapi.request("DELETE", "/os-keypairs/gen").status_code == 202
    assert fault_of(osapi.get("/os-keypairs/gen")) == ("itemNotFound", 404)
    assert fault_of(osapi.request("DELETE", "/os-keypairs/gen")) == ("itemNotFound", 404)


def test_limits(osapi):
    osapi.create_server()
    limits = osapi.get("/limits").json()["limits"]
    assert limits["rate"] == []
    absolute = limits["absolute"]
    assert absolute["maxTotalInstances"] == 10 and absolute["totalInstancesUsed"] == 1
    assert absolute["totalCoresUsed"] == 1 and absolute["totalRAMUsed"] == 512
    assert {"maxTotalCores", "maxTotalRAMSize", "maxTotalKeypairs", "maxSecurityGroups",
            "maxTotalFloatingIps", "totalFloatingIpsUsed", "totalSecurityGroupsUsed"} <= set(absolute)


def test_security_groups_and_rules(osapi):
    created = osapi.post("/os-security-groups", {"security_group": {"name": "web", "description": "w"}})
    group = created.json()["security_group"]
    assert (group["name"], group["description"], group["tenant_id"], group["rules"]) == ("web", "w", "proj-a", [])
    names = {g["name"] for g in osapi.get("/os-security-groups").json()["security_groups"]}
    assert names == {"default", "web"}
    rule = osapi.post("/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 22, "to_port": 22,
        "cidr": "10.0.0.0/8"}}).json()["security_group_rule"]
    assert rule["ip_range"] == {"cidr": "10.0.0.0/8"} and rule["parent_group_id"] == group["id"]
    default = [g for g in osapi.get("/os-security-groups").json()["security_groups"] if g["name"] == "default"][0]
    by_group = osapi.post("/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "udp", "from_port": 53, "to_port": 53,
        "group_id": default["id"]}}).json()["security_group_rule"]
    assert by_group["group"] == {"name": "default", "tenant_id": "proj-a"}
    shown = osapi.get(f"/os-security-groups/{group['id']}").json()["security_group"]
    assert len(shown["rules"]) == 2
    bad = {"parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 99999, "to_port": 1}
    assert fault_of(osapi.post("/os-security-group-rules", {"security_group_rule": bad})) == ("badRequest", 400)
    assert fault_of(osapi.post("/os-security-groups", {"security_group": {"name": "web", "description": ""}})) \
        == ("conflict", 409)
    assert osapi.request("DELETE", f"/os-security-group-rules/{rule['id']}").status_code == 202
    assert fault_of(osapi.request("DELETE", f"/os-security-group-rules/{rule['id']}")) == ("itemNotFound", 404)
    assert fault_of(osapi.request("DELETE", f"/os-security-groups/{default['id']}")) == ("badRequest", 400)
    assert osapi.request("DELETE", f"/os-security-groups/{group['id']}").status_code == 202
    assert fault_of(osapi.get(f"/os-security-groups/{group['id']}")) == ("itemNotFound", 404)


def test_pools_and_zones(osapi):
    db.service_create(ADMIN, {"host": "host-z", "binary": "nova-compute", "topic": "compute",
                              "availability_zone": "zone-z"})
    assert osapi.get("/os-floating-ip-pools").json() == {"floating_ip_pools": [{"name": "nova"}]}
    zones = osapi.get("/os-availability-zone").json()["availabilityZoneInfo"]
    assert {z["zoneName"] for z in zones} == {"nova", "zone-z"} and zones[0]["zoneState"] == {"available": True}
    assert fault_of(osapi.get("/os-availability-zone/detail")) == ("forbidden", 403)
    detail = {z["zoneName"]: z for z in osapi.get("/os-availability-zone/detail", user="root").json()[
        "availabilityZoneInfo"]}
    assert set(detail["zone-z"]["hosts"]["host-z"]["nova-compute"]) == {"available", "active", "updated_at"}


def test_quota_sets(osapi):
    mine = osapi.get("/os-quota-sets/proj-a").json()["quota_set"]
    assert mine["id"] == "proj-a" and mine["instances"] == 10 and mine["key_pairs"] == 100
    assert osapi.get("/os-quota-sets/proj-a/defaults").json()["quota_set"]["cores"] == 20
    assert fault_of(osapi.get("/os-quota-sets/proj-b")) == ("forbidden", 403)
    assert fault_of(osapi.request("PUT", "/os-quota-sets/proj-a", json={"quota_set": {"instances": 3}})) == \
        ("forbidden", 403)
    updated = osapi.request("PUT", "/os-quota-sets/proj-b", json={"quota_set": {"instances": 3}}, user="root")
    assert updated.status_code == 200 and updated.json()["quota_set"]["instances"] == 3
    assert osapi.get("/os-quota-sets/proj-b", user="root").json()["quota_set"]["instances"] == 3
    assert fault_of(osapi.request("PUT", "/os-quota-sets/proj-b", json={"quota_set": {"nope": 3}},
                                  user="root")) == ("badRequest", 400)
    assert fault_of(osapi.request("PUT", "/os-quota-sets/nowhere", json={"quota_set": {"instances": 3}},
                                  user="root")) == ("itemNotFound", 404)


def test_services_and_hypervisors(osapi):
    row = db.service_create(ADMIN, {"host": "host-c", "binary": "nova-compute", "topic": "compute"})
    db.compute_node_create(ADMIN, {"service_id": row["id"], "vcpus": 4, "memory_mb": 4096, "local_gb": 40,
                                   "vcpus_used": 0, "memory_mb_used": 0, "local_gb_used": 0,
                                   "hypervisor_type": "fake", "hypervisor_version": 1, "cpu_info": "{}"})
    for path in ("/os-services", "/os-hypervisors", "/os-hypervisors/detail"):
        assert fault_of(osapi.get(path)) == ("forbidden", 403)
    services = osapi.get("/os-services", user="root").json()["services"]
    assert [(s["host"], s["binary"], s["status"]) for s in services] == [("host-c", "nova-compute", "enabled")]
    assert services[0]["state"] in ("up", "down") and services[0]["zone"]
    body = {"host": "host-c", "binary": "nova-compute"}
    assert fault_of(osapi.request("PUT", "/os-services/disable", json=body)) == ("forbidden", 403)
    disabled = osapi.request("PUT", "/os-services/disable", json=body, user="root").json()["service"]
    assert disabled == dict(body, status="disabled")
    assert osapi.get("/os-services?host=host-c", user="root").json()["services"][0]["status"] == "disabled"
    assert osapi.request("PUT", "/os-services/enable", json=body, user="root").json()["service"]["status"] == \
        "enabled"
    assert fault_of(osapi.request("PUT", "/os-services/enable", json={"host": "x", "binary": "y"},
                                  user="root")) == ("itemNotFound", 404)
    hypervisors = osapi.get("/os-hypervisors", user="root").json()["hypervisors"]
    assert [h["hypervisor_hostname"] for h in hypervisors] == ["host-c"]
    shown = osapi.get(f"/os-hypervisors/{hypervisors[0]['id']}", user="root").json()["hypervisor"]
    assert (shown["vcpus"], shown["memory_mb"], shown["local_gb"], shown["running_vms"]) == (4, 4096, 40, 0)
    assert fault_of(osapi.get("/os-hypervisors/999", user="root")) == ("itemNotFound", 404)
