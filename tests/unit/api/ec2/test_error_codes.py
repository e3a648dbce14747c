"""EC2's documented error codes, action by action: one table of (action, parameters, code) sent
signed through the whole paste pipeline to an in-process nova-api, so a regression in any
parameter check or exception mapping shows as the row it breaks."""

from __future__ import annotations

import urllib.parse
from xml.etree import ElementTree

import pytest
import webob
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from nova import wsgi

HOST = "127.0.0.1:8773"
MISSING = "i-0000ffff"

# (action, parameters, EC2 error code); a "{key}" or "{group}" value is filled in by the test.
CASES = [
    ("Bogus", {}, "InvalidAction"),
    ("DescribeRegions", {"Colour": "red"}, "UnknownParameter"),
    # instances
    ("RunInstances", {"MinCount": "1", "MaxCount": "1"}, "MissingParameter"),
    ("RunInstances", {"ImageId": "{image}", "MaxCount": "1"}, "MissingParameter"),
    ("RunInstances", {"ImageId": "{image}", "MinCount": "0", "MaxCount": "1"}, "InvalidParameterValue"),
    ("RunInstances", {"ImageId": "{image}", "MinCount": "3", "MaxCount": "1"}, "InvalidParameterValue"),
    ("RunInstances", {"ImageId": "ami-zz", "MinCount": "1", "MaxCount": "1"}, "InvalidAMIID.Malformed"),
    ("RunInstances", {"ImageId": "ami-0000ffff", "MinCount": "1", "MaxCount": "1"}, "InvalidAMIID.NotFound"),
    ("RunInstances", {"ImageId": "{image}", "MinCount": "1", "MaxCount": "1", "KeyName": "nokey"},
     "InvalidKeyPair.NotFound"),
    ("RunInstances", {"ImageId": "{image}", "MinCount": "1", "MaxCount": "1", "SecurityGroup.1": "nogroup"},
     "InvalidGroup.NotFound"),
    ("RunInstances", {"ImageId": "{image}", "MinCount": "1", "MaxCount": "1", "SecurityGroupId.1": "sg-zz"},
     "InvalidGroupId.Malformed"),
    ("RunInstances", {"ImageId": "{image}", "MinCount": "1", "MaxCount": "1", "InstanceType": "zz.huge"},
     "InvalidParameterValue"),
    ("RunInstances", {"ImageId": "{image}", "MinCount": "1", "MaxCount": "1",
                      "InstanceInitiatedShutdownBehavior": "hibernate"}, "InvalidParameterValue"),
    ("TerminateInstances", {}, "MissingParameter"),
    ("TerminateInstances", {"InstanceId.1": "i-zz"}, "InvalidInstanceID.Malformed"),
    ("TerminateInstances", {"InstanceId.1": MISSING}, "InvalidInstanceID.NotFound"),
    ("StopInstances", {"InstanceId.1": MISSING}, "InvalidInstanceID.NotFound"),
    ("StartInstances", {"InstanceId.1": MISSING}, "InvalidInstanceID.NotFound"),
    ("RebootInstances", {"InstanceId.1": MISSING}, "InvalidInstanceID.NotFound"),
    ("DescribeInstances", {"InstanceId.1": "bogus"}, "InvalidInstanceID.Malformed"),
    ("DescribeInstances", {"InstanceId.1": MISSING}, "InvalidInstanceID.NotFound"),
    ("DescribeInstances", {"Filter.1.Name": "colour", "Filter.1.Value.1": "red"}, "InvalidParameterValue"),
    ("DescribeInstanceStatus", {"InstanceId.1": MISSING}, "InvalidInstanceID.NotFound"),
    ("GetConsoleOutput", {}, "MissingParameter"),
    ("GetConsoleOutput", {"InstanceId": MISSING}, "InvalidInstanceID.NotFound"),
    ("DescribeInstanceAttribute", {"InstanceId": MISSING, "Attribute": "kernel"}, "InvalidInstanceID.NotFound"),
    ("DescribeInstanceAttribute", {"InstanceId": "{instance}"}, "MissingParameter"),
    ("DescribeInstanceAttribute", {"InstanceId": "{instance}", "Attribute": "colour"}, "InvalidParameterValue"),
    ("ModifyInstanceAttribute", {"InstanceId": "{instance}"}, "MissingParameter"),
    ("ModifyInstanceAttribute", {"InstanceId": "{instance}", "InstanceInitiatedShutdownBehavior.Value": "nap"},
     "InvalidParameterValue"),
    ("ModifyInstanceAttribute", {"InstanceId": "{instance}", "DisableApiTermination.Value": "true",
                                 "InstanceInitiatedShutdownBehavior.Value": "stop"}, "InvalidParameterCombination"),
    ("ModifyInstanceAttribute", {"InstanceId": "{instance}", "BlockDeviceMapping.1.DeviceName": "/dev/vdz",
                                 "BlockDeviceMapping.1.Ebs.DeleteOnTermination": "false"},
     "InvalidInstanceAttributeValue"),
    ("ModifyInstanceAttribute", {"InstanceId": "{instance}", "SourceDestCheck.Value": "false"},
     "InvalidParameterCombination"),
    ("GetPasswordData", {"InstanceId": MISSING}, "InvalidInstanceID.NotFound"),
    # images
    ("DescribeImages", {"ImageId.1": "ami-zz"}, "InvalidAMIID.Malformed"),
    ("DescribeImages", {"ImageId.1": "ami-0000ffff"}, "InvalidAMIID.NotFound"),
    ("DeregisterImage", {}, "MissingParameter"),
    ("DeregisterImage", {"ImageId": "ami-0000ffff"}, "InvalidAMIID.NotFound"),
    ("DescribeImageAttribute", {"ImageId": "{image}"}, "MissingParameter"),
    ("ModifyImageAttribute", {"ImageId": "{image}", "LaunchPermission.Add.1.Group": "all"}, "AuthFailure"),
    ("RegisterImage", {"Name": "no-location"}, "MissingParameter"),
    ("CreateImage", {"InstanceId": "{instance}"}, "MissingParameter"),
    ("CreateImage", {"InstanceId": "{instance}", "Name": "ab"}, "InvalidAMIName.Malformed"),
    ("CreateImage", {"InstanceId": "{instance}", "Name": "bad*name"}, "InvalidAMIName.Malformed"),
    ("CreateImage", {"InstanceId": MISSING, "Name": "a-name"}, "InvalidInstanceID.NotFound"),
    ("CopyImage", {"SourceImageId": "{image}", "Name": "no-region"}, "MissingParameter"),
    ("CopyImage", {"SourceImageId": "{image}", "SourceRegion": "nova"}, "MissingParameter"),
    ("CopyImage", {"SourceImageId": "{image}", "SourceRegion": "nova", "Name": "x"}, "InvalidAMIName.Malformed"),
    ("CopyImage", {"SourceImageId": "{image}", "SourceRegion": "nova", "Name": "{image_name}"},
     "InvalidAMIName.Duplicate"),
    ("CopyImage", {"SourceImageId": "ami-0000ffff", "SourceRegion": "nova", "Name": "copy"},
     "InvalidAMIID.NotFound"),
    ("CopyImage", {"SourceImageId": "{image}", "SourceRegion": "elsewhere", "Name": "copy"},
     "InvalidParameterValue"),
    # key pairs
    ("CreateKeyPair", {}, "MissingParameter"),
    ("CreateKeyPair", {"KeyName": "{key}"}, "InvalidKeyPair.Duplicate"),
    ("ImportKeyPair", {"KeyName": "junk", "PublicKeyMaterial": "c3NoLXJzYSBub3Qta2V5"}, "InvalidKey.Format"),
    ("ImportKeyPair", {"PublicKeyMaterial": "c3NoLXJzYSBub3Qta2V5"}, "MissingParameter"),
    ("DescribeKeyPairs", {"KeyName.1": "nokey"}, "InvalidKeyPair.NotFound"),
    # security groups
    ("CreateSecurityGroup", {"GroupName": "g"}, "MissingParameter"),
    ("CreateSecurityGroup", {"GroupName": "{group}", "GroupDescription": "d"}, "InvalidGroup.Duplicate"),
    ("DeleteSecurityGroup", {"GroupName": "nogroup"}, "InvalidGroup.NotFound"),
    ("DeleteSecurityGroup", {"GroupId": "sg-zz"}, "InvalidGroupId.Malformed"),
    ("DeleteSecurityGroup", {"GroupName": "default"}, "CannotDelete"),
    ("DescribeSecurityGroups", {"GroupName.1": "nogroup"}, "InvalidGroup.NotFound"),
    ("DescribeSecurityGroups", {"GroupId.1": "sg-0000ffff"}, "InvalidGroup.NotFound"),
    ("AuthorizeSecurityGroupIngress", {"GroupName": "nogroup", "IpProtocol": "tcp", "FromPort": "22",
                                       "ToPort": "22", "CidrIp": "0.0.0.0/0"}, "InvalidGroup.NotFound"),
    ("AuthorizeSecurityGroupIngress", {"GroupName": "{group}", "IpProtocol": "tcp", "FromPort": "80",
                                       "ToPort": "22", "CidrIp": "0.0.0.0/0"}, "InvalidParameterValue"),
    ("AuthorizeSecurityGroupIngress", {"GroupName": "{group}", "IpProtocol": "gre", "FromPort": "1",
                                       "ToPort": "2", "CidrIp": "0.0.0.0/0"}, "InvalidParameterValue"),
    ("AuthorizeSecurityGroupIngress", {"GroupName": "{group}", "IpProtocol": "tcp", "FromPort": "22",
                                       "ToPort": "22", "CidrIp": "10.0.0.0/33"}, "InvalidParameterValue"),
    ("AuthorizeSecurityGroupIngress", {"GroupName": "{group}", "IpProtocol": "tcp", "FromPort": "22",
                                       "ToPort": "22", "CidrIp": "0.0.0.0/0"}, "InvalidPermission.Duplicate"),
    ("AuthorizeSecurityGroupEgress", {"GroupId": "{group_id}", "IpPermissions.1.IpProtocol": "-1"},
     "InvalidParameterValue"),
    # volumes and snapshots
    ("CreateVolume", {"AvailabilityZone": "nova"}, "MissingParameter"),
    ("CreateVolume", {"AvailabilityZone": "nova", "Size": "0"}, "InvalidParameterValue"),
    ("CreateVolume", {"AvailabilityZone": "nova", "SnapshotId": "snap-0000ffff"}, "InvalidSnapshot.NotFound"),
    ("DeleteVolume", {"VolumeId": "vol-zz"}, "InvalidVolumeID.Malformed"),
    ("DeleteVolume", {"VolumeId": "vol-0000ffff"}, "InvalidVolume.NotFound"),
    ("DescribeVolumes", {"VolumeId.1": "vol-0000ffff"}, "InvalidVolume.NotFound"),
    ("AttachVolume", {"VolumeId": "vol-0000ffff", "InstanceId": "{instance}"}, "MissingParameter"),
    ("AttachVolume", {"VolumeId": "vol-0000ffff", "InstanceId": "{instance}", "Device": "/dev/sdf"},
     "InvalidVolume.NotFound"),
    ("DetachVolume", {"VolumeId": "vol-0000ffff"}, "InvalidVolume.NotFound"),
    ("CreateSnapshot", {}, "MissingParameter"),
    ("CreateSnapshot", {"VolumeId": "vol-0000ffff"}, "InvalidVolume.NotFound"),
    ("DeleteSnapshot", {"SnapshotId": "snap-zz"}, "InvalidSnapshotID.Malformed"),
    ("DeleteSnapshot", {"SnapshotId": "snap-0000ffff"}, "InvalidSnapshot.NotFound"),
    ("DescribeSnapshots", {"SnapshotId.1": "snap-0000ffff"}, "InvalidSnapshot.NotFound"),
    # addresses
    ("ReleaseAddress", {}, "MissingParameter"),
    ("ReleaseAddress", {"PublicIp": "203.0.113.9"}, "InvalidAddress.NotFound"),
    ("DescribeAddresses", {"PublicIp.1": "203.0.113.9"}, "InvalidAddress.NotFound"),
    ("DescribeAddresses", {"AllocationId.1": "eipalloc-0000ffff"}, "InvalidAllocationID.NotFound"),
    ("AssociateAddress", {"PublicIp": "203.0.113.9"}, "MissingParameter"),
    ("DisassociateAddress", {"PublicIp": "203.0.113.9"}, "InvalidAddress.NotFound"),
    # tags
    ("CreateTags", {"ResourceId.1": "{instance}"}, "MissingParameter"),
    ("CreateTags", {"ResourceId.1": "bogus-1", "Tag.1.Key": "k"}, "InvalidID"),
    ("CreateTags", {"ResourceId.1": "{instance}", "Tag.1.Key": "aws:k"}, "InvalidParameterValue"),
    ("CreateTags", {"ResourceId.1": "vol-0000ffff", "Tag.1.Key": "k"}, "InvalidVolume.NotFound"),
    ("DeleteTags", {"Tag.1.Key": "k"}, "MissingParameter"),
    ("DescribeTags", {"Filter.1.Name": "colour", "Filter.1.Value.1": "x"}, "InvalidParameterValue"),
    # zones and regions
    ("DescribeAvailabilityZones", {"ZoneName.1": "nozone"}, "InvalidParameterValue"),
]


