"""Instances through nova.db.api: project scoping and soft deletion."""

import uuid

import pytest
from sqlalchemy import select

from nova import context, exception
from nova.db import api as db
from nova.db.sqlalchemy import models, session


@pytest.fixture
def admin():
    return context.get_admin_context()


@pytest.fixture
def alice():
    return context.RequestContext("alice", "proj-a")


@pytest.fixture
def bob():
    return context.RequestContext("bob", "proj-b")


def test_create_fills_uuid_owner_and_metadata(db_url, alice):
    small = db.instance_type_get_by_name(alice, "m1.small")
    instance = db.instance_create(alice, {"instance_type_id": small["id"], "display_name": "web",
                                          "vm_state": "building", "metadata": {"role": "web", "tier": "1"}})
    assert (instance["project_id"], instance["user_id"]) == ("proj-a", "alice")
    assert str(uuid.UUID(instance["uuid"])) == instance["uuid"]
    assert instance["name"] == "instance-%08x" % instance["id"]
    assert instance.to_dict()["name"] == instance["name"]
    assert instance.metadata_dict == {"role": "web", "tier": "1"}
    assert instance.instance_type["name"] == "m1.small"
    assert instance["power_state"] == 0 and instance["task_state"] is None

    fetched = db.instance_get(alice, instance["id"])
    assert fetched["display_name"] == "web" and fetched.metadata_dict == {"role": "web", "tier": "1"}


def test_uuids_are_unique(db_url, admin):
    db.instance_create(admin, {"uuid": "11111111-1111-1111-1111-111111111111", "project_id": "p"})
    with pytest.raises(exception.Duplicate):
        db.instance_create(admin, {"uuid": "11111111-1111-1111-1111-111111111111", "project_id": "p"})


def test_a_project_cannot_reach_another_projects_instance(db_url, alice, bob):
    theirs = db.instance_create(bob, {"display_name": "bobs"})
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get(alice, theirs["id"])
    with pytest.raises(exception.InstanceNotFound):
        db.instance_update(alice, theirs["id"], {"display_name": "mine now"})
    with pytest.raises(exception.InstanceNotFound):
        db.instance_destroy(alice, theirs["id"])
    assert db.instance_get(bob, theirs["id"])["display_name"] == "bobs"


def test_a_project_cannot_create_in_or_move_to_another_project(db_url, alice):
    with pytest.raises(exception.NotAuthorized):
        db.instance_create(alice, {"project_id": "proj-b"})
    mine = db.instance_create(alice, {})
    with pytest.raises(exception.NotAuthorized):
        db.instance_update(alice, mine["id"], {"project_id": "proj-b"})
    assert db.instance_get(alice, mine["id"])["project_id"] == "proj-a"


def test_listings_are_scoped(db_url, admin, alice, bob):
    a1 = db.instance_create(alice, {"host": "host1"})
    a2 = db.instance_create(alice, {"host": "host2"})
    b1 = db.instance_create(bob, {"host": "host1"})

    assert [i["id"] for i in db.instance_get_all(alice)] == [a1["id"], a2["id"]]
    assert [i["id"] for i in db.instance_get_all(admin)] == [a1["id"], a2["id"], b1["id"]]
    assert [i["id"] for i in db.instance_get_all_by_project(alice, "proj-a")] == [a1["id"], a2["id"]]
    assert [i["id"] for i in db.instance_get_all_by_project(admin, "proj-b")] == [b1["id"]]
    with pytest.raises(exception.NotAuthorized):
        db.instance_get_all_by_project(alice, "proj-b")
    assert [i["id"] for i in db.instance_get_all_by_host(admin, "host1")] == [a1["id"], b1["id"]]
    with pytest.raises(exception.AdminRequired):
        db.instance_get_all_by_host(alice, "host1")


def test_update_changes_the_row(db_url, alice):
    instance = db.instance_create(alice, {"vm_state": "building"})
    updated = db.instance_update(alice, instance["id"], {"vm_state": "active", "task_state": None, "power_state": 1})
    assert (updated["vm_state"], updated["power_state"]) == ("active", 1)
    assert updated["updated_at"] is not None
    assert db.instance_get(alice, instance["id"])["vm_state"] == "active"
    with pytest.raises(exception.InvalidInput):
        db.instance_update(alice, instance["id"], {"no_such_column": 1})


