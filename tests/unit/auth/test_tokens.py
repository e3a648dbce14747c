"""OpenStack API tokens through AuthManager: made, authenticated, expired, deleted."""

import datetime
import hashlib

import pytest
import sqlalchemy

from nova import exception, flags, utils
from nova.auth import manager
from nova.db.sqlalchemy import session

FLAGS = flags.FLAGS


@pytest.fixture
def auth(sqlite_db):
    auth = manager.AuthManager()
    auth.create_user("alice", "AK-ALICE", "SK-ALICE")
    auth.create_user("bob", "AK-BOB", "SK-BOB")
    auth.create_project("proj-a", "alice")
    auth.create_project("proj-b", "bob")
    auth.add_to_project("alice", "proj-b")
    auth.add_role("alice", "netadmin")
    auth.add_role("alice", "netadmin", "proj-b")
    return auth


def later(monkeypatch, seconds):
    real = utils.utcnow
    monkeypatch.setattr(utils, "utcnow", lambda: real() + datetime.timedelta(seconds=seconds))


def stored_tokens():
    with session.get_engine().connect() as connection:
        return [tuple(row) for row in connection.execute(
            sqlalchemy.text("SELECT token_hash, user_id, project_id, expires_at FROM auth_tokens"))]


def test_a_token_gives_the_same_credentials_as_the_access_key(auth):
    token = auth.create_token("alice", "proj-b")
    assert isinstance(token, str) and len(token) >= 40
    creds = auth.authenticate_token(token)
    assert creds == auth.credentials_for_access_key("AK-ALICE:proj-b")
    assert (creds.user_id, creds.project_id, creds.roles, creds.is_admin) == ("alice", "proj-b", ["netadmin"], False)


def test_without_a_project_the_token_is_for_the_first_one(auth):
    assert auth.authenticate_token(auth.create_token("alice")).project_id == "proj-a"


def test_only_the_hash_is_stored_with_the_default_lifetime(auth):
    FLAGS.auth_token_ttl = 600
    before = utils.utcnow()
    token = auth.create_token("alice", "proj-a")
    [(token_hash, user_id, project_id, expires_at)] = stored_tokens()
    assert token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert (user_id, project_id) == ("alice", "proj-a")
    if isinstance(expires_at, str):
        expires_at = datetime.datetime.fromisoformat(expires_at)
    assert before + datetime.timedelta(seconds=599) <= expires_at <= utils.utcnow() + datetime.timedelta(seconds=601)


def test_tokens_are_random(auth):
    assert len({auth.create_token("alice", "proj-a") for _ in range(5)}) == 5


def test_a_token_expires(auth, monkeypatch):
    token = auth.create_token("alice", "proj-a", ttl=60)
    later(monkeypatch, 59)
    assert auth.authenticate_token(token).user_id == "alice"
    later(monkeypatch, 2)
    with pytest.raises(exception.TokenNotFound):
        auth.authenticate_token(token)


def test_a_wrong_token_is_not_found(auth):
    token = auth.create_token("alice", "proj-a")
    for wrong in ("", "nonsense", token[:-1], token + "x", token.upper()):
        with pytest.raises(exception.TokenNotFound):
            auth.authenticate_token(wrong)


def test_a_deleted_token_is_not_found(auth):
    token = auth.create_token("alice", "proj-a")
    auth.delete_token(token)
    with pytest.raises(exception.TokenNotFound):
        auth.authenticate_token(token)
    with pytest.raises(exception.TokenNotFound):
        auth.delete_token(token)


def test_a_deleted_user_or_project_takes_its_tokens(auth):
    token = auth.create_token("bob", "proj-b")
    other = auth.create_token("alice", "proj-b")
    auth.modify_project("proj-b", manager_user="alice")
    auth.delete_user("bob")
    with pytest.raises(exception.TokenNotFound):
        auth.authenticate_token(token)
    auth.authenticate_token(other)
    auth.delete_project("proj-b")
    with pytest.raises(exception.TokenNotFound):
        auth.authenticate_token(other)
    assert stored_tokens() == []


def test_roles_and_membership_are_looked_up_at_each_use(auth):
    token = auth.create_token("alice", "proj-b")
    auth.remove_role("alice", "netadmin", "proj-b")
    assert auth.authenticate_token(token).roles == []
    auth.remove_from_project("alice", "proj-b")
    with pytest.raises(exception.TokenNotFound):
        auth.authenticate_token(token)


def test_no_token_outside_ones_projects(auth):
    with pytest.raises(exception.ProjectMembershipNotFound):
        auth.create_token("bob", "proj-a")
    with pytest.raises(exception.ProjectNotFound):
        auth.create_token("bob", "no-such-project")
    with pytest.raises(exception.UserNotFound):
        auth.create_token("nobody", "proj-a")
    with pytest.raises(exception.InvalidInput):
        auth.create_token("alice", "proj-a", ttl=0)
    assert stored_tokens() == []


def test_purge_removes_only_expired_tokens(auth, monkeypatch):
    short = auth.create_token("alice", "proj-a", ttl=10)
    long = auth.create_token("alice", "proj-a", ttl=1000)
    later(monkeypatch, 20)
    assert auth.purge_expired_tokens() == 1
    assert auth.purge_expired_tokens() == 0
    with pytest.raises(exception.TokenNotFound):
        auth.authenticate_token(short)
    assert auth.authenticate_token(long).user_id == "alice"
