"""CreateTags, DescribeTags, DeleteTags."""

import pytest
from botocore.exceptions import ClientError

from tests.unit.api.conftest import error_of


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
