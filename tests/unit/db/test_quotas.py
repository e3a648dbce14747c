"""Per-project quota rows through nova.db.api."""

import eventlet
import pytest

from nova import context, exception
from nova.db import api as db


@pytest.fixture
def admin():
    return context.get_admin_context()


def test_quota_set_inserts_then_replaces(db_url, admin):
    assert db.quota_get_all_by_project(admin, "proj") == {}
    db.quota_set(admin, "proj", "instances", 5)
    db.quota_set(admin, "proj", "cores", 10)
    db.quota_set(admin, "other", "instances", 1)
    assert db.quota_get_all_by_project(admin, "proj") == {"instances": 5, "cores": 10}

    db.quota_set(admin, "proj", "instances", -1)
    db.quota_set(admin, "proj", "instances", -1)
    assert db.quota_get_all_by_project(admin, "proj") == {"instances": -1, "cores": 10}
    assert db.quota_get_all_by_project(admin, "other") == {"instances": 1}


def test_quota_destroy_all_by_project(db_url, admin):
    db.quota_set(admin, "proj", "instances", 5)
    db.quota_set(admin, "other", "instances", 1)
    db.quota_destroy_all_by_project(admin, "proj")
    assert db.quota_get_all_by_project(admin, "proj") == {}
    assert db.quota_get_all_by_project(admin, "other") == {"instances": 1}
    db.quota_set(admin, "proj", "instances", 7)
    assert db.quota_get_all_by_project(admin, "proj") == {"instances": 7}


def test_concurrent_quota_sets_leave_one_row(db_url, admin):
    pool = eventlet.GreenPool(10)
    list(pool.imap(lambda limit: db.quota_set(admin, "proj", "volumes", limit), range(10)))
    assert list(db.quota_get_all_by_project(admin, "proj")) == ["volumes"]
    assert db.quota_get_all_by_project(admin, "proj")["volumes"] in range(10)


def test_a_project_reads_only_its_own_quotas(db_url, admin):
    db.quota_set(admin, "proj", "instances", 5)
    member = context.RequestContext("alice", "proj")
    assert db.quota_get_all_by_project(member, "proj") == {"instances": 5}
    with pytest.raises(exception.NotAuthorized):
        db.quota_get_all_by_project(context.RequestContext("bob", "other"), "proj")
    with pytest.raises(exception.AdminRequired):
        db.quota_set(member, "proj", "instances", 100)


def test_usage_and_limits_in_one_read(db_url, admin):
    alice = context.RequestContext("alice", "proj-a")
    tiny = db.instance_type_get_by_name(admin, "m1.tiny")
    assert db.quota_get_with_instance_usage(alice, "proj-a") == ((0, 0, 0), {})
    for project, count in (("proj-a", 2), ("proj-b", 1)):
        for _ in range(count):
            db.instance_create(admin, {"project_id": project, "user_id": "u", "instance_type_id": tiny["id"],
                                       "vcpus": 2, "memory_mb": 512})
    gone = db.instance_create(admin, {"project_id": "proj-a", "user_id": "u", "vcpus": 8, "memory_mb": 8})
    db.instance_destroy(admin, gone["id"])
    db.quota_set(admin, "proj-a", "cores", 7)
    db.quota_set(admin, "proj-b", "ram", 1)
    assert db.quota_get_with_instance_usage(alice, "proj-a") == ((2, 4, 1024), {"cores": 7})
    with pytest.raises(exception.NotAuthorized):
        db.quota_get_with_instance_usage(alice, "proj-b")