def test_destroy_is_soft_and_read_deleted_sees_the_row(db_url, admin, alice):
    instance = db.instance_create(alice, {"metadata": {"k": "v"}})
    db.instance_destroy(alice, instance["id"])

    with pytest.raises(exception.InstanceNotFound):
        db.instance_get(alice, instance["id"])
    assert db.instance_get_all(alice) == []
    with pytest.raises(exception.InstanceNotFound):
        db.instance_destroy(alice, instance["id"])

    reader = context.RequestContext("alice", "proj-a", read_deleted=True)
    deleted = db.instance_get(reader, instance["id"])
    assert deleted["deleted"] is True and deleted["deleted_at"] is not None
    assert [i["id"] for i in db.instance_get_all(admin.elevated(read_deleted=True))] == [instance["id"]]
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get(context.RequestContext("bob", "proj-b", read_deleted=True), instance["id"])

    with session.get_session() as s:
        rows = s.scalars(select(models.InstanceMetadata).where(models.InstanceMetadata.instance_id == instance["id"]))
        assert [(m.key, m.deleted) for m in rows] == [("k", True)]


def test_a_context_without_a_project_is_refused(db_url):
    with pytest.raises(exception.NotAuthorized):
        db.instance_get_all(context.RequestContext("alice", None))


def test_create_many_answers_with_the_rows_as_written(db_url, alice, bob):
    """Flavor, groups and metadata come back on the rows without being read again; a group of another
    project (or gone) fails the whole launch and leaves no row."""
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    ssh = db.security_group_create(alice, {"name": "ssh", "description": "s"})
    rows = db.instance_create_many(alice, [{"instance_type_id": tiny["id"], "metadata": {"n": str(n)}}
                                           for n in range(2)], [web["id"], ssh["id"]], "i-%08x")
    for n, row in enumerate(rows):
        assert row["hostname"] == "i-%08x" % row["id"] and row.instance_type["name"] == "m1.tiny"
        assert sorted(g["name"] for g in row.security_groups) == ["ssh", "web"]
        assert row.metadata_dict == {"n": str(n)}
        again = db.instance_get(alice, row["id"])
        assert (again["hostname"], again.metadata_dict) == (row["hostname"], row.metadata_dict)
        assert sorted(g["name"] for g in again.security_groups) == ["ssh", "web"]
    theirs = db.security_group_create(bob, {"name": "theirs", "description": "t"})
    for group_id in (theirs["id"], 999999):
        with pytest.raises(exception.SecurityGroupNotFound):
            db.instance_create_many(alice, [{"instance_type_id": tiny["id"]}], [web["id"], group_id], "i-%08x")
    assert len(db.instance_get_all(alice)) == 2


def test_row_only_reads_refuse_to_guess_metadata_and_groups(db_url, alice):
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    instance = db.instance_create(alice, {"instance_type_id": tiny["id"], "metadata": {"a": "b"}})
    rows = [db.instance_get(alice, instance["id"], related=False),
            db.instance_update(alice, instance["id"], {"display_name": "x"}, related=False),
            db.instance_get_all_by_filters(alice, {"instance_ids": [instance["id"]]}, related=False)[0]]
    for row in rows:
        assert row["id"] == instance["id"] and row.instance_type["name"] == "m1.tiny"
        with pytest.raises(Exception, match="lazy='raise'"):
            row.metadata_dict
        with pytest.raises(Exception, match="lazy='raise'"):
            row.security_groups
    assert rows[1]["display_name"] == "x"


def test_set_task_state_is_one_conditional_update(db_url, alice, bob):
    instance = db.instance_create(alice, {"vm_state": "active"})
    assert not db.instance_set_task_state(bob, instance["id"], "deleting")  # another project's: untouched
    assert db.instance_get(alice, instance["id"])["task_state"] is None
    assert db.instance_set_task_state(alice, instance["id"], "deleting", unless="deleting")
    assert not db.instance_set_task_state(alice, instance["id"], "deleting", unless="deleting")
    assert db.instance_get(alice, instance["id"])["task_state"] == "deleting"
    db.instance_destroy(alice, instance["id"])
    assert not db.instance_set_task_state(alice, instance["id"], None)
