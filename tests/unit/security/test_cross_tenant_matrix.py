"""The cross-tenant matrix: every EC2 action, every OpenStack compute route and server action, and every
S3 operation of the objectstore, sent by bob (proj-b) with the ids of alice's (proj-a) resources.

Each row must answer as the same request does with ids that exist nowhere (EC2 ``*.NotFound``,
OpenStack 404 ``itemNotFound``), or with the API's own authorisation error where the API's reference
says so (S3 ``AccessDenied`` for another account's private bucket, OpenStack 403 for admin-only routes),
and must change nothing: every database row, every stored object and every domain of the virt driver
are fingerprinted before and after the row.  No answer to bob may hold what only alice's resources hold
(user data, tag and metadata values, object bodies, names).

The tables are checked against the routers (the EC2 CloudController's actions, the OpenStack v2.1 and
v1.1 route lists and server actions, the objectstore's dispatch), so a new action that is not in the
matrix fails ``test_matrix_covers_every_*``.
"""

from __future__ import annotations

import base64
import itertools
import re
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from nova.api.ec2.cloud import CloudController
from nova.api.openstack import router as os_router
from nova.api.openstack.server_actions import ServerActionsController
from nova.api.openstack.v11 import router as v11_router
from nova.api.openstack.v11 import servers as v11_servers
from nova.objectstore import app as s3_app
from tests.unit.security import resources
from tests.unit.security.resources import GHOSTS, SECRETS

NOT_FOUND = "not found"  # OpenStack: 404 itemNotFound
LIST = "list"            # succeeds, and shows none of alice's resources
OK = "ok"                # succeeds on bob's own namespace (no row of alice's changes)


@dataclass
class Row:
    api: str                      # ec2, v2.1, v1.1, s3
    name: str                     # the action or route the row covers (checked against the routers)
    args: dict[str, Any]          # EC2 parameters; for HTTP rows: method, path, json/body, headers
    expect: str                   # EC2 or S3 error code, NOT_FOUND, LIST or OK
    ghost: bool = True            # also send it with ids that exist nowhere: same answer required
    cleanup: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # bob's own calls after an OK row
    full: bool = False            # compare every row before and after (a write that is rolled back)

    @property
    def id(self) -> str:
        if self.api == "ec2":
            detail = ",".join(f"{k}={v}" for k, v in self.args.items())
            return f"ec2 {self.name} {detail}"[:120]
        body = json.dumps(self.args.get("json"))[:70] if self.args.get("json") else ""
        return f"{self.api} {self.args['method']} {self.args['path']} {body}".strip()


def ec2(action: str, expect: str, ghost: bool = True, cleanup: Any = (), **params: Any) -> Row:
    return Row("ec2", action, params, expect, ghost, list(cleanup))


PERMISSION = {"IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "22",
              "IpPermissions.1.ToPort": "22", "IpPermissions.1.IpRanges.1.CidrIp": "10.0.0.0/8"}
NOT_INSTANCE, NOT_VOLUME, NOT_SNAPSHOT = "InvalidInstanceID.NotFound", "InvalidVolume.NotFound", \
    "InvalidSnapshot.NotFound"
NOT_IMAGE, NOT_GROUP, NOT_KEY = "InvalidAMIID.NotFound", "InvalidGroup.NotFound", "InvalidKeyPair.NotFound"
NOT_ADDRESS = "InvalidAddress.NotFound"
BAD_REQUEST = "badRequest"  # OpenStack: an image, key or group named in a create body that is not there
KEY_CLEANUP = [("os", {"method": "DELETE", "path": "/os-keypairs/{key}"})]
GROUP_CLEANUP = [("ec2", {"Action": "DeleteSecurityGroup", "GroupName": "{group_name}"})]

