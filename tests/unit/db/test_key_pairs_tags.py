"""Key pairs and tags through nova.db.api: ownership, duplicates, filters."""

import pytest

from nova import context, exception
from nova.db import api as db


@pytest.fixture
def alice():
    return context.RequestContext("alice", "proj-a")


@pytest.fixture
def bob():
    return context.RequestContext("bob", "proj-b")


def test_key_pair_lifecycle(sqlite_db, alice):
    db.key_pair_create(alice, {"name": "k1", "fingerprint": "aa:bb", "public_key": "ssh-rsa AAA"})
    db.key_pair_create(alice, {"name": "k0", "fingerprint": "cc", "public_key": "ssh-ed25519 AAA"})
    assert db.key_pair_get(alice, "alice", "k1")["fingerprint"] == "aa:bb"
    assert [k["name"] for k in db.key_pair_get_all_by_user(alice, "alice")] == ["k0", "k1"]
    assert db.key_pair_count_by_user(alice, "alice") == 2
    with pytest.raises(exception.KeyPairExists):
        db.key_pair_create(alice, {"name": "k1", "public_key": "x"})
    db.key_pair_destroy(alice, "alice", "k1")
    with pytest.raises(exception.KeypairNotFound):
        db.key_pair_get(alice, "alice", "k1")
    with pytest.raises(exception.KeypairNotFound):
        db.key_pair_destroy(alice, "alice", "k1")
    assert db.key_pair_count_by_user(alice, "alice") == 1
    db.key_pair_create(alice, {"name": "k1", "public_key": "again"})
    assert db.key_pair_get(alice, "alice", "k1")["public_key"] == "again"


def test_key_pairs_belong_to_their_user(sqlite_db, alice, bob):
    db.key_pair_create(alice, {"name": "same", "public_key": "a"})
    db.key_pair_create(bob, {"name": "same", "public_key": "b"})
    assert db.key_pair_get(bob, "bob", "same")["public_key"] == "b"
    for call in (lambda: db.key_pair_get(bob, "alice", "same"),
                 lambda: db.key_pair_get_all_by_user(bob, "alice"),
                 lambda: db.key_pair_destroy(bob, "alice", "same"),
                 lambda: db.key_pair_create(bob, {"name": "x", "user_id": "alice"})):
        with pytest.raises(exception.NotAuthorized):
            call()
    admin = context.get_admin_context()
    assert db.key_pair_get(admin, "alice", "same")["public_key"] == "a"


def test_tags_set_replace_filter_and_delete(sqlite_db, alice, bob):
    db.tag_create_or_update(alice, "instance", 1, "Name", "web")
    db.tag_create_or_update(alice, "instance", 1, "Name", "db")
    db.tag_create_or_update(alice, "instance", 2, "env", "prod")
    db.tag_create_or_update(alice, "security-group", 1, "env", "prod")
    db.tag_create_or_update(bob, "instance", 1, "Name", "bobs")

    mine = db.tag_get_all(alice)
    assert [(t["resource_type"], t["resource_id"], t["key"], t["value"]) for t in mine] == [
        ("instance", 1, "Name", "db"), ("instance", 2, "env", "prod"), ("security-group", 1, "env", "prod")]
    assert len(db.tag_get_all(alice, {"key": "env", "resource_type": ["instance"]})) == 1
    assert len(db.tag_get_all(alice, {"value": ["prod", "db"]})) == 3
    assert db.tag_get_by_resources(alice, "instance", [1, 2, 3]) == {1: {"Name": "db"}, 2: {"env": "prod"}}
    with pytest.raises(exception.InvalidInput):
        db.tag_get_all(alice, {"colour": "red"})

    assert db.tag_delete(alice, "instance", 1, "Name", "web") == 0
    assert db.tag_delete(alice, "instance", 1, "Name") == 1
    assert db.tag_delete(alice, "instance", 2, "env", "prod") == 1
    db.tag_delete_all_for_resource(alice, "instance", 1)  # bob's tag on his instance 1 stays
    db.tag_delete_all_for_resource(alice, "security-group", 1)
    assert db.tag_get_all(alice) == []
    assert [t["value"] for t in db.tag_get_all(bob)] == ["bobs"]
    with pytest.raises(exception.NotAuthorized):
        db.tag_create_or_update(alice, "instance", 1, "k", "v", project_id="proj-b")
