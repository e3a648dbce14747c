"""Describe/ModifyInstanceAttribute, DisableApiTermination, GetPasswordData (instances stay pending
here: no scheduler runs; a 'stopped' or 'running' instance is its row set so)."""

import base64
import io

import pytest
from botocore.exceptions import ClientError

from nova import context
from nova.db import api as db
from nova.image import local as local_image
from tests.unit.api.conftest import error_of


def _run(client, env, **kwargs):
    return client.run_instances(ImageId=env.image_id, MinCount=1, MaxCount=1, **kwargs)["Instances"][0]["InstanceId"]


def _set_state(instance_id, vm_state):
    db.instance_update(context.get_admin_context(), int(instance_id[2:], 16),
                       {"vm_state": vm_state, "task_state": None, "host": "h1"})


def _attribute(client, instance_id, attribute):
    return client.describe_instance_attribute(InstanceId=instance_id, Attribute=attribute)


def _kernel_image():
    admin = context.get_admin_context()
    service = local_image.LocalImageService()
    image = service.create(admin, {"name": "vmlinuz", "is_public": True, "type": "kernel"})
    service.store(admin, image["id"], io.BytesIO(b"not really a kernel"))
    return "aki-%08x" % image["id"]


def test_describe_every_attribute(ec2_env):
    client = ec2_env.client()
    group = client.create_security_group(GroupName="web", Description="d")["GroupId"]
    instance_id = _run(client, ec2_env, InstanceType="m1.tiny", SecurityGroupIds=[group], UserData="hello")
    assert _attribute(client, instance_id, "instanceType")["InstanceType"] == {"Value": "m1.tiny"}
    assert base64.b64decode(_attribute(client, instance_id, "userData")["UserData"]["Value"]) == b"hello"
    assert _attribute(client, instance_id, "disableApiTermination")["DisableApiTermination"] == {"Value": False}
    assert _attribute(client, instance_id, "instanceInitiatedShutdownBehavior")[
        "InstanceInitiatedShutdownBehavior"] == {"Value": "stop"}
    assert _attribute(client, instance_id, "rootDeviceName")["RootDeviceName"] == {"Value": "/dev/sda1"}
    assert _attribute(client, instance_id, "blockDeviceMapping")["BlockDeviceMappings"] == []
    assert _attribute(client, instance_id, "groupSet")["Groups"] == [{"GroupId": group, "GroupName": "web"}]
    assert _attribute(client, instance_id, "ebsOptimized")["EbsOptimized"] == {"Value": False}
    assert _attribute(client, instance_id, "productCodes")["ProductCodes"] == []
    assert _attribute(client, instance_id, "kernel")["InstanceId"] == instance_id
    with pytest.raises(ClientError) as excinfo:
        _attribute(client, instance_id, "sourceDestCheck")
    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    with pytest.raises(ClientError) as excinfo:
        _attribute(client, instance_id, "colour")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as excinfo:
        ec2_env.client("AK-BOB", "SK-BOB").describe_instance_attribute(InstanceId=instance_id,
                                                                       Attribute="instanceType")
    assert error_of(excinfo) == ("InvalidInstanceID.NotFound", 400)


