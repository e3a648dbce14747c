"""Volume rows: project scoping, NotFound, and listings in one query whatever the row count."""

import contextlib

import pytest
import sqlalchemy

from nova import context, exception
from nova.db import api as db
from nova.db.sqlalchemy import session

ADMIN = context.get_admin_context()


def user(project="proj-a"):
    return context.RequestContext("alice", project)


@contextlib.contextmanager
def counting():
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = session.get_engine()
    sqlalchemy.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", count)


def test_create_get_and_scoping(sqlite_db):
    mine = db.volume_create(user(), {"size": 1, "status": "available"})
    theirs = db.volume_create(user("proj-b"), {"size": 2, "status": "available"})
    assert mine["project_id"] == "proj-a" and mine["user_id"] == "alice"
    assert db.volume_get(user(), mine["id"])["size"] == 1
    assert db.volume_get(ADMIN, theirs["id"])["name"] == "volume-%08x" % theirs["id"]
    with pytest.raises(exception.VolumeNotFound):
        db.volume_get(user(), theirs["id"])
    with pytest.raises(exception.VolumeNotFound):
        db.volume_get(user(), 999)
    with pytest.raises(exception.NotAuthorized):
        db.volume_create(user(), {"project_id": "proj-b"})


def test_listings_by_project_and_for_admins(sqlite_db):
    ids = [db.volume_create(user(), {"size": n})["id"] for n in (1, 2)]
    other = db.volume_create(user("proj-b"), {"size": 3})["id"]
    assert [v["id"] for v in db.volume_get_all_by_project(user(), "proj-a")] == ids
    assert [v["id"] for v in db.volume_get_all(ADMIN)] == ids + [other]
    with pytest.raises(exception.NotAuthorized):
        db.volume_get_all_by_project(user(), "proj-b")
    with pytest.raises(exception.AdminRequired):
        db.volume_get_all(user())


@pytest.mark.parametrize("listing", ["project", "all"])
def test_listing_runs_the_same_number_of_queries_for_3_and_60_volumes(sqlite_db, listing):
    def measure(count):
        for _ in range(count):
            db.volume_create(user(), {"size": 1, "instance_id": None, "mountpoint": "/dev/vdb"})
        with counting() as statements:
            if listing == "project":
                rows = db.volume_get_all_by_project(user(), "proj-a")
            else:
                rows = db.volume_get_all(ADMIN)
            assert all(r["mountpoint"] == "/dev/vdb" and r["name"] for r in rows)
        return len(statements), len(rows)

    small, small_rows = measure(3)
    large, large_rows = measure(57)
    assert (small_rows, large_rows) == (3, 60)
    assert small == large
