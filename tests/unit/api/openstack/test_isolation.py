"""A project never sees or touches another's servers, key pairs, groups or addresses: 404 on every route."""

import pytest

from nova.db import api as db
from tests.unit.api.openstack.conftest import ADMIN, fault_of, make_active


@pytest.fixture
def alices(osapi):
    """Alice's server (placed and active), key pair, group, rule and floating address."""
    server = osapi.create_server()
    make_active(server["id"])
    osapi.post("/os-keypairs", {"keypair": {"name": "k"}})
    group = osapi.post("/os-security-groups", {"security_group": {"name": "g", "description": "d"}}).json()[
        "security_group"]
    rule = osapi.post("/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 1, "to_port": 2,
        "cidr": "10.0.0.0/8"}}).json()["security_group_rule"]
    floating = db.floating_ip_create(ADMIN, {"address": "192.0.2.77", "host": "test-host", "project_id": "proj-a"})
    return {"server": server["id"], "group": group["id"], "rule": rule["id"], "floating": floating["id"]}


ROUTES = [
    ("GET", "/servers/{server}", None),
    ("PUT", "/servers/{server}", {"server": {"name": "mine"}}),
    ("DELETE", "/servers/{server}", None),
    ("GET", "/servers/{server}/ips", None),
    ("GET", "/servers/{server}/ips/net0", None),
    *[("POST", "/servers/{server}/action", {action: arg}) for action, arg in (
        ("os-start", None), ("os-stop", None), ("reboot", {"type": "SOFT"}), ("pause", None), ("unpause", None),
        ("suspend", None), ("resume", None), ("createImage", {"name": "x"}), ("os-getConsoleOutput", {}),
        ("addFloatingIp", {"address": "192.0.2.77"}), ("removeFloatingIp", {"address": "192.0.2.77"}))],
    ("GET", "/os-keypairs/k", None),
    ("DELETE", "/os-keypairs/k", None),
    ("GET", "/os-security-groups/{group}", None),
    ("DELETE", "/os-security-groups/{group}", None),
    ("POST", "/os-security-group-rules", {"security_group_rule": {"parent_group_id": "{group}",
                                                                  "ip_protocol": "tcp", "from_port": 5,
                                                                  "to_port": 5}}),
    ("DELETE", "/os-security-group-rules/{rule}", None),
    ("GET", "/os-floating-ips/{floating}", None),
    ("DELETE", "/os-floating-ips/{floating}", None),
]


@pytest.mark.parametrize("method, path, body", ROUTES, ids=[f"{m} {p} {sorted(b or {})}" for m, p, b in ROUTES])
def test_other_projects_ids_are_404(osapi, alices, method, path, body):
    path = path.format(**alices)
    if body and "security_group_rule" in body:
        body = {"security_group_rule": dict(body["security_group_rule"], parent_group_id=alices["group"])}
    response = osapi.request(method, path, json=body, user="bob")
    assert fault_of(response) == ("itemNotFound", 404), response.text
    assert osapi.get(f"/servers/{alices['server']}").json()["server"]["name"] == "vm"
    assert osapi.get("/os-keypairs/k").status_code == 200
    assert osapi.get(f"/os-security-groups/{alices['group']}").status_code == 200
    assert osapi.get(f"/os-floating-ips/{alices['floating']}").status_code == 200


def test_listings_show_only_own(osapi, alices):
    assert osapi.get("/servers/detail", user="bob").json()["servers"] == []
    assert osapi.get("/os-keypairs", user="bob").json()["keypairs"] == []
    assert {g["name"] for g in osapi.get("/os-security-groups", user="bob").json()["security_groups"]} == \
        {"default"}
    assert osapi.get("/os-floating-ips", user="bob").json()["floating_ips"] == []
    # carol is in proj-a: she sees the project's server, but key pairs are per user.
    assert len(osapi.get("/servers", user="carol").json()["servers"]) == 1
    assert osapi.get("/os-keypairs", user="carol").json()["keypairs"] == []


def test_wrong_state_is_409_and_unknown_is_404(osapi, alices):
    assert fault_of(osapi.post(f"/servers/{alices['server']}/action", {"os-start": None})) == ("conflict", 409)
    assert fault_of(osapi.post(f"/servers/{alices['server']}/action", {"resume": None})) == ("conflict", 409)
    for path in ("/servers/00000000-0000-0000-0000-000000000000", "/servers/x" * 30, "/os-keypairs/none",
                 "/os-security-groups/9999", "/os-security-groups/abc", "/os-floating-ips/9999",
                 "/images/9999", "/flavors/9999", "/images/99999999999999999999",
                 "/os-security-groups/99999999999999999999", "/flavors/99999999999999999999"):
        assert fault_of(osapi.get(path)) == ("itemNotFound", 404), path
