"""A project lists only its own servers, key pairs, groups and addresses.

Every route with another project's ids (404, nothing changed) is a row of the cross-tenant matrix,
tests/unit/security/test_cross_tenant_matrix.py."""

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
