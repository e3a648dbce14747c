"""CreateTags, DescribeTags, DeleteTags."""

import pytest
from botocore.exceptions import ClientError

from tests.unit.api.conftest import error_of
from tests.unit.api.ec2.test_volumes import cloud  # noqa: F401


def test_tags_on_key_pairs_and_groups(ec2_env):
    client = ec2_env.client()
    key_id = client.create_key_pair(KeyName="k")["KeyPairId"]
    group_id = client.create_security_group(GroupName="g", Description="d")["GroupId"]
    client.create_tags(Resources=[key_id, group_id], Tags=[{"Key": "env", "Value": "prod"},
                                                           {"Key": "Name", "Value": "x"}])
    tags = client.describe_tags()["Tags"]
    assert sorted((t["ResourceId"], t["Key"], t["Value"]) for t in tags) == sorted([
        (key_id, "env", "prod"), (key_id, "Name", "x"), (group_id, "env", "prod"), (group_id, "Name", "x")])
    only = client.describe_tags(Filters=[{"Name": "resource-type", "Values": ["security-group"]},
                                         {"Name": "key", "Values": ["env"]}])["Tags"]
    assert [(t["ResourceId"], t["ResourceType"]) for t in only] == [(group_id, "security-group")]
    assert client.describe_key_pairs(Filters=[{"Name": "tag:env", "Values": ["prod"]}])["KeyPairs"][0]["KeyName"] == "k"

    client.delete_tags(Resources=[key_id], Tags=[{"Key": "env", "Value": "staging"}])
    assert len(client.describe_tags(Filters=[{"Name": "resource-id", "Values": [key_id]}])["Tags"]) == 2
    client.delete_tags(Resources=[key_id], Tags=[{"Key": "env"}])
    assert [t["Key"] for t in client.describe_tags(Filters=[{"Name": "resource-id", "Values": [key_id]}])["Tags"]] \
        == ["Name"]
    page = client.describe_tags(MaxResults=5)
    assert len(page["Tags"]) == 3 and "NextToken" not in page

    assert ec2_env.client("AK-BOB", "SK-BOB").describe_tags()["Tags"] == []


@pytest.mark.parametrize("resource, tag, code", [
    ("i-0000ffff", {"Key": "a", "Value": "b"}, "InvalidInstanceID.NotFound"),
    ("bogus-1", {"Key": "a", "Value": "b"}, "InvalidID"),
    ("i-zz", {"Key": "a", "Value": "b"}, "InvalidInstanceID.Malformed"),
    ("key-00000001", {"Key": "aws:x", "Value": "b"}, "InvalidParameterValue"),
    ("key-00000001", {"Key": "k" * 200, "Value": "b"}, "InvalidParameterValue"),
])
def test_bad_tag_requests(ec2_env, resource, tag, code):
    client = ec2_env.client()
    client.create_key_pair(KeyName="k")
    with pytest.raises(ClientError) as excinfo:
        client.create_tags(Resources=[resource], Tags=[tag])
    assert error_of(excinfo) == (code, 400)


def _spec(kind, value):
    return [{"ResourceType": kind, "Tags": [{"Key": "team", "Value": value}, {"Key": f"only-{kind}"}]}]


