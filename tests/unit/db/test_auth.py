"""Users, projects, memberships, roles and tokens through nova.db.api."""

import datetime

import pytest

from nova import context, exception, utils
from nova.db import api as db


@pytest.fixture
def admin():
    return context.get_admin_context()


def make_user(ctxt, name, access=None, admin=False):
    return db.user_create(ctxt, {"id": name, "access_key": access or f"{name}-access",
                                 "secret_key": f"{name}-secret", "is_admin": admin})


def test_user_create_get_update_and_delete(db_url, admin):
    created = make_user(admin, "alice", admin=True)
    assert created["id"] == "alice" and created["name"] == "alice"

    fetched = db.user_get(admin, "alice")
    assert (fetched["access_key"], fetched["secret_key"], fetched["is_admin"]) == ("alice-access", "alice-secret", True)
    assert db.user_get_by_access_key(admin, "alice-access")["id"] == "alice"

    updated = db.user_update(admin, "alice", {"secret_key": "new-secret", "is_admin": False})
    assert updated["secret_key"] == "new-secret"
    assert db.user_get(admin, "alice")["is_admin"] is False

    db.user_delete(admin, "alice")
    with pytest.raises(exception.UserNotFound):
        db.user_get(admin, "alice")
    with pytest.raises(exception.AccessKeyNotFound):
        db.user_get_by_access_key(admin, "alice-access")


def test_user_get_all_lists_users_by_name(db_url, admin):
    for name in ("carol", "alice", "bob"):
        make_user(admin, name)
    assert [u["id"] for u in db.user_get_all(admin)] == ["alice", "bob", "carol"]


def test_duplicate_user_and_access_key_are_refused(db_url, admin):
    make_user(admin, "alice", access="key-1")
    with pytest.raises(exception.UserExists):
        make_user(admin, "alice", access="key-2")
    with pytest.raises(exception.AccessKeyExists):
        make_user(admin, "bob", access="key-1")
    make_user(admin, "bob", access="key-2")
    with pytest.raises(exception.AccessKeyExists):
        db.user_update(admin, "bob", {"access_key": "key-1"})
    assert db.user_get(admin, "bob")["access_key"] == "key-2"


def test_a_deleted_user_frees_its_name_and_key(db_url, admin):
    make_user(admin, "alice", access="key-1")
    db.user_delete(admin, "alice")
    assert make_user(admin, "alice", access="key-1")["id"] == "alice"


def test_unknown_user_and_project_raise_not_found(db_url, admin):
    with pytest.raises(exception.UserNotFound):
        db.user_update(admin, "nobody", {"secret_key": "x"})
    with pytest.raises(exception.UserNotFound):
        db.user_delete(admin, "nobody")
    with pytest.raises(exception.ProjectNotFound):
        db.project_get(admin, "nowhere")
    with pytest.raises(exception.UserNotFound):
        db.project_create(admin, {"id": "p", "project_manager": "nobody"})


def test_auth_rows_need_an_admin_context(db_url, admin):
    make_user(admin, "alice")
    user_ctxt = context.RequestContext("alice", "proj")
    with pytest.raises(exception.AdminRequired):
        db.user_get(user_ctxt, "alice")
    with pytest.raises(exception.AdminRequired):
        db.project_create(user_ctxt, {"id": "proj"})


def test_unknown_columns_and_missing_ids_are_refused(db_url, admin):
    with pytest.raises(exception.InvalidInput):
        db.user_create(admin, {"id": "alice", "favourite_colour": "blue"})
    with pytest.raises(exception.MissingParameter):
        db.user_create(admin, {"access_key": "key"})
    with pytest.raises(exception.MissingParameter):
        db.project_create(admin, {"description": "no id"})
    assert db.user_get_all(admin) == [] and db.project_get_all(admin) == []


def test_project_create_get_update_and_delete(db_url, admin):
    make_user(admin, "alice")
    make_user(admin, "bob")
    project = db.project_create(admin, {"id": "proj", "description": "a project", "project_manager": "alice"})
    assert (project["id"], project["name"], project["project_manager"]) == ("proj", "proj", "alice")
    with pytest.raises(exception.ProjectExists):
        db.project_create(admin, {"id": "proj", "project_manager": "bob"})

    db.project_update(admin, "proj", {"project_manager": "bob", "description": "changed"})
    fetched = db.project_get(admin, "proj")
    assert (fetched["project_manager"], fetched["description"]) == ("bob", "changed")
    with pytest.raises(exception.UserNotFound):
        db.project_update(admin, "proj", {"project_manager": "nobody"})

    db.project_create(admin, {"id": "another", "project_manager": "alice"})
    assert [p["id"] for p in db.project_get_all(admin)] == ["another", "proj"]

    db.project_delete(admin, "proj")
    with pytest.raises(exception.ProjectNotFound):
        db.project_get(admin, "proj")
    assert [p["id"] for p in db.project_get_all(admin)] == ["another"]


