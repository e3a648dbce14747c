"""Security groups and their ingress rules, per project, netadmin only."""

import pytest
from botocore.exceptions import ClientError

from tests.unit.api.conftest import error_of


def _groups(client):
    return {g["GroupName"]: g for g in client.describe_security_groups()["SecurityGroups"]}


def test_create_authorize_describe_revoke_delete(ec2_env):
    client = ec2_env.client()
    web = client.create_security_group(GroupName="web", Description="web servers")["GroupId"]
    assert web.startswith("sg-")
    client.authorize_security_group_ingress(GroupName="web", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "UserIdGroupPairs": [{"GroupName": "default"}]}])
    client.authorize_security_group_ingress(GroupId=web, IpProtocol="tcp", FromPort=22, ToPort=22,
                                            CidrIp="192.168.1.7/24")
    groups = _groups(client)
    assert set(groups) == {"default", "web"}
    perms = {(p["IpProtocol"], p["FromPort"]): p for p in groups["web"]["IpPermissions"]}
    assert perms[("tcp", 80)]["IpRanges"] == [{"CidrIp": "10.0.0.0/8"}]
    assert perms[("tcp", 22)]["IpRanges"] == [{"CidrIp": "192.168.1.0/24"}]
    assert perms[("icmp", -1)]["UserIdGroupPairs"][0]["GroupName"] == "default"
    assert groups["web"]["OwnerId"] == "proj-a"

    filtered = client.describe_security_groups(Filters=[{"Name": "ip-permission.cidr", "Values": ["10.*"]}])
    assert [g["GroupName"] for g in filtered["SecurityGroups"]] == ["web"]

    with pytest.raises(ClientError) as excinfo:
        client.authorize_security_group_ingress(GroupName="web", IpProtocol="tcp", FromPort=80, ToPort=80,
                                                CidrIp="10.0.0.0/8")
    assert error_of(excinfo) == ("InvalidPermission.Duplicate", 400)
    revoked = client.revoke_security_group_ingress(GroupName="web", IpProtocol="tcp", FromPort=80, ToPort=80,
                                                   CidrIp="10.0.0.0/8")
    assert revoked["Return"] is True and "UnknownIpPermissions" not in revoked
    again = client.revoke_security_group_ingress(GroupName="web", IpProtocol="tcp", FromPort=80, ToPort=80,
                                                 CidrIp="10.0.0.0/8")
    assert again["Return"] is True
    assert again["UnknownIpPermissions"] == [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                                              "IpRanges": [{"CidrIp": "10.0.0.0/8"}], "UserIdGroupPairs": []}]
    with pytest.raises(ClientError) as excinfo:
        client.create_security_group(GroupName="web", Description="again")
    assert error_of(excinfo) == ("InvalidGroup.Duplicate", 400)
    client.delete_security_group(GroupId=web)
    assert set(_groups(client)) == {"default"}
    with pytest.raises(ClientError) as excinfo:
        client.delete_security_group(GroupName="default")
    assert error_of(excinfo)[1] == 400


@pytest.mark.parametrize("rule", [
    {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 22, "CidrIp": "0.0.0.0/0"},
    {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 70000, "CidrIp": "0.0.0.0/0"},
    {"IpProtocol": "gre", "FromPort": 1, "ToPort": 2, "CidrIp": "0.0.0.0/0"},
    {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "CidrIp": "10.0.0.300/8"},
    {"IpProtocol": "tcp", "CidrIp": "10.0.0.0/8"},
    {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "SourceSecurityGroupName": "ghost"},
])
def test_bad_rules_are_client_errors(ec2_env, rule):
    client = ec2_env.client()
    client.create_security_group(GroupName="g", Description="d")
    with pytest.raises(ClientError) as excinfo:
        client.authorize_security_group_ingress(GroupName="g", **rule)
    assert error_of(excinfo)[1] == 400
    assert _groups(client)["g"]["IpPermissions"] == []


def test_groups_are_per_project_and_need_netadmin(ec2_env):
    alice = ec2_env.client()
    alice.create_security_group(GroupName="secret", Description="d")
    bob = ec2_env.client("AK-BOB", "SK-BOB")
    assert "secret" not in _groups(bob)
    for call in (lambda: bob.delete_security_group(GroupName="secret"),
                 lambda: bob.describe_security_groups(GroupNames=["secret"])):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("InvalidGroup.NotFound", 400)
    secret_id = _groups(alice)["secret"]["GroupId"]
    with pytest.raises(ClientError) as excinfo:
        bob.delete_security_group(GroupId=secret_id)
    assert error_of(excinfo) == ("InvalidGroup.NotFound", 400)
    carol = ec2_env.client("AK-CAROL", "SK-CAROL")
    assert "secret" in _groups(carol)
    with pytest.raises(ClientError) as excinfo:
        carol.create_security_group(GroupName="mine", Description="d")
    assert error_of(excinfo) == ("UnauthorizedOperation", 403)


def test_egress_rules_are_for_vpc_groups_only(ec2_env):
    client = ec2_env.client()
    group = client.create_security_group(GroupName="web", Description="d")["GroupId"]
    permissions = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    for call in (client.authorize_security_group_egress, client.revoke_security_group_egress):
        with pytest.raises(ClientError) as excinfo:
            call(GroupId=group, IpPermissions=permissions)
        assert error_of(excinfo) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as excinfo:
        client.authorize_security_group_egress(GroupId="sg-0000ffff", IpPermissions=permissions)
    assert error_of(excinfo) == ("InvalidGroup.NotFound", 400)
    assert _groups(client)["web"]["IpPermissionsEgress"] == []


