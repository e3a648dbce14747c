"""Instance actions through compute.API (no scheduler runs here: instances stay pending)."""

import base64

import pytest
from botocore.exceptions import ClientError

from nova import context, quota
from nova.db import api as db
from tests.unit.api.conftest import error_of


def _run(client, env, **kwargs):
    kwargs.setdefault("MinCount", 1)
    kwargs.setdefault("MaxCount", 1)
    return client.run_instances(ImageId=env.image_id, **kwargs)


def _ids(client, **kwargs):
    return sorted(i["InstanceId"] for r in client.describe_instances(**kwargs)["Reservations"]
                  for i in r["Instances"])


def test_run_describe_filter_and_terminate(ec2_env):
    client = ec2_env.client()
    client.create_key_pair(KeyName="k")
    reservation = _run(client, ec2_env, MinCount=2, MaxCount=2, KeyName="k", InstanceType="m1.tiny",
                       UserData="#!/bin/sh\necho hi",
                       TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": "web"}]}])
    assert reservation["ReservationId"].startswith("r-") and reservation["OwnerId"] == "proj-a"
    instances = reservation["Instances"]
    assert len(instances) == 2
    assert {i["State"]["Name"] for i in instances} == {"pending"}
    assert instances[0]["InstanceType"] == "m1.tiny" and instances[0]["KeyName"] == "k"
    assert instances[0]["Placement"]["AvailabilityZone"] == "nova"
    assert instances[0]["ImageId"] == ec2_env.image_id
    ids = sorted(i["InstanceId"] for i in instances)
    assert _ids(client) == ids
    assert _ids(client, InstanceIds=[ids[1]]) == [ids[1]]
    assert _ids(client, Filters=[{"Name": "tag:role", "Values": ["web"]}]) == ids
    assert _ids(client, Filters=[{"Name": "instance-state-name", "Values": ["running"]}]) == []
    assert _ids(client, Filters=[{"Name": "key-name", "Values": ["k"]},
                                 {"Name": "availability-zone", "Values": ["nova"]}]) == ids
    attribute = client.describe_instance_attribute(InstanceId=ids[0], Attribute="userData")
    assert base64.b64decode(attribute["UserData"]["Value"]) == b"#!/bin/sh\necho hi"

    result = client.terminate_instances(InstanceIds=[ids[0]])["TerminatingInstances"]
    assert result[0]["PreviousState"]["Name"] == "pending" and result[0]["CurrentState"]["Name"] == "terminated"
    assert _ids(client) == [ids[1]]
    shown = client.describe_instances(InstanceIds=[ids[0]])["Reservations"][0]["Instances"][0]
    assert shown["State"]["Name"] == "terminated"


@pytest.mark.parametrize("kwargs, code", [
    ({"ImageId": "ami-0000ffff"}, "InvalidAMIID.NotFound"),
    ({"ImageId": "ami-xyz"}, "InvalidAMIID.Malformed"),
    ({"InstanceType": "m9.huge"}, "InvalidParameterValue"),
    ({"KeyName": "missing"}, "InvalidKeyPair.NotFound"),
    ({"SecurityGroups": ["missing"]}, "InvalidGroup.NotFound"),
    ({"MinCount": 3, "MaxCount": 2}, "InvalidParameterValue"),
    ({"MinCount": 0}, "InvalidParameterValue"),
    ({"MaxCount": 10**12}, "InvalidParameterValue"),
    ({"Placement": {"AvailabilityZone": "z" * 300}}, "InvalidParameterValue"),
])
def test_bad_run_requests(ec2_env, kwargs, code):
    client = ec2_env.client()
    args = {"ImageId": ec2_env.image_id, "MinCount": 1, "MaxCount": 1}
    args.update(kwargs)
    with pytest.raises(ClientError) as excinfo:
        client.run_instances(**args)
    assert error_of(excinfo) == (code, 400)
    assert _ids(client) == []


def test_quota_is_instance_limit_exceeded(ec2_env):
    quota.set_project_quota(context.get_admin_context(), "proj-a", "instances", 2)
    client = ec2_env.client()
    assert len(_run(client, ec2_env, MinCount=1, MaxCount=5)["Instances"]) == 2
    with pytest.raises(ClientError) as excinfo:
        _run(client, ec2_env)
    assert error_of(excinfo) == ("InstanceLimitExceeded", 400)


def test_tenant_isolation_and_admin_view(ec2_env):
    alice = ec2_env.client()
    instance_id = _run(alice, ec2_env)["Instances"][0]["InstanceId"]
    bob = ec2_env.client("AK-BOB", "SK-BOB")
    assert _ids(bob) == []
    for call in (lambda: bob.terminate_instances(InstanceIds=[instance_id]),
                 lambda: bob.describe_instances(InstanceIds=[instance_id]),
                 lambda: bob.create_tags(Resources=[instance_id], Tags=[{"Key": "a", "Value": "b"}])):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("InvalidInstanceID.NotFound", 400)
    assert _ids(alice) == [instance_id]
    assert _ids(ec2_env.client("AK-ROOT", "SK-ROOT", "proj-b")) == [instance_id]


def test_plain_members_may_look_but_not_launch(ec2_env):
    carol = ec2_env.client("AK-CAROL", "SK-CAROL")
    assert carol.describe_instances()["Reservations"] == []
    with pytest.raises(ClientError) as excinfo:
        _run(carol, ec2_env)
    assert error_of(excinfo) == ("UnauthorizedOperation", 403)


def test_actions_on_a_pending_instance_are_incorrect_state(ec2_env):
    client = ec2_env.client()
    instance_id = _run(client, ec2_env)["Instances"][0]["InstanceId"]
    with pytest.raises(ClientError) as excinfo:
        client.stop_instances(InstanceIds=[instance_id])
    assert error_of(excinfo) == ("IncorrectInstanceState", 400)
    with pytest.raises(ClientError) as excinfo:
        client.get_console_output(InstanceId=instance_id)
    assert error_of(excinfo) == ("IncorrectInstanceState", 400)


def test_run_with_security_group_ids(ec2_env):
    alice, bob = ec2_env.client(), ec2_env.client("AK-BOB", "SK-BOB")
    mine = alice.create_security_group(GroupName="web", Description="d")["GroupId"]
    theirs = bob.create_security_group(GroupName="db", Description="d")["GroupId"]
    instance = _run(alice, ec2_env, SecurityGroupIds=[mine])["Instances"][0]
    assert [g["GroupName"] for g in instance["SecurityGroups"]] == ["web"]
    with pytest.raises(ClientError) as excinfo:
        _run(alice, ec2_env, SecurityGroupIds=[theirs])
    assert error_of(excinfo) == ("InvalidGroup.NotFound", 400)


def test_describe_shows_and_filters_by_addresses(ec2_env):
    client = ec2_env.client()
    first, second = sorted(i["InstanceId"] for i in _run(client, ec2_env, MinCount=2, MaxCount=2)["Instances"])
    admin = context.get_admin_context()
    network = db.network_create_safe(admin, {"label": "n", "cidr": "10.7.0.0/24", "bridge": "br7"})
    db.fixed_ip_bulk_create(admin, [{"address": f"10.7.0.{n}", "network_id": network["id"],
                                     "instance_id": int(ec2_id[2:], 16)}
                                    for n, ec2_id in ((2, first), (3, second))])
    db.floating_ip_bulk_create(admin, "h", ["192.0.2.7"])
    db.floating_ip_allocate_address(admin, "h", "proj-a")
    db.floating_ip_fixed_ip_associate(admin, "192.0.2.7", "10.7.0.3")
    shown = {i["InstanceId"]: i for r in client.describe_instances()["Reservations"] for i in r["Instances"]}
    assert shown[first]["PrivateIpAddress"] == "10.7.0.2" and "PublicIpAddress" not in shown[first]
    assert shown[second]["PrivateIpAddress"] == "10.7.0.3" and shown[second]["PublicIpAddress"] == "192.0.2.7"
    assert shown[second]["PublicDnsName"] == "192.0.2.7" and shown[first]["PublicDnsName"] == "10.7.0.2"
    assert _ids(client, Filters=[{"Name": "private-ip-address", "Values": ["10.7.0.2"]}]) == [first]
    assert _ids(client, Filters=[{"Name": "ip-address", "Values": ["192.0.2.*"]}]) == [second]
    assert _ids(ec2_env.client("AK-BOB", "SK-BOB"), Filters=[{"Name": "ip-address", "Values": ["*"]}]) == []


def test_get_console_output_through_the_ec2_api(ec2_env, monkeypatch):
    """The action itself runs (a missing import in it once gave a 500 that only functional tests caught):
    the console of the compute host comes back base64-encoded with a timestamp; another project's
    instance is not found; an instance on no host yet has no console."""
    from nova.compute import rpcapi as compute_rpcapi

    asked = []

    def console(self, ctxt, host, instance_id):
        asked.append((host, instance_id, ctxt.project_id))
        return "booting\nlogin: é"

    monkeypatch.setattr(compute_rpcapi.ComputeAPI, "get_console_output", console)
    client = ec2_env.client()
    [instance] = _run(client, ec2_env)["Instances"]
    instance_id = instance["InstanceId"]
    with pytest.raises(ClientError) as excinfo:
        client.get_console_output(InstanceId=instance_id)
    assert error_of(excinfo) == ("IncorrectInstanceState", 400)
    db_id = int(instance_id[2:], 16)
    db.instance_update(context.get_admin_context(), db_id, {"host": "compute-7", "vm_state": "active",
                                                            "task_state": None})
    output = client.get_console_output(InstanceId=instance_id)
    assert output["InstanceId"] == instance_id and output["Timestamp"]
    assert output["Output"] == "booting\nlogin: é"  # botocore decodes the base64
    assert asked == [("compute-7", db_id, "proj-a")]
    with pytest.raises(ClientError) as excinfo:
        ec2_env.client("AK-BOB", "SK-BOB").get_console_output(InstanceId=instance_id)
    assert error_of(excinfo) == ("InvalidInstanceID.NotFound", 400)
    assert len(asked) == 1
