"""The Core statements of RunInstances and TerminateInstances (nova/db/sqlalchemy/api/instance_launch.py):
the same answers and the same scoping as the ORM functions they replace."""

import pytest

from nova import context, exception
from nova.db import api as db
from tests.fixtures.database import registered_long_ago
from tests.fixtures.sql import statements_in_transactions
from tests.unit.db.test_instances import admin, alice, bob  # noqa: F401 - fixtures


def _launch(ctxt, flavor, groups, count=1, quota_limits=None, **values):
    return db.instance_create_many(ctxt, [dict({"instance_type_id": flavor["id"], "memory_mb": flavor["memory_mb"],
                                                "vcpus": flavor["vcpus"], "local_gb": flavor["local_gb"]}, **values)
                                          for _ in range(count)],
                                   [g["id"] for g in groups], "i-%08x", instance_type=flavor, groups=groups,
                                   quota_limits=quota_limits)


def test_rows_come_back_as_written_with_their_defaults(db_url, alice):
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    group = db.security_group_create(alice, {"name": "web", "description": "w"})
    rows = _launch(alice, tiny, [group], count=2, metadata={"k": "v"})
    for row in rows:
        again = db.instance_get(alice, row["id"])
        for key in ("uuid", "project_id", "user_id", "hostname", "power_state", "locked", "deleted",
                    "disable_api_termination", "shutdown_behavior", "memory_mb"):
            assert row[key] == again[key], key
        assert abs((row["created_at"] - again["created_at"]).total_seconds()) < 1  # MariaDB keeps no microseconds
        assert row.metadata_dict == again.metadata_dict == {"k": "v"}
        assert [g["name"] for g in row.security_groups] == [g["name"] for g in again.security_groups]
        assert row.instance_type["name"] == again.instance_type["name"] == "m1.tiny"
    assert len({row["uuid"] for row in rows}) == 2


def test_a_launch_refuses_a_flavor_or_group_gone_and_writes_nothing(db_url, alice, admin):
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    before = len(db.instance_get_all(admin))
    renamed = dict(web.to_dict(), name="not-web")  # a group as it was read, no longer as it is
    with pytest.raises(exception.SecurityGroupNotFound):
        _launch(alice, tiny, [renamed])
    other = dict(tiny.to_dict(), memory_mb=tiny["memory_mb"] + 1)  # a flavor row that is not what was read
    with pytest.raises(exception.InstanceTypeNotFound):
        _launch(alice, other, [web])
    db.instance_type_destroy(admin, "m1.tiny")
    with pytest.raises(exception.InstanceTypeNotFound):
        _launch(alice, tiny, [web])
    assert len(db.instance_get_all(admin)) == before


def test_a_launch_on_postgresql_is_one_statement_outside_a_transaction(db_url, alice, admin):
    """Instances, hostnames and group links in one round trip (no BEGIN and COMMIT), also inside the
    one_transaction of compute.API's launch, whose reads ran before it."""
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    with statements_in_transactions() as seen, db.one_transaction():
        db.quota_get_with_instance_usage(admin, "proj-a")
        rows = _launch(alice, tiny, [web], count=2)
    if db_url.startswith("postgresql"):
        assert [inside for _statement, inside in seen] == [False, False]
    for row in rows:
        again = db.instance_get(alice, row["id"])
        assert row["hostname"] == again["hostname"] == f"i-{row['id']:08x}"
        assert [g["name"] for g in again.security_groups] == ["web"]
    assert len({row["id"] for row in rows}) == len({row["uuid"] for row in rows}) == 2