def test_protocol_minus_one_is_every_protocol(ec2_env):
    client = ec2_env.client()
    client.create_security_group(GroupName="open", Description="d")
    client.authorize_security_group_ingress(GroupName="open", IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}])
    (permission,) = _groups(client)["open"]["IpPermissions"]
    assert permission["IpProtocol"] == "-1" and "FromPort" not in permission
    assert permission["IpRanges"] == [{"CidrIp": "10.1.0.0/16"}]
    found = client.describe_security_groups(Filters=[{"Name": "ip-permission.protocol", "Values": ["-1"]}])
    assert [g["GroupName"] for g in found["SecurityGroups"]] == ["open"]
    with pytest.raises(ClientError) as excinfo:
        client.authorize_security_group_ingress(GroupName="open", IpProtocol="-1", CidrIp="10.1.0.0/16")
    assert error_of(excinfo) == ("InvalidPermission.Duplicate", 400)
    revoked = client.revoke_security_group_ingress(GroupName="open", IpProtocol="-1", CidrIp="10.1.0.0/16")
    assert "UnknownIpPermissions" not in revoked
    assert _groups(client)["open"]["IpPermissions"] == []


def test_several_ranges_and_groups_in_one_call_and_partly_unknown_revoke(ec2_env):
    client = ec2_env.client()
    web = client.create_security_group(GroupName="web", Description="d")["GroupId"]
    client.create_security_group(GroupName="db", Description="d")
    client.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "192.168.0.0/16"}],
         "UserIdGroupPairs": [{"GroupName": "default"}, {"GroupName": "db"}]},
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "172.16.0.0/12"}]}])
    perms = {p["IpProtocol"]: p for p in _groups(client)["web"]["IpPermissions"]}
    assert sorted(r["CidrIp"] for r in perms["tcp"]["IpRanges"]) == ["10.0.0.0/8", "192.168.0.0/16"]
    assert sorted(g["GroupName"] for g in perms["tcp"]["UserIdGroupPairs"]) == ["db", "default"]
    assert perms["udp"]["IpRanges"] == [{"CidrIp": "172.16.0.0/12"}]

    revoked = client.revoke_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
         "UserIdGroupPairs": [{"GroupName": "db"}]},
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupName": "db"}]}])
    (unknown,) = revoked["UnknownIpPermissions"]
    assert (unknown["IpProtocol"], unknown["FromPort"]) == ("tcp", 8080)
    assert [(g["GroupName"], g["UserId"]) for g in unknown["UserIdGroupPairs"]] == [("db", "proj-a")]
    perms = {p["IpProtocol"]: p for p in _groups(client)["web"]["IpPermissions"]}
    assert perms["tcp"]["IpRanges"] == [{"CidrIp": "192.168.0.0/16"}]
    assert [g["GroupName"] for g in perms["tcp"]["UserIdGroupPairs"]] == ["default"]


def test_describe_filters(ec2_env):
    alice = ec2_env.client()
    web = alice.create_security_group(GroupName="web", Description="web servers")["GroupId"]
    db_group = alice.create_security_group(GroupName="db", Description="databases")["GroupId"]
    alice.authorize_security_group_ingress(GroupId=db_group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": web}]}])
    alice.authorize_security_group_ingress(GroupId=web, IpProtocol="tcp", FromPort=80, ToPort=80,
                                           CidrIp="0.0.0.0/0")

    def names(*filters):
        found = alice.describe_security_groups(Filters=[{"Name": n, "Values": v} for n, v in filters])
        return sorted(g["GroupName"] for g in found["SecurityGroups"])

    assert names(("group-name", ["web", "db"])) == ["db", "web"]
    assert names(("group-id", [web])) == ["web"]
    assert names(("owner-id", ["proj-a"])) == ["db", "default", "web"]
    assert names(("owner-id", ["proj-b"])) == []
    assert names(("description", ["data*"])) == ["db"]
    assert names(("ip-permission.group-id", [web])) == ["db"]
    assert names(("ip-permission.group-name", ["web"])) == ["db"]
    assert names(("ip-permission.user-id", ["proj-a"])) == ["db"]
    assert names(("ip-permission.from-port", ["5432"])) == ["db"]
    assert names(("ip-permission.to-port", ["80"]), ("ip-permission.cidr", ["0.0.0.0/0"])) == ["web"]
    assert names(("ip-permission.protocol", ["tcp"]), ("group-name", ["web"])) == ["web"]
    assert names(("egress.ip-permission.cidr", ["0.0.0.0/0"])) == []
    with pytest.raises(ClientError) as excinfo:
        names(("ip-permission.colour", ["red"]))
    assert error_of(excinfo) == ("InvalidParameterValue", 400)


def test_a_rule_given_twice_in_one_request_is_stored_once(ec2_env):
    client = ec2_env.client()
    client.create_security_group(GroupName="twice", Description="duplicates")
    ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
    same_ssh = {"IpProtocol": "TCP", "FromPort": 22, "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.1.2.3/8"}, {"CidrIp": "10.0.0.0/8"}]}
    client.authorize_security_group_ingress(GroupName="twice", IpPermissions=[ssh, same_ssh])
    perms = _groups(client)["twice"]["IpPermissions"]
    assert [(p["IpProtocol"], p["FromPort"], p["IpRanges"]) for p in perms] == [("tcp", 22, [{"CidrIp": "10.0.0.0/8"}])]
    client.revoke_security_group_ingress(GroupName="twice", IpPermissions=[ssh, ssh])
    assert _groups(client)["twice"]["IpPermissions"] == []