def test_membership(db_url, admin):
    for name in ("alice", "bob", "carol"):
        make_user(admin, name)
    db.project_create(admin, {"id": "proj", "project_manager": "alice"})
    db.project_create(admin, {"id": "other", "project_manager": "alice"})
    db.project_add_member(admin, "proj", "alice")
    db.project_add_member(admin, "proj", "bob")
    db.project_add_member(admin, "proj", "bob")
    db.project_add_member(admin, "other", "bob")

    assert [u["id"] for u in db.project_get_members(admin, "proj")] == ["alice", "bob"]
    assert [p["id"] for p in db.project_get_by_user(admin, "bob")] == ["other", "proj"]
    assert db.project_get_by_user(admin, "carol") == []

    db.project_remove_member(admin, "proj", "bob")
    assert [u["id"] for u in db.project_get_members(admin, "proj")] == ["alice"]
    assert [p["id"] for p in db.project_get_by_user(admin, "bob")] == ["other"]

    with pytest.raises(exception.UserNotFound):
        db.project_add_member(admin, "proj", "nobody")
    with pytest.raises(exception.ProjectNotFound):
        db.project_add_member(admin, "nowhere", "bob")


def test_global_and_project_roles(db_url, admin):
    make_user(admin, "alice")
    db.project_create(admin, {"id": "proj", "project_manager": "alice"})
    db.project_create(admin, {"id": "other", "project_manager": "alice"})
    db.user_add_role(admin, "alice", "netadmin")
    db.user_add_role(admin, "alice", "cloudadmin")
    db.user_add_role(admin, "alice", "netadmin")
    assert db.user_get_roles(admin, "alice") == ["cloudadmin", "netadmin"]

    db.user_add_project_role(admin, "alice", "proj", "developer")
    db.user_add_project_role(admin, "alice", "proj", "developer")
    db.user_add_project_role(admin, "alice", "other", "sysadmin")
    assert db.user_get_roles_for_project(admin, "alice", "proj") == ["developer"]
    assert db.user_get_roles_for_project(admin, "alice", "other") == ["sysadmin"]

    db.user_remove_project_role(admin, "alice", "proj", "developer")
    assert db.user_get_roles_for_project(admin, "alice", "proj") == []
    db.user_remove_role(admin, "alice", "netadmin")
    assert db.user_get_roles(admin, "alice") == ["cloudadmin"]

    with pytest.raises(exception.UserNotFound):
        db.user_add_role(admin, "nobody", "netadmin")
    with pytest.raises(exception.ProjectNotFound):
        db.user_add_project_role(admin, "alice", "nowhere", "developer")


def test_removing_a_member_removes_its_project_roles(db_url, admin):
    make_user(admin, "alice")
    make_user(admin, "bob")
    db.project_create(admin, {"id": "proj", "project_manager": "alice"})
    db.project_add_member(admin, "proj", "bob")
    db.user_add_project_role(admin, "bob", "proj", "developer")
    db.project_remove_member(admin, "proj", "bob")
    assert db.user_get_roles_for_project(admin, "bob", "proj") == []


def test_deleting_a_user_removes_memberships_and_roles(db_url, admin):
    make_user(admin, "alice")
    make_user(admin, "bob")
    db.project_create(admin, {"id": "proj", "project_manager": "alice"})
    db.project_add_member(admin, "proj", "bob")
    db.user_add_role(admin, "bob", "netadmin")
    db.user_add_project_role(admin, "bob", "proj", "developer")

    db.user_delete(admin, "bob")
    assert [u["id"] for u in db.project_get_members(admin, "proj")] == []
    make_user(admin, "bob")
    assert db.user_get_roles(admin, "bob") == []
    assert db.user_get_roles_for_project(admin, "bob", "proj") == []
    assert db.project_get_by_user(admin, "bob") == []