def test_block_device_mapping_lists_the_instance_volumes(ec2_env):
    client = ec2_env.client()
    instance_id = _run(client, ec2_env, BlockDeviceMappings=[{"DeviceName": "/dev/vdb", "Ebs": {"VolumeSize": 1}}])
    mappings = _attribute(client, instance_id, "blockDeviceMapping")["BlockDeviceMappings"]
    assert [m["DeviceName"] for m in mappings] == ["/dev/vdb"]
    assert mappings[0]["Ebs"]["VolumeId"].startswith("vol-") and mappings[0]["Ebs"]["DeleteOnTermination"] is True
    volume_id = mappings[0]["Ebs"]["VolumeId"]

    def delete_on_termination():
        described = _attribute(client, instance_id, "blockDeviceMapping")["BlockDeviceMappings"][0]["Ebs"]
        listed = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        assert listed["BlockDeviceMappings"][0]["Ebs"]["DeleteOnTermination"] == described["DeleteOnTermination"]
        return described["DeleteOnTermination"]

    client.modify_instance_attribute(InstanceId=instance_id, BlockDeviceMappings=[
        {"DeviceName": "/dev/vdb", "Ebs": {"DeleteOnTermination": False}}])
    assert delete_on_termination() is False
    client.modify_instance_attribute(InstanceId=instance_id, BlockDeviceMappings=[  # another name, same disk
        {"DeviceName": "/dev/sdb", "Ebs": {"DeleteOnTermination": True, "VolumeId": volume_id}}])
    assert delete_on_termination() is True
    client.modify_instance_attribute(InstanceId=instance_id, Attribute="blockDeviceMapping",  # old form
                                     BlockDeviceMappings=[{"DeviceName": "/dev/vdb",
                                                           "Ebs": {"DeleteOnTermination": False}}])
    assert delete_on_termination() is False
    refusals = [
        ([{"DeviceName": "/dev/vdc", "Ebs": {"DeleteOnTermination": True}}], "InvalidInstanceAttributeValue"),
        ([{"DeviceName": "/dev/vdb", "Ebs": {"DeleteOnTermination": True, "VolumeId": "vol-0000ffff"}}],
         "InvalidInstanceAttributeValue"),
        ([{"DeviceName": "/dev/vdb", "Ebs": {"DeleteOnTermination": True, "VolumeId": "volume"}}],
         "InvalidVolumeID.Malformed"),
        ([{"DeviceName": "/dev/vdd", "VirtualName": "ephemeral0"}], "InvalidParameterCombination"),
    ]
    for mappings, code in refusals:
        with pytest.raises(ClientError) as excinfo:
            client.modify_instance_attribute(InstanceId=instance_id, BlockDeviceMappings=mappings)
        assert error_of(excinfo) == (code, 400), mappings
    assert delete_on_termination() is False
    with pytest.raises(ClientError) as excinfo:
        ec2_env.client("AK-BOB", "SK-BOB").modify_instance_attribute(InstanceId=instance_id, BlockDeviceMappings=[
            {"DeviceName": "/dev/vdb", "Ebs": {"DeleteOnTermination": True}}])
    assert error_of(excinfo) == ("InvalidInstanceID.NotFound", 400)


def test_disable_api_termination_refuses_terminate_until_cleared(ec2_env):
    client = ec2_env.client()
    instance_id = _run(client, ec2_env, DisableApiTermination=True)
    assert _attribute(client, instance_id, "disableApiTermination")["DisableApiTermination"] == {"Value": True}
    with pytest.raises(ClientError) as excinfo:
        client.terminate_instances(InstanceIds=[instance_id])
    assert error_of(excinfo) == ("OperationNotPermitted", 400)
    shown = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert shown["State"]["Name"] == "pending"

    client.modify_instance_attribute(InstanceId=instance_id, DisableApiTermination={"Value": False})
    assert client.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"][0][
        "CurrentState"]["Name"] == "terminated"


def test_disable_api_termination_set_later_in_the_old_form(ec2_env):
    client = ec2_env.client()
    instance_id = _run(client, ec2_env)
    client.modify_instance_attribute(InstanceId=instance_id, Attribute="disableApiTermination", Value="true")
    with pytest.raises(ClientError) as excinfo:
        client.terminate_instances(InstanceIds=[instance_id])
    assert error_of(excinfo) == ("OperationNotPermitted", 400)


def test_shutdown_behavior_is_stored(ec2_env):
    client = ec2_env.client()
    instance_id = _run(client, ec2_env, InstanceInitiatedShutdownBehavior="terminate")
    key = "InstanceInitiatedShutdownBehavior"
    assert _attribute(client, instance_id, "instanceInitiatedShutdownBehavior")[key] == {"Value": "terminate"}
    client.modify_instance_attribute(InstanceId=instance_id, InstanceInitiatedShutdownBehavior={"Value": "stop"})
    assert _attribute(client, instance_id, "instanceInitiatedShutdownBehavior")[key] == {"Value": "stop"}
    with pytest.raises(ClientError) as excinfo:
        client.modify_instance_attribute(InstanceId=instance_id, InstanceInitiatedShutdownBehavior={"Value": "explode"})
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as excinfo:
        _run(client, ec2_env, InstanceInitiatedShutdownBehavior="hibernate")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)


