"""volume.API reads: the caller's project's volumes, an admin's view of all, NotFound for others'."""

import pytest

from nova import context, exception
from nova.db import api as db
from nova.volume import api as volume_api

ADMIN = context.get_admin_context()


def user(project="proj-a"):
    return context.RequestContext("alice", project)


@pytest.fixture
def volumes(sqlite_db):
    mine = [db.volume_create(user(), {"size": n, "status": "available"})["id"] for n in (1, 2)]
    theirs = db.volume_create(user("proj-b"), {"size": 5, "status": "in-use"})["id"]
    return mine, theirs


def test_get_is_scoped_to_the_project(volumes):
    mine, theirs = volumes
    api = volume_api.API()
    assert api.get(user(), str(mine[0]))["size"] == 1
    assert api.get(ADMIN, theirs)["status"] == "in-use"
    with pytest.raises(exception.VolumeNotFound):
        api.get(user(), theirs)
    with pytest.raises(exception.InvalidInput):
        api.get(user(), "vol-nonsense")


def test_get_all_for_users_and_admins(volumes):
    mine, theirs = volumes
    api = volume_api.API()
    assert [v["id"] for v in api.get_all(user())] == mine
    assert [v["id"] for v in api.get_all(ADMIN)] == mine + [theirs]
    assert [v["id"] for v in api.get_all(user(), [mine[1], mine[0], mine[1]])] == [mine[1], mine[0]]
    with pytest.raises(exception.VolumeNotFound):
        api.get_all(user(), [mine[0], theirs])
