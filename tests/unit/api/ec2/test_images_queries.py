"""DescribeImages makes as many SQL statements for 60 images as for 5 (and for a page), and pages: a query per
image, or per few images, would show as a difference."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from nova import context
from nova.db import api as db
from tests.unit.api.conftest import error_of
from tests.fixtures.sql import counting_statements as counting

ADMIN = context.get_admin_context()
ALICE = context.RequestContext(user_id="alice", project_id="proj-a")


def add_images(first: int, last: int) -> None:
    """Private images of proj-a that proj-b may launch, each with a tag."""
    for n in range(first, last):
        image = db.image_create(ADMIN, {"name": f"img-{n}", "project_id": "proj-a", "type": "machine",
                                        "state": "available", "is_public": False,
                                        "properties": {"image_location": f"bucket/img-{n}.manifest.xml"}})
        db.image_launch_permission_add(ADMIN, image["id"], "proj-b")
        db.tag_create_or_update(ALICE, "image", image["id"], "Name", f"image-{n}")


def counts(ec2_env: Any) -> tuple[tuple[int, int], int]:
    """(statements for alice's DescribeImages, for bob's ExecutableBy=self), and how many bob saw."""
    alice, bob = ec2_env.client(), ec2_env.client("AK-BOB", "SK-BOB")
    with counting() as mine:
        alice.describe_images(Owners=["self"])
    with counting() as launchable:
        seen = bob.describe_images(ExecutableUsers=["self"])["Images"]
    return (len(mine), len(launchable)), len(seen)


def test_describe_images_queries_do_not_grow(ec2_env):
    ec2_env.client().describe_images()
    ec2_env.client("AK-BOB", "SK-BOB").describe_images()  # warm the credentials cache
    add_images(0, 5)
    small, seen = counts(ec2_env)
    assert seen == 6  # the public cirros image and proj-a's five
    add_images(5, 60)
    large, seen = counts(ec2_env)
    assert seen == 61
    assert large == small
    tagged = ec2_env.client().describe_images(Filters=[{"Name": "tag:Name", "Values": ["image-59"]}])["Images"]
    assert [i["Name"] for i in tagged] == ["img-59"]


def test_describe_images_pages(ec2_env):
    add_images(0, 11)
    client = ec2_env.client()
    seen, token, pages = [], None, 0
    while True:
        page = client.describe_images(MaxResults=5, **({"NextToken": token} if token else {}))
        pages += 1
        seen += [i["ImageId"] for i in page["Images"]]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 12
    with pytest.raises(ClientError) as excinfo:
        client.describe_images(MaxResults=5, NextToken="99")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)


def _page_statements(client: Any, **kwargs: Any) -> tuple[list[str], dict[str, Any]]:
    with counting() as statements:
        page = client.describe_images(MaxResults=5, **kwargs)
    return statements, page


def test_a_page_is_cut_in_sql_and_costs_the_same_at_ten_times_the_images(ec2_env):
    client = ec2_env.client()
    client.describe_images()
    add_images(0, 5)
    small, first = _page_statements(client)
    add_images(5, 60)
    large, again = _page_statements(client)
    assert len(small) == len(large)
    assert [i["ImageId"] for i in first["Images"]] == [i["ImageId"] for i in again["Images"]]
    listing = [s for s in large if "FROM images" in s and "LIMIT" in s]
    assert len(listing) == 1, large  # the page is one SELECT with a LIMIT, not the whole table
    _statements, after = _page_statements(client, NextToken=again["NextToken"])
    assert not {i["ImageId"] for i in after["Images"]} & {i["ImageId"] for i in again["Images"]}
    # a private image of proj-a without a launch permission is on none of bob's pages, and every
    # image bob may launch is on exactly one
    hidden = db.image_create(ADMIN, {"name": "hidden", "project_id": "proj-a", "type": "machine",
                                     "state": "available", "is_public": False})
    bob, seen, token = ec2_env.client("AK-BOB", "SK-BOB"), [], None
    while True:
        page = bob.describe_images(MaxResults=5, **({"NextToken": token} if token else {}))
        seen += [i["ImageId"] for i in page["Images"]]
        token = page.get("NextToken")
        if not token:
            break
    assert "ami-%08x" % hidden["id"] not in seen
    assert len(seen) == len(set(seen)) == 61