def test_tag_specifications_filters_and_tag_sets_on_every_taggable_resource(cloud):
    """Each create call takes TagSpecification; each Describe shows the tagSet and takes tag:KEY,
    tag-key and tag-value; DescribeTags lists them under EC2's resource types."""
    from tests.unit.api.ec2.test_volumes import wait_status

    from nova import context
    from nova.db import api as db

    db.floating_ip_bulk_create(context.get_admin_context(), "net", ["198.51.100.20"])
    client = cloud["env"].client()
    instance = client.run_instances(ImageId=cloud["env"].image_id, MinCount=1, MaxCount=1,
                                    BlockDeviceMappings=[{"DeviceName": "/dev/vdb", "Ebs": {"VolumeSize": 1}}],
                                    TagSpecifications=_spec("instance", "red") + _spec("volume", "red"))[
        "Instances"][0]["InstanceId"]
    volume = client.create_volume(Size=1, AvailabilityZone="nova", TagSpecifications=_spec("volume", "blue"))[
        "VolumeId"]
    wait_status(client, volume, "available")
    snapshot = client.create_snapshot(VolumeId=volume, TagSpecifications=_spec("snapshot", "blue"))["SnapshotId"]
    group = client.create_security_group(GroupName="tagged", Description="d",
                                         TagSpecifications=_spec("security-group", "blue"))["GroupId"]
    key = client.create_key_pair(KeyName="tagged", TagSpecifications=_spec("key-pair", "blue"))["KeyPairId"]
    imported = client.import_key_pair(KeyName="imported", PublicKeyMaterial=_public_key(),
                                      TagSpecifications=_spec("key-pair", "red"))["KeyPairId"]
    image = client.copy_image(SourceImageId=cloud["env"].image_id, SourceRegion="nova", Name="tagged",
                              TagSpecifications=_spec("image", "red"))["ImageId"]
    address = client.allocate_address(TagSpecifications=_spec("elastic-ip", "red"))["AllocationId"]
    [instance_volume] = [m["Ebs"]["VolumeId"] for m in client.describe_instances(InstanceIds=[instance])[
        "Reservations"][0]["Instances"][0]["BlockDeviceMappings"]]

    describes = {  # resource id -> (describe call, its list, the id field)
        "instance": (lambda **f: [i for r in client.describe_instances(**f)["Reservations"] for i in r["Instances"]],
                     "InstanceId", [instance]),
        "volume": (lambda **f: client.describe_volumes(**f)["Volumes"], "VolumeId", [instance_volume, volume]),
        "snapshot": (lambda **f: client.describe_snapshots(OwnerIds=["self"], **f)["Snapshots"], "SnapshotId",
                     [snapshot]),
        "security-group": (lambda **f: client.describe_security_groups(**f)["SecurityGroups"], "GroupId", [group]),
        "key-pair": (lambda **f: client.describe_key_pairs(**f)["KeyPairs"], "KeyPairId", [key, imported]),
        "image": (lambda **f: client.describe_images(Owners=["self"], **f)["Images"], "ImageId", [image]),
        "elastic-ip": (lambda **f: client.describe_addresses(**f)["Addresses"], "AllocationId", [address]),
    }
    red = {instance, instance_volume, imported, image, address}
    for kind, (describe, field, ids) in describes.items():
        listed = {item[field]: item for item in describe()}
        for resource_id in ids:
            colour = "red" if resource_id in red else "blue"
            assert sorted(listed[resource_id]["Tags"], key=lambda t: t["Key"]) == [
                {"Key": f"only-{kind}", "Value": ""}, {"Key": "team", "Value": colour}], (kind, resource_id)
        for filters, expected in (
                ([{"Name": "tag:team", "Values": ["red"]}], [i for i in ids if i in red]),
                ([{"Name": "tag:team", "Values": ["bl*"]}], [i for i in ids if i not in red]),
                ([{"Name": "tag-key", "Values": [f"only-{kind}"]}], ids),
                ([{"Name": "tag-key", "Values": ["nothing"]}], []),
                ([{"Name": "tag-value", "Values": ["red", "blue"]}], ids),
                ([{"Name": "tag:team", "Values": ["red"]}, {"Name": "tag-value", "Values": ["blue"]}], [])):
            assert sorted(item[field] for item in describe(Filters=filters)) == sorted(expected), (kind, filters)
        tagged = client.describe_tags(Filters=[{"Name": "resource-type", "Values": [kind]},
                                               {"Name": "key", "Values": ["team"]}])["Tags"]
        assert sorted(t["ResourceId"] for t in tagged) == sorted(ids), kind
    with pytest.raises(ClientError) as excinfo:
        client.create_security_group(GroupName="wrong", Description="d", TagSpecifications=_spec("instance", "x"))
    assert error_of(excinfo) == ("InvalidParameterValue", 400)


def _public_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                                          serialization.PublicFormat.OpenSSH)