def test_a_launch_with_images_as_read_refuses_one_changed_gone_or_hidden_since(db_url, alice, bob, admin):
    """compute.API remembers the images launches read: the write checks each is still live, available,
    visible to the launching project and unchanged (in its one statement on PostgreSQL)."""
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    mine = db.image_create(alice, {"name": "mine", "state": "available"})
    shared = db.image_create(bob, {"name": "shared", "state": "available", "is_public": True})
    registered_long_ago(mine["id"], shared["id"])  # (MariaDB keeps whole seconds: a change now has a later time)
    read = [dict(db.image_get_plain(alice, image["id"])) for image in (mine, shared)]
    before = len(db.instance_get_all(admin))

    def launch(images):
        with statements_in_transactions() as seen:
            rows = db.instance_create_many(alice, [{"instance_type_id": tiny["id"], "memory_mb": tiny["memory_mb"],
                                                    "vcpus": tiny["vcpus"], "local_gb": tiny["local_gb"]}],
                                           [web["id"]], "i-%08x", instance_type=tiny, groups=[web],
                                           images_as_read=images)
        return rows, seen

    rows, seen = launch(read)
    assert db.instance_get(alice, rows[0]["id"])["hostname"] == f"i-{rows[0]['id']:08x}"
    if db_url.startswith("postgresql"):
        assert len(seen) == 1  # the images checked in the launch's own statement
    db.image_update(alice, mine["id"], {"name": "renamed"})
    with pytest.raises(exception.ImageNotFound):
        launch(read)  # changed since it was read
    registered_long_ago(mine["id"])
    read[0] = dict(db.image_get_plain(alice, mine["id"]))
    launch(read)
    db.image_update(bob, shared["id"], {"is_public": False})
    with pytest.raises(exception.ImageNotFound):
        launch(read)  # no longer visible to proj-a
    with pytest.raises(exception.ImageNotFound):
        launch([dict(read[0], updated_at=None, created_at=None)])  # no version to check: never taken as read
    db.image_update(alice, mine["id"], {"state": "pending"})
    with pytest.raises(exception.ImageNotFound):
        launch([dict(db.image_get_plain(alice, mine["id"]))])  # as read, but not available
    assert len(db.instance_get_all(admin)) == before + 2


DEFAULTS = {"instances": 3, "cores": 100, "ram": 100000}


def test_a_launch_with_quota_limits_writes_only_what_fits(db_url, alice, admin):
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")  # 1 core, 512 MB
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    assert len(_launch(alice, tiny, [web], count=2, project_id="proj-a", quota_limits=DEFAULTS)) == 2
    with pytest.raises(exception.QuotaError):  # 2 + 2 > 3
        _launch(alice, tiny, [web], count=2, project_id="proj-a", quota_limits=DEFAULTS)
    db.quota_set(admin, "proj-a", "instances", 10)  # the project's own limit over the default
    assert len(_launch(alice, tiny, [web], count=2, project_id="proj-a", quota_limits=DEFAULTS)) == 2
    db.quota_set(admin, "proj-a", "ram", 512 * 5)
    with pytest.raises(exception.QuotaError):  # 4 + 2 instances of 512 MB > 2,560 MB
        _launch(alice, tiny, [web], count=2, project_id="proj-a", quota_limits=DEFAULTS)
    assert len(_launch(alice, tiny, [web], project_id="proj-a", quota_limits=DEFAULTS)) == 1
    db.quota_set(admin, "proj-a", "ram", -1)  # unlimited
    db.quota_set(admin, "proj-a", "cores", 6)
    with pytest.raises(exception.QuotaError):  # 5 + 2 cores > 6
        _launch(alice, tiny, [web], count=2, project_id="proj-a", quota_limits=DEFAULTS)
    assert len(db.instance_get_all(alice)) == 5
    assert len(_launch(alice, tiny, [web], count=2, project_id="proj-a")) == 2  # no limits given: no check


def test_rows_that_differ_are_each_written_as_given(db_url, alice):
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    values = {"instance_type_id": tiny["id"], "memory_mb": tiny["memory_mb"], "vcpus": tiny["vcpus"],
              "local_gb": tiny["local_gb"]}
    rows = db.instance_create_many(alice, [dict(values, display_name="one", launch_index=0),
                                           dict(values, display_name="two", launch_index=1)],
                                   [web["id"]], "i-%08x", instance_type=tiny, groups=[web])
    assert [db.instance_get(alice, row["id"])["display_name"] for row in rows] == ["one", "two"]
    assert [db.instance_get(alice, row["id"])["launch_index"] for row in rows] == [0, 1]