def test_a_project_manager_cannot_be_deleted(db_url, admin):
    make_user(admin, "alice")
    db.project_create(admin, {"id": "proj", "project_manager": "alice"})
    with pytest.raises(exception.Invalid, match="proj"):
        db.user_delete(admin, "alice")
    assert db.user_get(admin, "alice")["id"] == "alice"


def test_deleting_a_project_removes_memberships_roles_and_quotas(db_url, admin):
    make_user(admin, "alice")
    db.project_create(admin, {"id": "proj", "project_manager": "alice"})
    db.project_add_member(admin, "proj", "alice")
    db.user_add_project_role(admin, "alice", "proj", "developer")
    db.quota_set(admin, "proj", "instances", 3)

    db.project_delete(admin, "proj")
    assert db.project_get_by_user(admin, "alice") == []
    assert db.quota_get_all_by_project(admin, "proj") == {}
    db.project_create(admin, {"id": "proj", "project_manager": "alice"})
    assert db.project_get_members(admin, "proj") == []
    assert db.user_get_roles_for_project(admin, "alice", "proj") == []


# -- tokens --------------------------------------------------------------------


def make_token(ctxt, token_hash, user="alice", project="proj", seconds=3600):
    return db.auth_token_create(ctxt, {"token_hash": token_hash, "user_id": user, "project_id": project,
                                       "expires_at": utils.utcnow() + datetime.timedelta(seconds=seconds)})


def test_token_create_get_and_destroy(db_url, admin):
    make_token(admin, "a" * 64)
    row = db.auth_token_get(admin, "a" * 64)
    assert (row["token_hash"], row["user_id"], row["project_id"]) == ("a" * 64, "alice", "proj")
    assert row["expires_at"] > utils.utcnow()
    with pytest.raises(exception.TokenNotFound):
        db.auth_token_get(admin, "b" * 64)
    db.auth_token_destroy(admin, "a" * 64)
    with pytest.raises(exception.TokenNotFound):
        db.auth_token_get(admin, "a" * 64)
    with pytest.raises(exception.TokenNotFound):
        db.auth_token_destroy(admin, "a" * 64)


def test_an_expired_token_is_not_found_and_purged(db_url, admin):
    make_token(admin, "old", seconds=-1)
    make_token(admin, "new", seconds=3600)
    with pytest.raises(exception.TokenNotFound):
        db.auth_token_get(admin, "old")
    assert db.auth_token_purge_expired(admin) == 1
    assert db.auth_token_purge_expired(admin) == 0
    assert db.auth_token_get(admin, "new")["user_id"] == "alice"
    assert db.auth_token_purge_expired(admin, utils.utcnow() + datetime.timedelta(hours=2)) == 1
    with pytest.raises(exception.TokenNotFound):
        db.auth_token_get(admin, "new")


def test_a_token_needs_hash_and_expiry_and_an_admin(db_url, admin):
    with pytest.raises(exception.MissingParameter):
        db.auth_token_create(admin, {"token_hash": "x", "user_id": "alice"})
    with pytest.raises(exception.MissingParameter):
        db.auth_token_create(admin, {"user_id": "alice", "expires_at": utils.utcnow()})
    with pytest.raises(exception.InvalidInput):
        db.auth_token_create(admin, {"token_hash": "x", "expires_at": utils.utcnow(), "bogus": 1})
    make_token(admin, "dup")
    with pytest.raises(exception.Duplicate):
        make_token(admin, "dup")
    user = context.RequestContext("alice", "proj")
    for call in (lambda: db.auth_token_get(user, "dup"), lambda: db.auth_token_destroy(user, "dup"),
                 lambda: db.auth_token_purge_expired(user), lambda: make_token(user, "other")):
        with pytest.raises(exception.AdminRequired):
            call()


def test_deleting_a_user_or_project_deletes_its_tokens(db_url, admin):
    make_user(admin, "alice")
    make_user(admin, "bob")
    db.project_create(admin, {"id": "proj", "project_manager": "alice"})
    db.project_create(admin, {"id": "other", "project_manager": "alice"})
    make_token(admin, "bob-proj", user="bob")
    make_token(admin, "alice-proj")
    make_token(admin, "alice-other", project="other")
    db.user_delete(admin, "bob")
    with pytest.raises(exception.TokenNotFound):
        db.auth_token_get(admin, "bob-proj")
    db.project_delete(admin, "proj")
    with pytest.raises(exception.TokenNotFound):
        db.auth_token_get(admin, "alice-proj")
    assert db.auth_token_get(admin, "alice-other")["project_id"] == "other"