EC2_ROWS = [
    # instances
    ec2("DescribeInstances", NOT_INSTANCE, **{"InstanceId.1": "{instance}"}),
    ec2("DescribeInstances", LIST),
    ec2("DescribeInstances", LIST, **{"Filter.1.Name": "instance-id", "Filter.1.Value.1": "{instance}"}),
    ec2("DescribeInstances", LIST, **{"Filter.1.Name": "owner-id", "Filter.1.Value.1": "proj-a"}),
    ec2("DescribeInstanceStatus", NOT_INSTANCE, **{"InstanceId.1": "{instance}"}),
    ec2("DescribeInstanceStatus", LIST, IncludeAllInstances="true"),
    *[ec2("DescribeInstanceAttribute", NOT_INSTANCE, InstanceId="{instance}", Attribute=attribute)
      for attribute in ("userData", "instanceType", "groupSet", "blockDeviceMapping", "disableApiTermination")],
    ec2("ModifyInstanceAttribute", NOT_INSTANCE, InstanceId="{instance}", Attribute="userData",
        Value=base64.b64encode(b"#!/bin/sh\nevil").decode()),
    ec2("ModifyInstanceAttribute", NOT_INSTANCE, InstanceId="{instance}", **{"DisableApiTermination.Value": "true"}),
    ec2("ModifyInstanceAttribute", NOT_INSTANCE, InstanceId="{instance}", **{"GroupId.1": "{b_group}"}),
    # groups of a running instance change only in a VPC (bob's own instance and a ghost group alike)
    ec2("ModifyInstanceAttribute", "InvalidParameterCombination", InstanceId="{b_instance}",
        **{"GroupId.1": "{group}"}),
    ec2("GetPasswordData", NOT_INSTANCE, InstanceId="{instance}"),
    ec2("GetConsoleOutput", NOT_INSTANCE, InstanceId="{instance}"),
    *[ec2(action, NOT_INSTANCE, **{"InstanceId.1": "{instance}"})
      for action in ("RebootInstances", "StartInstances", "StopInstances", "TerminateInstances",
                     "MonitorInstances", "UnmonitorInstances")],
    ec2("RebootInstances", NOT_INSTANCE, **{"InstanceId.1": "{b_instance}", "InstanceId.2": "{instance}"}),
    ec2("TerminateInstances", NOT_INSTANCE, **{"InstanceId.1": "{b_instance}", "InstanceId.2": "{instance}"}),
    ec2("CreateImage", NOT_INSTANCE, InstanceId="{instance}", Name="stolen"),
    ec2("RunInstances", NOT_IMAGE, ImageId="{image}", MinCount=1, MaxCount=1),
    ec2("RunInstances", NOT_KEY, ImageId="{public_image}", MinCount=1, MaxCount=1, KeyName="{key}"),
    ec2("RunInstances", NOT_GROUP, ImageId="{public_image}", MinCount=1, MaxCount=1,
        **{"SecurityGroup.1": "{group_name}"}),
    ec2("RunInstances", NOT_GROUP, ImageId="{public_image}", MinCount=1, MaxCount=1,
        **{"SecurityGroupId.1": "{group}"}),
    # compute.API.create writes the instance row before it reads the mapped snapshot, and soft-deletes it
    # when the snapshot is not found: nothing is left that anyone can see (compared row by row)
    Row("ec2", "RunInstances", {"ImageId": "{public_image}", "MinCount": 1, "MaxCount": 1,
                                "BlockDeviceMapping.1.DeviceName": "/dev/vdc",
                                "BlockDeviceMapping.1.Ebs.SnapshotId": "{snapshot}"}, NOT_SNAPSHOT, full=True),
    # key pairs (per user: bob's names are his own)
    ec2("DescribeKeyPairs", NOT_KEY, **{"KeyName.1": "{key}"}),
    ec2("DescribeKeyPairs", LIST),
    ec2("DeleteKeyPair", OK, KeyName="{key}"),
    ec2("CreateKeyPair", OK, KeyName="{key}", cleanup=KEY_CLEANUP),
    ec2("ImportKeyPair", OK, KeyName="{key}", PublicKeyMaterial="{public_key}", cleanup=KEY_CLEANUP),
    # security groups
    ec2("DescribeSecurityGroups", NOT_GROUP, **{"GroupName.1": "{group_name}"}),
    ec2("DescribeSecurityGroups", NOT_GROUP, **{"GroupId.1": "{group}"}),
    ec2("DescribeSecurityGroups", LIST),
    ec2("DeleteSecurityGroup", NOT_GROUP, GroupId="{group}"),
    ec2("DeleteSecurityGroup", NOT_GROUP, GroupName="{group_name}"),
    ec2("AuthorizeSecurityGroupIngress", NOT_GROUP, GroupId="{group}", **PERMISSION),
    ec2("AuthorizeSecurityGroupIngress", NOT_GROUP, GroupName="{group_name}", **PERMISSION),
    ec2("RevokeSecurityGroupIngress", NOT_GROUP, GroupId="{group}", **PERMISSION),
    ec2("RevokeSecurityGroupIngress", NOT_GROUP, GroupName="{group_name}", **PERMISSION),
    ec2("AuthorizeSecurityGroupEgress", NOT_GROUP, GroupId="{group}", **PERMISSION),
    ec2("RevokeSecurityGroupEgress", NOT_GROUP, GroupId="{group}", **PERMISSION),
    ec2("CreateSecurityGroup", OK, GroupName="{group_name}", GroupDescription="mine", cleanup=GROUP_CLEANUP),
    # addresses
    ec2("DescribeAddresses", NOT_ADDRESS, **{"PublicIp.1": "{address}"}),
    ec2("DescribeAddresses", "InvalidAllocationID.NotFound", **{"AllocationId.1": "{allocation}"}),
    ec2("DescribeAddresses", LIST),
    ec2("AssociateAddress", NOT_ADDRESS, PublicIp="{address}", InstanceId="{b_instance}"),
    ec2("AssociateAddress", NOT_INSTANCE, PublicIp="{b_address}", InstanceId="{instance}"),
    ec2("DisassociateAddress", NOT_ADDRESS, PublicIp="{address}"),
    ec2("ReleaseAddress", NOT_ADDRESS, PublicIp="{address}"),
    ec2("AllocateAddress", "InsufficientAddressCapacity", ghost=False),  # alice's address is not free
    # volumes and snapshots
    ec2("DescribeVolumes", NOT_VOLUME, **{"VolumeId.1": "{volume}"}),
    ec2("DescribeVolumes", LIST),
    ec2("DeleteVolume", NOT_VOLUME, VolumeId="{volume}"),
    ec2("AttachVolume", NOT_VOLUME, VolumeId="{volume}", InstanceId="{b_instance}", Device="/dev/vdc"),
    ec2("AttachVolume", NOT_INSTANCE, VolumeId="{b_volume}", InstanceId="{instance}", Device="/dev/vdc"),
    ec2("DetachVolume", NOT_VOLUME, VolumeId="{attached_volume}"),
    ec2("DetachVolume", NOT_VOLUME, VolumeId="{attached_volume}", InstanceId="{instance}", Force="true"),
    ec2("CreateSnapshot", NOT_VOLUME, VolumeId="{volume}"),
    ec2("CreateVolume", NOT_SNAPSHOT, SnapshotId="{snapshot}", AvailabilityZone="nova"),
    ec2("DescribeSnapshots", NOT_SNAPSHOT, **{"SnapshotId.1": "{snapshot}"}),
    ec2("DescribeSnapshots", LIST),
    ec2("DescribeSnapshots", LIST, **{"Owner.1": "proj-a"}),
    ec2("DeleteSnapshot", NOT_SNAPSHOT, SnapshotId="{snapshot}"),
    # images
    ec2("DescribeImages", NOT_IMAGE, **{"ImageId.1": "{image}"}),
    ec2("DescribeImages", LIST),
    ec2("DescribeImages", LIST, **{"Owner.1": "proj-a"}),
    ec2("DescribeImageAttribute", NOT_IMAGE, ImageId="{image}", Attribute="launchPermission"),
    ec2("ModifyImageAttribute", NOT_IMAGE, ImageId="{image}", **{"LaunchPermission.Add.1.Group": "all"}),
    ec2("ModifyImageAttribute", NOT_IMAGE, ImageId="{image}", Attribute="launchPermission", OperationType="add",
        **{"UserId.1": "proj-b"}),
    ec2("ModifyImageAttribute", NOT_IMAGE, ImageId="{image}", **{"Description.Value": "mine"}),
    ec2("DeregisterImage", NOT_IMAGE, ImageId="{image}"),
    ec2("CopyImage", NOT_IMAGE, SourceImageId="{image}", SourceRegion="nova", Name="copied"),
    ec2("RegisterImage", NOT_SNAPSHOT, Name="stolen", RootDeviceName="/dev/vda",
        **{"BlockDeviceMapping.1.DeviceName": "/dev/vda", "BlockDeviceMapping.1.Ebs.SnapshotId": "{snapshot}"}),
    # a bucket of another project's is refused as S3 refuses it (a missing one: InvalidManifest)
    ec2("RegisterImage", "AuthFailure", ghost=False, ImageLocation="{bucket}/image.manifest.xml"),
    # tags
    *[ec2("CreateTags", code, **{"ResourceId.1": f"{{{kind}}}", "Tag.1.Key": "owner", "Tag.1.Value": "bob"})
      for kind, code in (("instance", NOT_INSTANCE), ("volume", NOT_VOLUME), ("snapshot", NOT_SNAPSHOT),
                         ("image", NOT_IMAGE), ("group", NOT_GROUP))],
    ec2("CreateTags", NOT_INSTANCE, **{"ResourceId.1": "{b_instance}", "ResourceId.2": "{instance}",
                                       "Tag.1.Key": "owner", "Tag.1.Value": "bob"}),
    ec2("DeleteTags", NOT_INSTANCE, **{"ResourceId.1": "{instance}", "Tag.1.Key": "owner"}),
    ec2("DeleteTags", NOT_VOLUME, **{"ResourceId.1": "{volume}"}),
    ec2("DescribeTags", LIST),
    ec2("DescribeTags", LIST, **{"Filter.1.Name": "resource-id", "Filter.1.Value.1": "{instance}"}),
    # take no id: what they show is bob's or everyone's
    ec2("DescribeRegions", LIST),
    ec2("DescribeAvailabilityZones", LIST),
    ec2("DescribeAccountAttributes", LIST),
    ec2("DescribeInstanceTypes", LIST),
]