def test_hostnames_wider_than_the_format_keep_every_digit(db_url, alice):
    """As Python's ``%02x`` does, an id of more digits than the width is written whole."""
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    values = {"instance_type_id": tiny["id"], "memory_mb": tiny["memory_mb"], "vcpus": tiny["vcpus"],
              "local_gb": tiny["local_gb"]}
    rows = []
    while not rows or rows[-1]["id"] < 0x100:
        rows += db.instance_create_many(alice, [values] * 40, [web["id"]], "h-%02x", instance_type=tiny, groups=[web])
    for row in rows:
        assert row["hostname"] == db.instance_get(alice, row["id"])["hostname"] == "h-%02x" % row["id"]


def test_reads_by_id_are_scoped_and_see_deleted_rows_only_when_asked(db_url, alice, bob, admin):
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    mine, gone = _launch(alice, tiny, [web], count=2)
    db.instance_destroy(alice, gone["id"])
    assert [r["id"] for r in db.instance_get_by_ids(alice, [gone["id"], mine["id"]])] == [mine["id"]]
    assert db.instance_get_by_ids(bob, [mine["id"]]) == []
    deleted_too = context.RequestContext("alice", "proj-a", read_deleted=True)
    assert [r["id"] for r in db.instance_get_by_ids(deleted_too, [gone["id"], mine["id"]])] == \
        sorted([mine["id"], gone["id"]])
    [row] = db.instance_get_by_ids(admin, [mine["id"]])
    assert row.instance_type["name"] == "m1.tiny" and row["hostname"] == "i-%08x" % mine["id"]


def test_task_state_is_set_once_and_only_in_the_project(db_url, alice, bob):
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    [row] = _launch(alice, tiny, [web])
    assert not db.instance_set_task_state(bob, row["id"], "deleting", unless="deleting")
    assert db.instance_set_task_state(alice, row["id"], "deleting", unless="deleting")
    assert not db.instance_set_task_state(alice, row["id"], "deleting", unless="deleting")
    assert db.instance_get(alice, row["id"])["task_state"] == "deleting"


def test_marking_deleting_sets_the_task_once_and_forgets_the_tags_of_the_project(db_url, alice, bob):
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    [row, other] = _launch(alice, tiny, [web], count=2)
    db.tag_create_or_update(alice, "instance", row["id"], "Name", "web")
    db.tag_create_or_update(alice, "instance", other["id"], "Name", "db")
    assert not db.instance_mark_deleting(bob, row["id"], "deleting", forget_tags=True)
    assert db.instance_get(alice, row["id"])["task_state"] is None
    assert [t["value"] for t in db.tag_get_all(alice)] == ["web", "db"]
    db.tag_create_or_update(bob, "instance", row["id"], "Name", "bobs")  # bob's own tag on the same id

    with statements_in_transactions() as seen:
        assert db.instance_mark_deleting(alice, row["id"], "deleting", forget_tags=True)
    if db_url.startswith("postgresql"):
        assert [inside for _statement, inside in seen] == [False]  # one round trip, no BEGIN and COMMIT
    assert db.instance_get(alice, row["id"])["task_state"] == "deleting"
    assert [(t["resource_id"], t["value"]) for t in db.tag_get_all(alice)] == [(other["id"], "db")]
    assert [t["value"] for t in db.tag_get_all(bob)] == ["bobs"]
    assert not db.instance_mark_deleting(alice, row["id"], "deleting", forget_tags=True)  # marked already

    assert db.instance_mark_deleting(alice, other["id"], "deleting", forget_tags=False)
    assert [t["value"] for t in db.tag_get_all(alice)] == ["db"]  # kept when not asked


