"""Security group db functions: project scoping, uniqueness, soft deletion."""

import pytest

from nova import context, exception
from nova.db import api as db

ADMIN = context.get_admin_context()


def ctx(project: str, user: str = "alice") -> context.RequestContext:
    return context.RequestContext(user, project)


def test_create_get_by_name_and_project(db_url):
    a = ctx("proj-a")
    group = db.security_group_create(a, {"name": "web", "description": "web servers"})
    assert group["project_id"] == "proj-a" and group["user_id"] == "alice"
    assert db.security_group_get(a, group["id"])["name"] == "web"
    assert db.security_group_get_by_name(a, "proj-a", "web")["id"] == group["id"]
    assert [g["name"] for g in db.security_group_get_by_project(a, "proj-a")] == ["web"]
    assert db.security_group_exists(a, "proj-a", "web")
    assert not db.security_group_exists(a, "proj-a", "db")


def test_name_is_unique_per_project_only_among_live_groups(db_url):
    a, b = ctx("proj-a"), ctx("proj-b", "bob")
    first = db.security_group_create(a, {"name": "web"})
    with pytest.raises(exception.SecurityGroupExists):
        db.security_group_create(a, {"name": "web"})
    db.security_group_create(b, {"name": "web"})
    db.security_group_destroy(a, first["id"])
    assert db.security_group_create(a, {"name": "web"})["id"] != first["id"]


def test_other_projects_groups_are_invisible_and_untouchable(db_url):
    a, b = ctx("proj-a"), ctx("proj-b", "bob")
    group = db.security_group_create(a, {"name": "web"})
    with pytest.raises(exception.SecurityGroupNotFound):
        db.security_group_get(b, group["id"])
    with pytest.raises(exception.SecurityGroupNotFound):
        db.security_group_destroy(b, group["id"])
    with pytest.raises(exception.NotAuthorized):
        db.security_group_get_by_project(b, "proj-a")
    with pytest.raises(exception.NotAuthorized):
        db.security_group_create(b, {"name": "x", "project_id": "proj-a"})
    with pytest.raises(exception.SecurityGroupNotFound):
        db.security_group_rule_create(b, {"parent_group_id": group["id"], "protocol": "tcp",
                                          "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0"})
    assert db.security_group_get_all(b) == []
    assert [g["id"] for g in db.security_group_get_all(ADMIN)] == [group["id"]]


def test_rules_by_group_and_grantee_and_their_deletion(db_url):
    a = ctx("proj-a")
    web = db.security_group_create(a, {"name": "web"})
    admin_group = db.security_group_create(a, {"name": "admins"})
    ssh = db.security_group_rule_create(a, {"parent_group_id": web["id"], "protocol": "tcp",
                                            "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/8"})
    granted = db.security_group_rule_create(a, {"parent_group_id": web["id"], "protocol": "tcp",
                                                "from_port": 80, "to_port": 80, "group_id": admin_group["id"]})
    assert [r["id"] for r in db.security_group_get(a, web["id"]).rules] == [ssh["id"], granted["id"]]
    assert [r["from_port"] for r in db.security_group_rule_get_by_security_group(a, web["id"])] == [22, 80]
    assert [r["id"] for r in db.security_group_rule_get_by_security_group_grantee(a, admin_group["id"])] == [
        granted["id"]]
    db.security_group_rule_destroy(a, ssh["id"])
    with pytest.raises(exception.SecurityGroupRuleNotFound):
        db.security_group_rule_get(a, ssh["id"])
    # Deleting the granted group deletes the rules granting it.
    db.security_group_destroy(a, admin_group["id"])
    assert db.security_group_rule_get_by_security_group(a, web["id"]) == []


def test_instance_membership_and_in_use(db_url):
    a = ctx("proj-a")
    group = db.security_group_create(a, {"name": "default"})
    instance = db.instance_create(a, {"vm_state": "building"})
    assert not db.security_group_in_use(a, group["id"])
    db.instance_add_security_group(a, instance["id"], group["id"])
    db.instance_add_security_group(a, instance["id"], group["id"])
    assert [g["name"] for g in db.security_group_get_by_instance(a, instance["id"])] == ["default"]
    assert [g["name"] for g in db.instance_get(a, instance["id"]).security_groups] == ["default"]
    assert [i["id"] for i in db.security_group_get_instances(a, group["id"])] == [instance["id"]]
    assert db.security_group_in_use(a, group["id"])
    db.instance_destroy(a, instance["id"])
    assert not db.security_group_in_use(a, group["id"])