def os_row(api: str, method: str, path: str, expect: str = NOT_FOUND, json: Any = None, ghost: bool = True,
           name: str | None = None, cleanup: Any = ()) -> Row:
    return Row(api, name or f"{method} {path}", {"method": method, "path": path, "json": json}, expect, ghost,
               list(cleanup))



def server_action_rows(api: str, actions: dict[str, Any]) -> list[Row]:
    return [os_row(api, "POST", "/servers/{uuid}/action", json={name: body}, name=f"action {name}")
            for name, body in actions.items()]


V21_ACTIONS = {"os-start": None, "os-stop": None, "pause": None, "unpause": None, "suspend": None,
               "resume": None, "reboot": {"type": "HARD"}, "createImage": {"name": "stolen"},
               "os-getConsoleOutput": {}, "addFloatingIp": {"address": "{b_address}"},
               "removeFloatingIp": {"address": "{address}"}}
V11_ACTIONS = {"reboot": {"type": "SOFT"}, "createImage": {"name": "stolen"},
               **{name: {} for name in v11_servers._UNSUPPORTED}}
RULE = {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/8"}


def common_os_rows(api: str) -> list[Row]:
    """The routes v2.1 and v1.1 share (server, key pair, group, address and volume routes)."""
    return [
        os_row(api, "GET", "/servers/{uuid}"),
        os_row(api, "PUT", "/servers/{uuid}", json={"server": {"name": "mine"}}),
        os_row(api, "DELETE", "/servers/{uuid}"),
        os_row(api, "GET", "/servers/{uuid}/ips"),
        os_row(api, "GET", "/servers/{uuid}/ips/{network}"),
        os_row(api, "GET", "/servers", LIST),
        os_row(api, "GET", "/servers/detail", LIST),
        os_row(api, "POST", "/servers", BAD_REQUEST,
               json={"server": {"name": "x", "imageRef": "{image_num}", "flavorRef": "1"}}),
        os_row(api, "DELETE", "/images/{image_num}"),
        os_row(api, "GET", "/images/{image_num}"),
        os_row(api, "GET", "/images", LIST),
        os_row(api, "GET", "/images/detail", LIST),
        os_row(api, "GET", "/flavors", LIST),
        os_row(api, "GET", "/flavors/detail", LIST),
        os_row(api, "GET", "/flavors/1", LIST),
        os_row(api, "GET", "/limits", LIST),
        os_row(api, "DELETE", "/os-keypairs/{key}"),
        os_row(api, "GET", "/os-keypairs", LIST),
        os_row(api, "GET", "/os-security-groups/{group_num}"),
        os_row(api, "DELETE", "/os-security-groups/{group_num}"),
        os_row(api, "GET", "/os-security-groups", LIST),
        os_row(api, "POST", "/os-security-group-rules",
               json={"security_group_rule": {"parent_group_id": "{group_num}", **RULE}}),
        os_row(api, "POST", "/os-security-group-rules",
               json={"security_group_rule": {"parent_group_id": "{b_group_num}", "group_id": "{group_num}",
                                             "ip_protocol": "tcp", "from_port": 1, "to_port": 2}}),
        os_row(api, "DELETE", "/os-security-group-rules/{rule_num}"),
        os_row(api, "GET", "/os-floating-ips/{floating_num}"),
        os_row(api, "DELETE", "/os-floating-ips/{floating_num}"),
        os_row(api, "GET", "/os-floating-ips", LIST),
        os_row(api, "GET", "/os-volumes/{volume_num}"),
        os_row(api, "DELETE", "/os-volumes/{volume_num}"),
        os_row(api, "GET", "/os-volumes", LIST),
        os_row(api, "GET", "/os-volumes/detail", LIST),
        os_row(api, "POST", "/os-volumes", json={"volume": {"size": 1, "snapshot_id": "{snapshot_num}"}}),
        os_row(api, "GET", "/os-snapshots/{snapshot_num}"),
        os_row(api, "DELETE", "/os-snapshots/{snapshot_num}"),
        os_row(api, "GET", "/os-snapshots", LIST),
        os_row(api, "GET", "/os-snapshots/detail", LIST),
        os_row(api, "POST", "/os-snapshots", json={"snapshot": {"volume_id": "{volume_num}"}}),
        os_row(api, "GET", "/servers/{uuid}/os-volume_attachments"),
        os_row(api, "POST", "/servers/{uuid}/os-volume_attachments",
               json={"volumeAttachment": {"volumeId": "{b_volume_num}"}}),
        os_row(api, "POST", "/servers/{b_uuid}/os-volume_attachments",
               json={"volumeAttachment": {"volumeId": "{volume_num}"}}),
        os_row(api, "GET", "/servers/{uuid}/os-volume_attachments/{attached_num}"),
        os_row(api, "DELETE", "/servers/{uuid}/os-volume_attachments/{attached_num}"),
    ]


ADMIN_ONLY = "Forbidden"

OS_ROWS = [
    *common_os_rows("v2.1"),
    *server_action_rows("v2.1", V21_ACTIONS),
    os_row("v2.1", "POST", "/servers/{b_uuid}/action", json={"addFloatingIp": {"address": "{address}"}},
           name="action addFloatingIp"),
    os_row("v2.1", "POST", "/servers", BAD_REQUEST, json={"server": {"name": "x", "imageRef": "{public_image_num}",
                                                                     "flavorRef": "1", "key_name": "{key}"}}),
    os_row("v2.1", "POST", "/servers", BAD_REQUEST, json={"server": {"name": "x", "imageRef": "{public_image_num}",
                                                        "flavorRef": "1",
                                                        "security_groups": [{"name": "{group_name}"}]}}),
    os_row("v2.1", "GET", "/os-keypairs/{key}"),
    os_row("v2.1", "PUT", "/os-security-groups/{group_num}", "notImplemented",
           json={"security_group": {"name": "mine", "description": "mine"}}),
    os_row("v2.1", "POST", "/os-keypairs", OK, json={"keypair": {"name": "{key}"}}, cleanup=KEY_CLEANUP),
    os_row("v2.1", "POST", "/os-security-groups", OK,
           json={"security_group": {"name": "{group_name}", "description": "mine"}}, cleanup=GROUP_CLEANUP),
    os_row("v2.1", "POST", "/os-floating-ips", "itemNotFound", ghost=False),  # no free address left
    os_row("v2.1", "GET", "/os-floating-ip-pools", LIST),
    os_row("v2.1", "GET", "/os-availability-zone", LIST),
    os_row("v2.1", "GET", "/os-availability-zone/detail", ADMIN_ONLY, ghost=False),
    os_row("v2.1", "GET", "/os-quota-sets/proj-a", ADMIN_ONLY, ghost=False),
    os_row("v2.1", "PUT", "/os-quota-sets/proj-a", ADMIN_ONLY, json={"quota_set": {"instances": 1000}},
           ghost=False),
    os_row("v2.1", "GET", "/os-quota-sets/proj-a/defaults", LIST),
    os_row("v2.1", "GET", "/os-services", ADMIN_ONLY, ghost=False),
    os_row("v2.1", "PUT", "/os-services/disable", ADMIN_ONLY, json={"host": "test-host", "binary": "nova-compute"},
           ghost=False),
    os_row("v2.1", "PUT", "/os-services/enable", ADMIN_ONLY, json={"host": "test-host", "binary": "nova-compute"},
           ghost=False),
    os_row("v2.1", "GET", "/os-hypervisors", ADMIN_ONLY, ghost=False),
    os_row("v2.1", "GET", "/os-hypervisors/detail", ADMIN_ONLY, ghost=False),
    os_row("v2.1", "GET", "/os-hypervisors/1", ADMIN_ONLY, ghost=False),
    os_row("v2.1", "POST", "/flavors", ADMIN_ONLY, json={"flavor": {"name": "big", "ram": 1, "vcpus": 1,
                                                                     "disk": 1}}, ghost=False),
    os_row("v2.1", "DELETE", "/flavors/1", ADMIN_ONLY, ghost=False),
    *common_os_rows("v1.1"),
    *server_action_rows("v1.1", V11_ACTIONS),
    os_row("v1.1", "GET", "/servers/{uuid}/meta"),
    os_row("v1.1", "POST", "/servers/{uuid}/meta", json={"metadata": {"k": "v"}}),
    os_row("v1.1", "PUT", "/servers/{uuid}/meta", json={"metadata": {}}),
    os_row("v1.1", "GET", "/servers/{uuid}/meta/{meta_key}"),
    os_row("v1.1", "PUT", "/servers/{uuid}/meta/{meta_key}", json={"meta": {"{meta_key}": "bob"}}),
    os_row("v1.1", "DELETE", "/servers/{uuid}/meta/{meta_key}"),
    os_row("v1.1", "POST", "/images", json={"image": {"name": "stolen", "serverId": "{uuid}"}}),
    os_row("v1.1", "GET", "/images/{image_num}/meta"),
    os_row("v1.1", "POST", "/images/{image_num}/meta", json={"metadata": {"k": "v"}}),
    os_row("v1.1", "GET", "/images/{image_num}/meta/k"),
    os_row("v1.1", "PUT", "/images/{image_num}/meta/k", json={"meta": {"k": "v"}}),
    os_row("v1.1", "DELETE", "/images/{image_num}/meta/k"),
    os_row("v1.1", "POST", "/os-keypairs", OK, json={"keypair": {"name": "{key}"}}, cleanup=KEY_CLEANUP),
    os_row("v1.1", "POST", "/os-security-groups", OK,
           json={"security_group": {"name": "{group_name}", "description": "mine"}}, cleanup=GROUP_CLEANUP),
    os_row("v1.1", "POST", "/os-floating-ips", "itemNotFound", ghost=False),
    os_row("v1.1", "GET", "/", LIST),
    os_row("v1.1", "GET", "/extensions", LIST),
    os_row("v1.1", "GET", "/extensions/os-keypairs", LIST),
]


def api_row(api: str, method: str, path: str, expect: str = "404", json: Any = None, ghost: bool = True,
            body: bytes | None = None) -> Row:
    return Row(api, f"{method} {path}", {"method": method, "path": path, "json": json, "body": body}, expect, ghost)


# The image API v2 and the network API v2.0 (what the openstack client uses beside compute).
IMAGE_ROWS = [
    api_row("image", "GET", "/v2/images/{image_num}"),
    api_row("image", "DELETE", "/v2/images/{image_num}"),
    api_row("image", "GET", "/v2/images/{image_num}/file"),
    api_row("image", "PUT", "/v2/images/{image_num}/file", body=b"bob's disk"),
    api_row("image", "GET", "/v2/images", LIST),
    # naming alice's image id in a create: the id is read-only (403), nothing is made
    api_row("image", "POST", "/v2/images", ADMIN_ONLY, json={"name": "copy", "id": "{image_num}"}, ghost=False),
]
NETWORK_ROWS = [
    api_row("network", "GET", "/v2.0/security-groups/{net_group}"),
    api_row("network", "DELETE", "/v2.0/security-groups/{net_group}"),
    api_row("network", "GET", "/v2.0/security-groups", LIST),
    api_row("network", "POST", "/v2.0/security-groups", OK,
            json={"security_group": {"name": "{group_name}", "description": "mine"}}, ghost=False),
    api_row("network", "GET", "/v2.0/security-group-rules/{net_rule}"),
    api_row("network", "DELETE", "/v2.0/security-group-rules/{net_rule}"),
    api_row("network", "GET", "/v2.0/security-group-rules", LIST),
    api_row("network", "POST", "/v2.0/security-group-rules", json={"security_group_rule": {
        "security_group_id": "{net_group}", "direction": "ingress", "protocol": "tcp", "port_range_min": 1,
        "port_range_max": 2, "remote_ip_prefix": "10.0.0.0/8"}}),
    api_row("network", "GET", "/v2.0/networks/{net_network}"),
    api_row("network", "GET", "/v2.0/networks", LIST),
    api_row("network", "GET", "/v2.0/ports/{net_port}"),
    api_row("network", "GET", "/v2.0/ports?device_id={uuid}", LIST),
    api_row("network", "GET", "/v2.0/floatingips/{net_floating}"),
    api_row("network", "PUT", "/v2.0/floatingips/{net_floating}", json={"floatingip": {"port_id": None}}),
    api_row("network", "DELETE", "/v2.0/floatingips/{net_floating}"),
    api_row("network", "GET", "/v2.0/floatingips", LIST),
    api_row("network", "POST", "/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": "{net_pool}", "port_id": "{net_port}"}}),
    api_row("network", "GET", "/v2.0", LIST),
    api_row("network", "GET", "/v2.0/extensions", LIST),
    api_row("network", "GET", "/v2.0/extensions/security-group", LIST),
]