def test_reading_and_marking_deleting_marks_all_or_none_in_one_statement_on_postgresql(db_url, alice, bob, admin):
    """TerminateInstances' first step: the rows as they were, and on PostgreSQL, when every instance asked
    for is found and may be marked (on a host, not protected, not being deleted), all marked and their
    tags forgotten in the same statement; otherwise none (the caller marks them one by one)."""
    on_postgresql = db_url.startswith("postgresql")
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    rows = _launch(alice, tiny, [web], count=4)
    one, two, protected, unplaced = (row["id"] for row in rows)
    for instance_id in (one, two, protected):
        db.instance_update(admin, instance_id, {"host": "c1", "vm_state": "active"})
    db.instance_update(admin, protected, {"disable_api_termination": True})
    db.tag_create_or_update(alice, "instance", one, "Name", "one")
    db.tag_create_or_update(alice, "instance", protected, "Name", "kept")

    def read_and_mark(ctxt, ids):
        with statements_in_transactions() as seen:
            answer = db.instance_get_and_mark_deleting(ctxt, ids, "deleting")
        assert len(seen) == 1 and not (on_postgresql and seen[0][1])  # one statement (outside a transaction)
        return [(row["id"], row["task_state"], marked) for row, marked in answer]

    assert read_and_mark(bob, [one, two]) == []  # another project's: not found, nothing marked
    for refused in ([one, protected], [one, unplaced], [two, 999999]):
        assert read_and_mark(alice, refused) == [(i, None, False) for i in sorted(refused) if i != 999999]
    assert {db.instance_get(alice, i)["task_state"] for i in (one, two)} == {None}
    assert read_and_mark(alice, [two, one, two]) == [(one, None, on_postgresql), (two, None, on_postgresql)]
    expected = "deleting" if on_postgresql else None
    assert [db.instance_get(alice, i)["task_state"] for i in (one, two)] == [expected, expected]
    assert sorted(t["value"] for t in db.tag_get_all(alice)) == (["kept"] if on_postgresql else ["kept", "one"])
    if on_postgresql:  # being deleted now: not marked again
        assert read_and_mark(alice, [one]) == [(one, "deleting", False)]


def test_images_flavors_groups_and_quota_usage(db_url, alice, bob, admin):
    theirs = db.image_create(bob, {"name": "theirs", "state": "available"})
    public = db.image_create(bob, {"name": "public", "state": "available", "is_public": True})
    with pytest.raises(exception.ImageNotFound):
        db.image_get_plain(alice, theirs["id"])
    assert db.image_get_plain(alice, public["id"])["name"] == "public"
    assert db.image_get_plain(admin, theirs["id"])["name"] == "theirs"
    with pytest.raises(exception.InstanceTypeNotFound):
        db.instance_type_get_by_name(alice, "m1.huge")
    with pytest.raises(exception.SecurityGroupNotFoundForProject):
        db.security_group_get_by_name(alice, "proj-a", "web", with_rules=False)
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    assert db.security_group_get_by_name(alice, "proj-a", "web", with_rules=False)["id"] == web["id"]
    with pytest.raises(exception.NotAuthorized):
        db.security_group_get_by_name(bob, "proj-a", "web", with_rules=False)
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    _launch(alice, tiny, [web], count=2)
    db.quota_set(admin, "proj-a", "instances", 7)
    assert db.quota_get_with_instance_usage(alice, "proj-a") == (
        (2, 2 * tiny["vcpus"], 2 * tiny["memory_mb"]), {"instances": 7})


def test_a_reservation_is_found_in_its_project_only(db_url, alice, bob, admin):
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    web = db.security_group_create(alice, {"name": "web", "description": "w"})
    rows = _launch(alice, tiny, [web], count=2, reservation_id="r-12345678")
    ids = [r["id"] for r in rows]
    assert [r["id"] for r in db.instance_get_by_reservation(alice, "r-12345678", "proj-a")] == ids
    assert [r["id"] for r in db.instance_get_by_reservation(admin, "r-12345678", None)] == ids
    assert db.instance_get_by_reservation(admin, "r-12345678", "proj-b") == []
    assert db.instance_get_by_reservation(bob, "r-12345678", "proj-b") == []
    assert db.instance_get_by_reservation(alice, "r-00000000", "proj-a") == []


def test_a_launch_in_one_transaction_links_a_group_made_meanwhile(db_url, alice, admin):
    """A launch's reads and writes share one transaction; the project's first launch makes its default group
    in a session of its own in the middle of it (MariaDB's snapshot began with the first read)."""
    image = db.image_create(alice, {"name": "x", "state": "available"})
    tiny = db.instance_type_get_by_name(alice, "m1.tiny")
    with db.one_transaction():
        db.image_get_plain(alice, image["id"])
        db.quota_get_with_instance_usage(admin, "proj-a")
        group = db.security_group_create(alice, {"name": "default", "description": "default"})
        [row] = _launch(alice, tiny, [group])
    assert [g["name"] for g in db.instance_get(alice, row["id"]).security_groups] == ["default"]
