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
    client.revoke_security_group_ingress(GroupName="web", IpProtocol="tcp", FromPort=80, ToPort=80,
                                         CidrIp="10.0.0.0/8")
    with pytest.raises(ClientError) as excinfo:
        client.revoke_security_group_ingress(GroupName="web", IpProtocol="tcp", FromPort=80, ToPort=80,
                                             CidrIp="10.0.0.0/8")
    assert error_of(excinfo) == ("InvalidPermission.NotFound", 400)
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