def s3_row(method: str, path: str, expect: str = "AccessDenied", body: bytes = b"",
           headers: dict[str, str] | None = None) -> Row:
    return Row("s3", f"{method} {path}", {"method": method, "path": path, "body": body, "headers": headers or {}},
               expect, ghost=False)


TAGGING = b'<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>'
S3_ROWS = [
    s3_row("GET", "/", LIST),
    s3_row("PUT", "/{bucket}", "BucketAlreadyExists"),
    s3_row("DELETE", "/{bucket}"),
    s3_row("HEAD", "/{bucket}"),
    s3_row("GET", "/{bucket}"),
    s3_row("GET", "/{bucket}?location"),
    s3_row("GET", "/{bucket}?uploads"),
    s3_row("GET", "/{bucket}?versioning"),
    s3_row("PUT", "/{bucket}?versioning",
           body=b'<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>'),
    s3_row("GET", "/{bucket}?versions"),
    s3_row("GET", "/{bucket}?acl"),
    s3_row("PUT", "/{bucket}?acl", headers={"x-amz-acl": "public-read-write"}),
    s3_row("GET", "/{bucket}?tagging"),
    s3_row("PUT", "/{bucket}?tagging", body=TAGGING),
    s3_row("DELETE", "/{bucket}?tagging"),
    s3_row("GET", "/{bucket}?cors"),
    s3_row("PUT", "/{bucket}?cors", body=b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>"
                                         b"<AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>"),
    s3_row("DELETE", "/{bucket}?cors"),
    s3_row("GET", "/{bucket}?publicAccessBlock"),
    s3_row("PUT", "/{bucket}?publicAccessBlock",
           body=b"<PublicAccessBlockConfiguration><BlockPublicAcls>false</BlockPublicAcls>"
                b"</PublicAccessBlockConfiguration>"),
    s3_row("DELETE", "/{bucket}?publicAccessBlock"),
    s3_row("POST", "/{bucket}?delete", body=b"<Delete><Object><Key>secret</Key></Object></Delete>"),
    s3_row("POST", "/{bucket}", body=b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nx\r\n--b\r\n"
                                     b"Content-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n"
                                     b"data\r\n--b--\r\n",
           headers={"Content-Type": "multipart/form-data; boundary=b"}),
    s3_row("GET", "/{bucket}/{object}"),
    s3_row("HEAD", "/{bucket}/{object}"),
    s3_row("PUT", "/{bucket}/{object}", body=b"bob's"),
    s3_row("PUT", "/{bucket}/new", body=b"bob's"),
    s3_row("DELETE", "/{bucket}/{object}"),
    s3_row("PUT", "/{b_bucket}/stolen", headers={"x-amz-copy-source": "/{bucket}/{object}"}),
    s3_row("PUT", "/{bucket}/copied", headers={"x-amz-copy-source": "/{b_bucket}/{b_object}"}),
    s3_row("GET", "/{bucket}/{object}?acl"),
    s3_row("PUT", "/{bucket}/{object}?acl", headers={"x-amz-acl": "public-read"}),
    s3_row("GET", "/{bucket}/{object}?tagging"),
    s3_row("PUT", "/{bucket}/{object}?tagging", body=TAGGING),
    s3_row("DELETE", "/{bucket}/{object}?tagging"),
    s3_row("GET", "/{bucket}/{object}?attributes", headers={"x-amz-object-attributes": "ETag"}),
    s3_row("POST", "/{bucket}/{object}?uploads"),
    s3_row("PUT", "/{bucket}/big?partNumber=1&uploadId={upload}", body=b"part"),
    s3_row("GET", "/{bucket}/big?uploadId={upload}"),
    s3_row("POST", "/{bucket}/big?uploadId={upload}",
           body=b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>"
                b"</CompleteMultipartUpload>"),
    s3_row("DELETE", "/{bucket}/big?uploadId={upload}"),
    s3_row("PUT", "/{b_bucket}/big?partNumber=1&uploadId={upload}",
           expect="NoSuchUpload", body=b"part"),
]