@pytest.mark.parametrize("change", [
    {"InstanceType": {"Value": "m1.small"}},
    {"UserData": {"Value": b"new data"}},
    {"Kernel": {"Value": "aki-00000001"}},
    {"Ramdisk": {"Value": "ari-00000001"}},
])
def test_launch_attributes_change_only_while_stopped(ec2_env, change):
    client = ec2_env.client()
    instance_id = _run(client, ec2_env, InstanceType="m1.tiny")
    with pytest.raises(ClientError) as excinfo:
        client.modify_instance_attribute(InstanceId=instance_id, **change)
    assert error_of(excinfo) == ("IncorrectInstanceState", 400)
    _set_state(instance_id, "active")
    with pytest.raises(ClientError) as excinfo:
        client.modify_instance_attribute(InstanceId=instance_id, **change)
    assert error_of(excinfo) == ("IncorrectInstanceState", 400)
    assert _attribute(client, instance_id, "instanceType")["InstanceType"] == {"Value": "m1.tiny"}


def test_stopped_instance_changes_type_kernel_and_user_data(ec2_env):
    client = ec2_env.client()
    instance_id = _run(client, ec2_env, InstanceType="m1.tiny", UserData="old")
    _set_state(instance_id, "stopped")
    client.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": "m1.small"})
    assert _attribute(client, instance_id, "instanceType")["InstanceType"] == {"Value": "m1.small"}
    shown = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert shown["InstanceType"] == "m1.small"

    client.modify_instance_attribute(InstanceId=instance_id, UserData={"Value": b"#!/bin/sh\necho new"})
    value = _attribute(client, instance_id, "userData")["UserData"]["Value"]
    assert base64.b64decode(value) == b"#!/bin/sh\necho new"

    kernel = _kernel_image()
    client.modify_instance_attribute(InstanceId=instance_id, Kernel={"Value": kernel})
    assert _attribute(client, instance_id, "kernel")["KernelId"] == {"Value": kernel}

    for change, code in (({"InstanceType": {"Value": "m9.huge"}}, "InvalidInstanceAttributeValue"),
                         ({"Kernel": {"Value": "aki-0000ffff"}}, "InvalidAMIID.NotFound"),
                         ({"Ramdisk": {"Value": ec2_env.image_id.replace("ami-", "ari-")}}, "InvalidAMIID.Malformed")):
        with pytest.raises(ClientError) as excinfo:
            client.modify_instance_attribute(InstanceId=instance_id, **change)
        assert error_of(excinfo) == (code, 400), change
    assert _attribute(client, instance_id, "instanceType")["InstanceType"] == {"Value": "m1.small"}


def test_vpc_attributes_and_bad_requests(ec2_env):
    client = ec2_env.client()
    group = client.create_security_group(GroupName="web", Description="d")["GroupId"]
    instance_id = _run(client, ec2_env)
    for kwargs, code in (
            ({"SourceDestCheck": {"Value": False}}, "InvalidParameterCombination"),
            ({"Groups": [group]}, "InvalidParameterCombination"),
            ({"Attribute": "colour", "Value": "red"}, "InvalidParameterValue"),
            ({"Attribute": "rootDeviceName", "Value": "/dev/vdz"}, "InvalidParameterValue"),
            ({}, "MissingParameter"),
            ({"DisableApiTermination": {"Value": True}, "InstanceInitiatedShutdownBehavior": {"Value": "stop"}},
             "InvalidParameterCombination"),
            ({"EnaSupport": {"Value": True}}, "UnsupportedOperation")):
        with pytest.raises(ClientError) as excinfo:
            client.modify_instance_attribute(InstanceId=instance_id, **kwargs)
        assert error_of(excinfo) == (code, 400), kwargs
    with pytest.raises(ClientError) as excinfo:
        ec2_env.client("AK-CAROL", "SK-CAROL").modify_instance_attribute(
            InstanceId=instance_id, DisableApiTermination={"Value": True})
    assert error_of(excinfo) == ("UnauthorizedOperation", 403)
    assert _attribute(client, instance_id, "disableApiTermination")["DisableApiTermination"] == {"Value": False}


def test_password_data_is_empty_for_linux_instances(ec2_env):
    client = ec2_env.client()
    instance_id = _run(client, ec2_env)
    answer = client.get_password_data(InstanceId=instance_id)
    assert answer["InstanceId"] == instance_id and answer["PasswordData"] == "" and answer["Timestamp"]
    with pytest.raises(ClientError) as excinfo:
        client.get_password_data(InstanceId="i-0000ffff")
    assert error_of(excinfo) == ("InvalidInstanceID.NotFound", 400)