def _send(port, action, params):
    body = urllib.parse.urlencode(dict(params, Action=action, Version="2016-11-15"))
    request = AWSRequest(method="POST", url=f"http://{HOST}/services/Cloud", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials("AK-ALICE", "SK-ALICE"), "ec2", "nova").add_auth(request)
    req = webob.Request.blank("/services/Cloud", method="POST", body=body.encode(),
                              headers=dict(request.prepare().headers.items()))
    req.host = HOST
    response = req.get_response(wsgi.load_paste_app("ec2"))
    root = ElementTree.fromstring(response.body)
    return response.status_int, root.findtext("Errors/Error/Code"), root.findtext("Errors/Error/Message")


@pytest.fixture
def resources(ec2_env):
    client = ec2_env.client()
    client.create_key_pair(KeyName="used")
    group_id = client.create_security_group(GroupName="used", Description="d")["GroupId"]
    client.authorize_security_group_ingress(GroupName="used", IpProtocol="tcp", FromPort=22, ToPort=22,
                                            CidrIp="0.0.0.0/0")
    instance = client.run_instances(ImageId=ec2_env.image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    mine = client.copy_image(SourceImageId=ec2_env.image_id, SourceRegion="nova", Name="taken")["ImageId"]
    return {"image": mine, "instance": instance, "key": "used", "group": "used", "group_id": group_id,
            "image_name": "taken", "public_image": ec2_env.image_id}


def test_every_action_answers_ec2s_error_codes(ec2_env, resources):
    wrong = []
    for action, params, code in CASES:
        filled = {k: v.format(**resources) for k, v in params.items()}
        if action == "ModifyImageAttribute":
            filled["ImageId"] = resources["public_image"]
        status, got, message = _send(ec2_env.port, action, filled)
        if (got, 400 <= status < 500) != (code, True):
            wrong.append(f"{action} {params}: {status} {got} ({message}), expected {code}")
    assert not wrong, "\n".join(wrong)
