"""DescribeAccountAttributes: EC2-Classic, and the project's quotas as limits."""

import pytest
from botocore.exceptions import ClientError

from nova import context, quota
from tests.unit.api.conftest import error_of


def _attributes(client, **kwargs):
    return {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
            for a in client.describe_account_attributes(**kwargs)["AccountAttributes"]}


def test_all_attributes_show_the_platform_and_the_project_quotas(ec2_env):
    quota.set_project_quota(context.get_admin_context(), "proj-a", "instances", 7)
    quota.set_project_quota(context.get_admin_context(), "proj-a", "floating_ips", -1)
    shown = _attributes(ec2_env.client())
    assert shown == {"supported-platforms": ["EC2"], "default-vpc": ["none"], "max-instances": ["7"],
                     "max-elastic-ips": ["-1"], "vpc-max-elastic-ips": ["0"],
                     "vpc-max-security-groups-per-interface": ["0"]}
    default = str(quota.default_quotas()["instances"])
    assert _attributes(ec2_env.client("AK-BOB", "SK-BOB"))["max-instances"] == [default]


def test_attribute_names_narrow_the_answer(ec2_env):
    client = ec2_env.client()
    assert _attributes(client, AttributeNames=["default-vpc", "supported-platforms"]) == {
        "default-vpc": ["none"], "supported-platforms": ["EC2"]}
    with pytest.raises(ClientError) as excinfo:
        client.describe_account_attributes(AttributeNames=["max-unicorns"])
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
