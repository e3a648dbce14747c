"""DescribeImages makes as many SQL statements for 200 images as for 10, and pages."""

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
    add_images(0, 10)
    small, seen = counts(ec2_env)
    assert seen == 11  # the public cirros image and proj-a's ten
    add_images(10, 200)
    large, seen = counts(ec2_env)
    assert seen == 201
    assert large == small
    tagged = ec2_env.client().describe_images(Filters=[{"Name": "tag:Name", "Values": ["image-199"]}])["Images"]
    assert [i["Name"] for i in tagged] == ["img-199"]


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
