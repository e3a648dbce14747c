"""DescribeSecurityGroups makes as many SQL statements for 60 groups as for 5 (and for a page), and pages: a query
per group, or per few groups, would show as a difference."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from nova import context
from nova.db import api as db
from tests.fixtures.sql import counting_statements as counting
from tests.unit.api.conftest import error_of

ALICE = context.RequestContext(user_id="alice", project_id="proj-a")


def add_groups(first: int, last: int) -> None:
    """Groups ``first..last-1`` of proj-a, each with a CIDR rule, a rule naming the previous group and a tag."""
    previous = db.security_group_get_by_name(ALICE, "proj-a", "default")["id"] if first == 0 else \
        db.security_group_get_by_name(ALICE, "proj-a", f"g{first - 1}")["id"]
    for n in range(first, last):
        group = db.security_group_create(ALICE, {"name": f"g{n}", "description": f"group {n}"})
        db.security_group_rule_create(ALICE, {"parent_group_id": group["id"], "protocol": "tcp", "from_port": 22,
                                              "to_port": 22, "cidr": "10.0.0.0/8"})
        db.security_group_rule_create(ALICE, {"parent_group_id": group["id"], "protocol": "tcp", "from_port": 80,
                                              "to_port": 80, "group_id": previous})
        db.tag_create_or_update(ALICE, "security-group", group["id"], "Name", f"web-{n}")
        previous = group["id"]


def describe_count(client: Any) -> tuple[int, list[dict[str, Any]]]:
    with counting() as statements:
        groups = client.describe_security_groups()["SecurityGroups"]
    return len(statements), groups


def test_describe_security_groups_queries_do_not_grow(ec2_env):
    client = ec2_env.client()
    client.describe_security_groups()  # creates "default", warms the credentials cache
    add_groups(0, 5)
    small, groups = describe_count(client)
    assert len(groups) == 6
    add_groups(5, 60)
    large, groups = describe_count(client)
    assert len(groups) == 61
    assert large == small
    last = next(g for g in groups if g["GroupName"] == "g59")
    assert last["Tags"] == [{"Key": "Name", "Value": "web-59"}]
    by_port = {p["FromPort"]: p for p in last["IpPermissions"]}
    assert by_port[22]["IpRanges"] == [{"CidrIp": "10.0.0.0/8"}]
    assert [(g["GroupName"], g["UserId"]) for g in by_port[80]["UserIdGroupPairs"]] == [("g58", "proj-a")]


def test_describe_security_groups_pages(ec2_env):
    client = ec2_env.client()
    client.describe_security_groups()
    add_groups(0, 11)
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"MaxResults": 5, **({"NextToken": token} if token else {})}
        page = client.describe_security_groups(**kwargs)
        pages += 1
        assert len(page["SecurityGroups"]) <= 5
        seen += [g["GroupName"] for g in page["SecurityGroups"]]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted(["default"] + [f"g{n}" for n in range(11)])
    with pytest.raises(ClientError) as excinfo:
        client.describe_security_groups(MaxResults=5, NextToken="junk")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)


def test_a_page_is_cut_in_sql_and_costs_the_same_at_ten_times_the_groups(ec2_env):
    client = ec2_env.client()
    client.describe_security_groups()
    add_groups(0, 5)
    with counting() as small:
        first = client.describe_security_groups(MaxResults=5)
    add_groups(5, 60)
    with counting() as large:
        again = client.describe_security_groups(MaxResults=5)
    assert len(small) == len(large)
    assert first["SecurityGroups"] == again["SecurityGroups"]
    assert len([s for s in large if "FROM security_groups" in s and "LIMIT" in s]) == 1, large
    # bob pages through his own groups only
    bob = ec2_env.client("AK-BOB", "SK-BOB")
    bob.describe_security_groups()
    page = bob.describe_security_groups(MaxResults=5)
    assert [(g["GroupName"], g["OwnerId"]) for g in page["SecurityGroups"]] == [("default", "proj-b")]
    assert "NextToken" not in page