ROWS = EC2_ROWS + OS_ROWS + IMAGE_ROWS + NETWORK_ROWS + S3_ROWS


@pytest.fixture(scope="module")
def world(cloud) -> dict[str, str]:
    """alice's resources (the targets), bob's own (for rows that pair the two) and ids that exist nowhere."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    alices = resources.make_project_resources(cloud, "alice", "alices", "192.0.2.1")
    bobs = resources.make_project_resources(cloud, "bob", "bobs", "192.0.2.2")
    # bob's free address (allocated, not associated) and bob's free volume's number
    extra = resources.ec2_ok(cloud, "DisassociateAddress", "bob", PublicIp=bobs["address"])
    assert extra
    public_key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    common = {"public_image": cloud.image_id, "public_image_num": str(int(cloud.image_id[4:], 16)),
              "public_key": base64.b64encode(public_key).decode(), "network": "private",
              "meta_key": "alices-meta", "b_object": "secret",
              **{f"b_{key}": value for key, value in bobs.items()}}
    alices.update(network_ids(cloud, alices))
    ghosts = {"net_group": "268435455", "net_rule": "268435455", "net_network": "0fffffff-0000-4000-8000-0000000000ff",
              "net_port": "0fffffff-0000-4000-8000-0000000000fe",
              "net_floating": "0fffffff-0000-4000-8000-0000000000fd"}
    return {"alice": {**alices, **common}, "ghost": {**alices, **GHOSTS, **ghosts, **common}}


def network_ids(cloud, alices: dict[str, str]) -> dict[str, str]:
    """The ids the network API shows alice for her group, rule, network, port and floating address."""
    def listing(collection: str) -> list[dict[str, Any]]:
        reply = cloud.os("GET", f"/v2.0/{collection}", prefix="", app=cloud.network_app)
        assert reply.status == 200, reply.text
        return reply.json()[collection.split("?")[0].replace("-", "_")]

    group = next(g for g in listing("security-groups") if g["name"] == alices["group_name"])
    rule = next(r for r in listing("security-group-rules") if r["security_group_id"] == group["id"])
    port = next(p for p in listing(f"ports?device_id={alices['uuid']}"))
    floating = next(f for f in listing("floatingips") if f["floating_ip_address"] == alices["address"])
    return {"net_group": str(group["id"]), "net_rule": str(rule["id"]), "net_network": port["network_id"],
            "net_port": port["id"], "net_floating": str(floating["id"]),
            "net_pool": str(floating["floating_network_id"])}


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value and not value.startswith("<") else value
    if isinstance(value, dict):
        return {fill(k, ids): fill(v, ids) for k, v in value.items()}
    if isinstance(value, bytes):
        return value
    return value


def send(cloud, row: Row, ids: dict[str, str]) -> Any:
    args = fill(row.args, ids)
    if row.api == "ec2":
        return cloud.ec2(row.name, user="bob", **args)
    if row.api == "s3":
        return cloud.s3(args["method"], args["path"], "bob", body=row.args["body"], headers=args["headers"])
    if row.api in ("image", "network"):
        headers = {"Content-Type": "application/octet-stream"} if row.args.get("body") else None
        return cloud.os(args["method"], args["path"], "bob", json=args["json"], prefix="",
                        body=row.args.get("body"), headers=headers,
                        app=cloud.image_app if row.api == "image" else cloud.network_app)
    return cloud.os(args["method"], args["path"], "bob", json=args["json"], prefix="/" + row.api)


SHOWN_IDS = ("instance", "uuid", "volume", "attached_volume", "snapshot", "image", "group", "group_name", "address",
             "allocation", "key", "bucket", "net_port")


def check_expected(row: Row, reply: Any) -> None:
    if row.expect in (LIST, OK):
        assert reply.status < 300, reply.text
    elif row.expect == NOT_FOUND:
        assert (reply.status, reply.code) == (404, "itemNotFound"), reply.text
    elif row.expect == "404":  # image and network APIs: their own 404 document
        assert reply.status == 404, reply.text
    elif row.expect == ADMIN_ONLY:
        assert reply.status == 403, reply.text
    else:  # the API's own error: a 4xx, 501 for what is not supported, 503 for "none left"; never a 500
        assert 400 <= reply.status < 500 or reply.status in (501, 503), reply.text
        if row.api != "s3" or row.args["method"] != "HEAD":  # a HEAD answer has no body
            assert reply.code == row.expect, reply.text


def alice_unchanged(before: dict[str, Any], after: dict[str, Any], row: Row) -> None:
    """Nothing changed; after an OK row (bob made something of his own) no existing row changed."""
    assert resources.difference(before, after, allow_new=row.expect == OK) == []


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_other_projects_resources_are_not_there(cloud, world, row):
    full = row.expect == OK or row.full
    before = resources.fingerprint(cloud) if full else resources.files_and_domains(cloud)
    with resources.Writes() as writes:
        reply = send(cloud, row, world["alice"])
        check_expected(row, reply)
        sent = json.dumps(fill(row.args, world["alice"]), default=str)
        for secret in SECRETS:
            if secret not in sent:
                assert secret not in reply.text, f"{secret} in {reply.text[:2000]}"
        if row.expect == LIST:  # a listing shows none of alice's resources, by id or name
            for kind in SHOWN_IDS:
                shown = re.search(rf"(?<![\w.-]){re.escape(world['alice'][kind])}(?![\w.])", reply.text)
                assert not shown, f"{kind} {world['alice'][kind]} in {reply.text[:2000]}"
        if row.ghost:
            ghost = send(cloud, row, world["ghost"])
            assert (ghost.status, ghost.code) == (reply.status, reply.code), (reply.text, ghost.text)
        for api, args in row.cleanup:
            for ids in (world["alice"], world["ghost"]):
                call = fill(args, ids)
                done = (cloud.ec2(call.pop("Action"), user="bob", **call) if api == "ec2"
                        else cloud.os(user="bob", **call))
                assert done.status < 300 or ids is world["ghost"], done.text
    if full:
        alice_unchanged(before, resources.fingerprint(cloud), row)
    else:
        assert writes.statements == []
        assert resources.files_and_domains(cloud) == before


# -- completeness: every action of every router has a row ----------------------------------------------

def test_matrix_covers_every_ec2_action():
    assert set(CloudController().actions) - {row.name for row in EC2_ROWS} == set()


def _route_names(routes: list[Any]) -> set[str]:
    names = set()
    for method, path, _controller, _action in routes:
        path = re.sub(r"\{\w+\}", lambda m: PLACEHOLDERS[m.group()], path)
        names.add(f"{method} {path}")
    return names


# Route placeholders -> the row placeholders (or values) that name alice's resource there.
PLACEHOLDERS = {"{server_id}": "{uuid}", "{image_id}": "{image_num}", "{name}": "{key}",
                "{group_id}": "{group_num}", "{rule_id}": "{rule_num}", "{floating_ip_id}": "{floating_num}",
                "{volume_id}": "{volume_num}", "{snapshot_id}": "{snapshot_num}", "{network}": "{network}",
                "{key}": "{meta_key}", "{flavor_id}": "1", "{project_id_q}": "proj-a", "{hypervisor_id}": "1",
                "{alias}": "os-keypairs"}


def _covered(api: str) -> set[str]:
    covered = set()
    for row in OS_ROWS:
        if row.api == api:
            path = row.args["path"].replace("{b_uuid}", "{uuid}").replace("{attached_num}", "{volume_num}")
            covered.add(f"{row.args['method']} {path}")
    return covered


@pytest.mark.parametrize("api, routes", [("v2.1", os_router.v21_routes), ("v1.1", v11_router.v11_routes)])
def test_matrix_covers_every_openstack_route(api, routes):
    meta_images = {n.replace("{meta_key}", "k") for n in _route_names(routes()) if "/images/" in n}
    others = {n for n in _route_names(routes()) if "/images/" not in n}
    assert (others | meta_images) - _covered(api) == set()


def _action_rows(api: str) -> set[str]:
    return {row.name[len("action "):] for row in OS_ROWS if row.api == api and row.name.startswith("action ")}


def test_matrix_covers_every_server_action():
    assert set(ServerActionsController()._handlers()) - _action_rows("v2.1") == set()
    assert {"reboot", "createImage", *v11_servers._UNSUPPORTED} - _action_rows("v1.1") == set()


def _handler_name(handler: Any, method: str) -> str:
    name = f"{handler.__module__}.{handler.__qualname__}"
    return f"{name} {method}" if "<lambda>" in name else name


def _s3_handler(method: str, path: str, headers: dict[str, str]) -> str:
    target, _, query = path.partition("?")
    bucket, _, key = target[1:].partition("/")
    params = dict(part.partition("=")[::2] for part in query.split("&") if part)
    return _handler_name(s3_app.route(method, bool(bucket), bool(key), params, headers), method)


def test_matrix_covers_every_s3_operation():
    queries = ["", "location", "uploads", "delete", "uploadId=u", "partNumber=1&uploadId=u",
               *s3_app._BUCKET_SUBRESOURCES, *s3_app._OBJECT_SUBRESOURCES]
    reachable = set()
    for method, path, query, copy in itertools.product(("GET", "PUT", "POST", "DELETE", "HEAD"),
                                                       ("/", "/b", "/b/k"), queries, (False, True)):
        headers = {"x-amz-copy-source": "/b/k"} if copy else {}
        try:
            reachable.add(_s3_handler(method, path + ("?" + query if query else ""), headers))
        except Exception:  # MethodNotAllowed / NotImplemented: no handler there
            continue
    covered = {_s3_handler(row.args["method"], row.args["path"], row.args["headers"]) for row in S3_ROWS}
    assert reachable - covered == set()


@pytest.mark.parametrize("api, app_name", [("image", "image"), ("network", "network")])
def test_matrix_covers_every_image_and_network_route(cloud, api, app_name):
    app = cloud.image_app if api == "image" else cloud.network_app
    while not hasattr(app, "routes"):
        app = app.application
    rows = [row for row in IMAGE_ROWS + NETWORK_ROWS if row.api == api]
    for pattern, methods in app.routes:
        for method in methods:
            assert any(row.args["method"] == method and pattern.match(row.args["path"].split("?")[0])
                       for row in rows), f"{method} {pattern.pattern}"
