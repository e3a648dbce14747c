"""Flavors through nova.db.api."""

import pytest

from nova import context, exception
from nova.db import api as db


@pytest.fixture
def admin():
    return context.get_admin_context()


def make_flavor(ctxt, name="m1.huge", flavorid=6, memory_mb=32768, vcpus=16, local_gb=320):
    return db.instance_type_create(ctxt, {"name": name, "flavorid": flavorid, "memory_mb": memory_mb,
                                          "vcpus": vcpus, "local_gb": local_gb})


def test_create_and_get_by_each_key(db_url, admin):
    flavor = make_flavor(admin)
    assert (flavor["swap"], flavor["rxtx_quota"], flavor["rxtx_cap"]) == (0, 0, 0)
    user = context.RequestContext("alice", "proj")
    assert db.instance_type_get(user, flavor["id"])["name"] == "m1.huge"
    assert db.instance_type_get_by_name(user, "m1.huge")["flavorid"] == 6
    assert db.instance_type_get_by_flavor_id(user, 6)["memory_mb"] == 32768
    assert db.instance_type_get_by_flavor_id(user, "6")["name"] == "m1.huge"
    assert [f["flavorid"] for f in db.instance_type_get_all(user)] == [1, 2, 3, 4, 5, 6]


def test_missing_flavors_raise_not_found(db_url, admin):
    with pytest.raises(exception.InstanceTypeNotFound):
        db.instance_type_get_by_name(admin, "m1.nothing")
    with pytest.raises(exception.InstanceTypeNotFound):
        db.instance_type_get_by_flavor_id(admin, 99)
    with pytest.raises(exception.InstanceTypeNotFound):
        db.instance_type_get(admin, 9999)
    with pytest.raises(exception.InstanceTypeNotFound):
        db.instance_type_destroy(admin, "m1.nothing")


def test_duplicate_name_or_flavorid_is_refused(db_url, admin):
    with pytest.raises(exception.InstanceTypeExists):
        make_flavor(admin, name="m1.tiny", flavorid=60)
    with pytest.raises(exception.InstanceTypeExists, match="flavorid 1"):
        make_flavor(admin, name="m1.other", flavorid=1)
    assert len(db.instance_type_get_all(admin)) == 5


def test_destroy_is_soft_and_frees_the_name(db_url, admin):
    tiny = db.instance_type_get_by_name(admin, "m1.tiny")
    db.instance_type_destroy(admin, "m1.tiny")
    with pytest.raises(exception.InstanceTypeNotFound):
        db.instance_type_get_by_name(admin, "m1.tiny")
    assert [f["name"] for f in db.instance_type_get_all(admin)] == ["m1.small", "m1.medium", "m1.large", "m1.xlarge"]
    inactive = {f["id"]: f["deleted"] for f in db.instance_type_get_all(admin, inactive=True)}
    assert inactive[tiny["id"]] is True and len(inactive) == 5
    assert db.instance_type_get(admin, tiny["id"])["deleted"] is True

    again = make_flavor(admin, name="m1.tiny", flavorid=1, memory_mb=1024, vcpus=1, local_gb=0)
    assert again["id"] != tiny["id"]
    assert db.instance_type_get_by_name(admin, "m1.tiny")["memory_mb"] == 1024
    assert db.instance_type_get_by_flavor_id(admin, 1)["id"] == again["id"]


def test_purge_removes_every_row_of_the_name(db_url, admin):
    db.instance_type_destroy(admin, "m1.tiny")
    make_flavor(admin, name="m1.tiny", flavorid=1)
    db.instance_type_purge(admin, "m1.tiny")
    assert "m1.tiny" not in [f["name"] for f in db.instance_type_get_all(admin, inactive=True)]
    with pytest.raises(exception.InstanceTypeNotFound):
        db.instance_type_purge(admin, "m1.tiny")


def test_purge_is_refused_while_instances_use_the_flavor(db_url, admin):
    small = db.instance_type_get_by_name(admin, "m1.small")
    db.instance_create(admin, {"project_id": "proj", "instance_type_id": small["id"]})
    with pytest.raises(exception.InvalidInput):
        db.instance_type_purge(admin, "m1.small")
    assert db.instance_type_get_by_name(admin, "m1.small")["id"] == small["id"]


def test_changing_flavors_needs_an_admin(db_url):
    user = context.RequestContext("alice", "proj")
    with pytest.raises(exception.AdminRequired):
        make_flavor(user)
    with pytest.raises(exception.AdminRequired):
        db.instance_type_destroy(user, "m1.tiny")
