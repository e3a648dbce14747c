"""DescribeVolumes and DescribeSnapshots make as many SQL statements for 60 rows as for 5, for all
of them and for a page, a page is cut in SQL, and another project's rows are on no page."""

from __future__ import annotations

from typing import Any

import pytest

from nova import context
from nova.db import api as db
from tests.fixtures.sql import counting_statements as counting

ALICE = context.RequestContext(user_id="alice", project_id="proj-a")
BOB = context.RequestContext(user_id="bob", project_id="proj-b")
# resource -> (describe call, response key, id key, table, row maker)
KINDS = {
    "volumes": ("describe_volumes", "Volumes", "VolumeId", "volumes",
                lambda ctxt, n: db.volume_create(ctxt, {"size": 1, "status": "available", "availability_zone": "nova",
                                                        "display_name": f"v{n}"})),
    "snapshots": ("describe_snapshots", "Snapshots", "SnapshotId", "snapshots",
                  lambda ctxt, n: db.snapshot_create(ctxt, {"volume_id": 1, "status": "available",
                                                            "volume_size": 1, "display_name": f"s{n}"})),
}


def _counted(client: Any, call: str, **kwargs: Any) -> tuple[list[str], dict[str, Any]]:
    getattr(client, call)(**kwargs)
    with counting() as statements:
        response = getattr(client, call)(**kwargs)
    return statements, response


@pytest.mark.parametrize("kind", KINDS)
def test_statements_do_not_grow_and_a_page_is_cut_in_sql(ec2_env, kind):
    call, key, id_key, table, make = KINDS[kind]
    hidden = make(BOB, 0)
    for n in range(5):
        make(ALICE, n)
    client = ec2_env.client()
    small_all, listed = _counted(client, call)
    small_page, _ = _counted(client, call, MaxResults=5)
    assert len(listed[key]) == 5
    for n in range(5, 60):
        make(ALICE, n)
    large_all, listed = _counted(client, call)
    large_page, first = _counted(client, call, MaxResults=5)
    assert len(listed[key]) == 60
    assert (len(small_all), len(small_page)) == (len(large_all), len(large_page))
    assert len([s for s in large_page if f"FROM {table}" in s and "LIMIT" in s]) == 1, large_page
    seen, page = [], first
    while True:
        seen += [item[id_key] for item in page[key]]
        if not page.get("NextToken"):
            break
        page = getattr(client, call)(MaxResults=5, NextToken=page["NextToken"])
    assert len(seen) == len(set(seen)) == 60 and seen == sorted(seen)
    assert not [item for item in seen if item.endswith("-%08x" % hidden["id"])]
