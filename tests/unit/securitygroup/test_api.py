"""The security-group service API: groups, rule validation, source groups, quotas, listings."""

import pytest

from nova import context, exception, quota
from nova.db import api as db
from nova.securitygroup import api as security_group_api
from nova.tag import api as tag_api

ADMIN = context.get_admin_context()
ALICE = context.RequestContext("alice", "proj-a")
BOB = context.RequestContext("bob", "proj-b")


def ssh(**extra):
    return dict({"protocol": "tcp", "from_port": 22, "to_port": 22}, **extra)


def test_create_delete_and_default(db_url):
    api = security_group_api.API()
    group = api.create(ALICE, "web", "web servers", {"Name": "web"})
    assert [g["name"] for g in api.get_all(ALICE)] == ["default", "web"]
    with pytest.raises(exception.SecurityGroupExists):
        api.create(ALICE, "web", "again")
    with pytest.raises(exception.SecurityGroupCannotDelete):
        api.delete(ALICE, api.get_by_name(ALICE, "default")["id"])
    with pytest.raises(exception.SecurityGroupNotFound):
        api.delete(BOB, group["id"])
    api.delete(ALICE, group["id"])
    assert [g["name"] for g in api.get_all(ALICE)] == ["default"]
    assert tag_api.API().get_by_resources(ALICE, "security-group", [group["id"]]) == {}


def test_group_in_use_is_not_deleted(db_url):
    api = security_group_api.API()
    group = api.create(ALICE, "web", "web servers")
    instance = db.instance_create(ALICE, {"project_id": "proj-a", "user_id": "alice"})
    db.instance_add_security_group(ALICE, instance["id"], group["id"])
    with pytest.raises(exception.SecurityGroupInUse):
        api.delete(ALICE, group["id"])


def test_group_quota(db_url):
    quota.set_project_quota(ADMIN, "proj-a", "security_groups", 2)
    api = security_group_api.API()
    api.create(ALICE, "one", "one")  # with "default", two groups
    with pytest.raises(exception.SecurityGroupLimitExceeded):
        api.create(ALICE, "two", "two")


def test_authorize_revoke_and_rule_values(db_url):
    api = security_group_api.API()
    web = api.create(ALICE, "web", "web")
    default = api.ensure_default(ALICE)
    api.authorize(ALICE, web["id"], [ssh(cidrs=["10.1.2.3/8"], source_groups=[{"name": "default"}]),
                                     {"protocol": "icmp", "from_port": -1, "to_port": -1}])
    rules = {(r["protocol"], r["cidr"], r["group_id"]) for r in db.security_group_rule_get_by_security_group(
        ALICE, web["id"])}
    assert rules == {("tcp", "10.0.0.0/8", None), ("tcp", None, default["id"]), ("icmp", "0.0.0.0/0", None)}
    with pytest.raises(exception.SecurityGroupRuleExists):
        api.authorize(ALICE, web["id"], [ssh(cidrs=["10.0.0.0/8"])])
    api.revoke(ALICE, web["id"], [ssh(source_groups=[{"id": default["id"]}])])
    with pytest.raises(exception.SecurityGroupRuleNotInGroup):
        api.revoke(ALICE, web["id"], [ssh(source_groups=[{"id": default["id"]}])])
    assert len(db.security_group_rule_get_by_security_group(ALICE, web["id"])) == 2


@pytest.mark.parametrize("request_, error", [
    (ssh(protocol="gre"), exception.InvalidSecurityGroupRule),
    (ssh(from_port=None), exception.MissingParameter),
    (ssh(from_port=80, to_port=22), exception.InvalidSecurityGroupRule),
    (ssh(to_port=70000), exception.InvalidSecurityGroupRule),
    ({"protocol": "icmp", "from_port": 300, "to_port": 0}, exception.InvalidSecurityGroupRule),
    (ssh(cidrs=["10.0.0.300/8"]), exception.InvalidSecurityGroupRule),
    (ssh(cidrs=["fd00::/8"]), exception.InvalidSecurityGroupRule),
    (ssh(source_groups=[{"name": "nope"}]), exception.SecurityGroupNotFound),
    (ssh(source_groups=[{"name": "default", "owner": "proj-b"}]), exception.SecurityGroupNotFound),
    (ssh(source_groups=[{}]), exception.MissingParameter),
])
def test_bad_rules(db_url, request_, error):
    api = security_group_api.API()
    web = api.create(ALICE, "web", "web")
    security_group_api.API().ensure_default(BOB)
    with pytest.raises(error):
        api.authorize(ALICE, web["id"], [request_])


def test_rule_quota(db_url):
    quota.set_project_quota(ADMIN, "proj-a", "security_group_rules", 2)
    api = security_group_api.API()
    web = api.create(ALICE, "web", "web")
    with pytest.raises(exception.SecurityGroupRuleLimitExceeded):
        api.authorize(ALICE, web["id"], [ssh(cidrs=["10.0.0.0/8", "11.0.0.0/8", "12.0.0.0/8"])])
    api.authorize(ALICE, web["id"], [ssh(cidrs=["10.0.0.0/8", "11.0.0.0/8"])])


def test_listing_scope_names_and_source_group_names(db_url):
    api = security_group_api.API()
    web = api.create(ALICE, "web", "web")
    bob_default = api.ensure_default(BOB)
    api.authorize(ADMIN, web["id"], [ssh(source_groups=[{"name": "default", "owner": "proj-b"}])])
    groups = api.get_all(ALICE, names=["web"])
    assert [g["name"] for g in groups] == ["web"] and len(groups[0].rules) == 1
    assert api.source_group_names(ALICE, groups) == {web["id"]: ("web", "proj-a")}
    assert api.source_group_names(ADMIN, groups)[bob_default["id"]] == ("default", "proj-b")
    with pytest.raises(exception.SecurityGroupNameNotFound):
        api.get_all(BOB, names=["web"])
    with pytest.raises(exception.SecurityGroupNotFound):
        api.get_all(BOB, ids=[web["id"]])
    assert db.security_group_count_by_project(ALICE, "proj-a") == 2


def test_every_protocol_rule_and_revoke_with_missing_rules(db_url):
    api = security_group_api.API()
    web = api.create(ALICE, "web", "web")
    api.authorize(ALICE, web["id"], [{"protocol": "-1", "from_port": 1, "to_port": 2, "cidrs": ["10.0.0.0/8"]},
                                     ssh(cidrs=["10.0.0.0/8"])])
    rules = {(r["protocol"], r["from_port"], r["to_port"], r["cidr"])
             for r in db.security_group_rule_get_by_security_group(ALICE, web["id"])}
    assert rules == {(None, None, None, "10.0.0.0/8"), ("tcp", 22, 22, "10.0.0.0/8")}
    unknown = api.revoke(ALICE, web["id"], [{"protocol": "all", "cidrs": ["10.0.0.0/8"]}, ssh(cidrs=["10.9.0.0/16"])],
                         missing_ok=True)
    assert [(u["protocol"], u["from_port"], u["cidr"]) for u in unknown] == [("tcp", 22, "10.9.0.0/16")]
    assert [r["protocol"] for r in db.security_group_rule_get_by_security_group(ALICE, web["id"])] == ["tcp"]
    with pytest.raises(exception.SecurityGroupRuleNotInGroup):
        api.revoke(ALICE, web["id"], [ssh(cidrs=["10.9.0.0/16"])])
