"""db.instance_get_listing: a project's instances with what hangs off them, pages by id, never
another project's rows (tests/integration/db reruns it on PostgreSQL and MariaDB)."""

import pytest

from nova import context
from nova.db import api as db

ADMIN = context.get_admin_context()
ALICE = context.RequestContext("alice", "proj-a")
BOB = context.RequestContext("bob", "proj-b")


@pytest.fixture
def instances(db_url):
    """Three of alice's instances and one of bob's, each with a group, metadata, a tag and an address."""
    network = db.network_create_safe(ADMIN, {"label": "net", "cidr": "10.9.0.0/24", "bridge": "br9"})
    made = {}
    for n, ctxt in enumerate((ALICE, ALICE, BOB, ALICE)):
        group = db.security_group_create(ctxt, {"name": f"g{n}", "description": "d"})
        [row] = db.instance_create_many(ctxt, [{"metadata": {"role": f"r{n}"}, "hostname": f"h{n}"}], [group["id"]])
        db.tag_create_or_update(ctxt, "instance", row["id"], "Name", f"vm-{n}")
        db.fixed_ip_bulk_create(ADMIN, [{"address": f"10.9.0.{10 + n}", "network_id": network["id"],
                                         "instance_id": row["id"], "allocated": True, "mac_address": f"02:00:00:00:00:{n:02x}"}])
        made[row["id"]] = (ctxt.project_id, n)
    return made


def test_a_project_lists_its_own_instances_with_what_they_show(instances):
    listed = db.instance_get_listing(ALICE)
    assert [(row["project_id"], row["hostname"]) for row in listed] == [("proj-a", "h0"), ("proj-a", "h1"),
                                                                        ("proj-a", "h3")]
    for row in listed:
        n = instances[row["id"]][1]
        assert [g["name"] for g in row.security_groups] == [f"g{n}"]
        assert row.metadata_dict == {"role": f"r{n}"}
        assert row.tags == {"Name": f"vm-{n}"}
        assert row.nics == [{"address": f"10.9.0.{10 + n}", "mac": f"02:00:00:00:00:{n:02x}", "label": "net",
                             "floating": []}]
    assert [row["hostname"] for row in db.instance_get_listing(BOB)] == ["h2"]
    assert len(db.instance_get_listing(ADMIN)) == 4


def test_pages_follow_ids_and_stay_in_the_project(instances):
    first = db.instance_get_listing(ALICE, {}, None, 2)
    assert [row["hostname"] for row in first] == ["h0", "h1"]
    rest = db.instance_get_listing(ALICE, {}, first[-1]["id"], 2)
    assert [row["hostname"] for row in rest] == ["h3"]
    assert [row.tags["Name"] for row in rest] == ["vm-3"]
    assert db.instance_get_listing(ALICE, {}, rest[-1]["id"], 2) == []
    bobs = [i for i, (project, _n) in instances.items() if project == "proj-b"]
    assert db.instance_get_listing(ALICE, {"instance_ids": bobs}) == []


def test_an_instance_launched_during_a_listing_is_left_for_the_next_one(instances, monkeypatch):
    """The related statements rerun the listing's query and, on PostgreSQL, can see an instance committed after
    the first one read the page: its groups, metadata, tags and addresses must not break the listing (a
    DescribeInstances during a burst of RunInstances answered 500)."""
    from nova.db.sqlalchemy.api import instance_listing

    real = instance_listing._add_related

    def first_statement_missed_the_newest(ctxt, session, connection, listed, ids):
        newest = max(listed)
        real(ctxt, session, connection, {i: row for i, row in listed.items() if i != newest}, ids)

    monkeypatch.setattr(instance_listing, "_add_related", first_statement_missed_the_newest)
    listed = db.instance_get_listing(ALICE)
    assert [row["hostname"] for row in listed] == ["h0", "h1", "h3"]
    assert [row.tags for row in listed[:2]] == [{"Name": "vm-0"}, {"Name": "vm-1"}]


def test_newest_first_pages_after_a_marker_and_never_past_the_project(instances):
    """servers' order (created_at, then id, newest first) with ties broken by id; a page after a marker
    carries its own groups and tags; another project's uuid is no marker."""
    import datetime

    from nova import exception

    alice = sorted(i for i, (project, _n) in instances.items() if project == "proj-a")
    same = datetime.datetime(2011, 7, 1, 12, 0, 0)
    for db_id in alice:  # one second for all: the order rests on the ids
        db.instance_update(ADMIN, db_id, {"created_at": same})
    listed = db.instance_get_listing(ALICE, newest_first=True)
    assert [row["hostname"] for row in listed] == ["h3", "h1", "h0"]
    first = db.instance_get_listing(ALICE, limit=2, newest_first=True)
    assert [row["hostname"] for row in first] == ["h3", "h1"]
    rest = db.instance_get_listing(ALICE, limit=2, newest_first=True, marker=first[-1]["uuid"])
    assert [(row["hostname"], row.tags, [g["name"] for g in row.security_groups]) for row in rest] == [
        ("h0", {"Name": "vm-0"}, ["g0"])]
    assert db.instance_get_listing(ALICE, limit=2, newest_first=True, marker=rest[-1]["uuid"]) == []
    bobs = db.instance_get_listing(BOB)[0]["uuid"]
    with pytest.raises(exception.MarkerNotFound):
        db.instance_get_listing(ALICE, limit=2, newest_first=True, marker=bobs)
    db.instance_update(ADMIN, alice[0], {"created_at": same + datetime.timedelta(seconds=1)})
    assert [row["hostname"] for row in db.instance_get_listing(ALICE, newest_first=True)] == ["h0", "h3", "h1"]
