"""The one door for credentials: an access key to user, project and roles, its cache, the clock-skew rule."""

import contextlib
import datetime

import pytest
import sqlalchemy

from nova import context, exception, flags
from nova.auth import credentials, manager
from nova.db import api as db
from nova.db.sqlalchemy import session

FLAGS = flags.FLAGS


@pytest.fixture
def auth(sqlite_db):
    credentials.clear_cache()
    auth = manager.AuthManager()
    auth.create_user("alice", "AK-ALICE", "SK-ALICE")
    auth.create_user("bob", "AK-BOB", "SK-BOB")
    auth.create_user("root", "AK-ROOT", "SK-ROOT", admin=True)
    auth.create_user("loner", "AK-LONER", "SK-LONER")
    auth.create_project("proj-a", "alice")
    auth.create_project("proj-b", "bob")
    auth.add_to_project("alice", "proj-b")
    auth.add_role("alice", "netadmin")
    auth.add_role("alice", "netadmin", "proj-b")
    auth.add_role("alice", "sysadmin")
    yield auth
    credentials.clear_cache()


@contextlib.contextmanager
def counting_statements():
    """A list that fills with the SQL statements run inside the block."""
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = session.get_engine()
    sqlalchemy.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", count)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(credentials, "_monotonic", fake)
    return fake


def test_access_key_with_and_without_project(auth):
    creds = auth.credentials_for_access_key("AK-ALICE")
    assert (creds.user_id, creds.secret_key, creds.project_id, creds.is_admin) == ("alice", "SK-ALICE", "proj-a",
                                                                                   False)
    assert creds.roles == ["projectmanager"]
    creds = auth.credentials_for_access_key("AK-ALICE:proj-b")
    assert creds.project_id == "proj-b" and creds.roles == ["netadmin"]


def test_roles_match_get_user_roles(auth):
    for access, user, project in (("AK-ALICE:proj-a", "alice", "proj-a"), ("AK-ALICE:proj-b", "alice", "proj-b"),
                                  ("AK-BOB", "bob", "proj-b")):
        assert auth.credentials_for_access_key(access).roles == auth.get_user_roles(user, project)


def test_a_superuser_may_name_any_project_and_is_admin(auth):
    creds = auth.credentials_for_access_key("AK-ROOT:proj-a")
    assert (creds.user_id, creds.project_id, creds.is_admin) == ("root", "proj-a", True)
    ctxt = creds.to_context(request_id="req-1", remote_address="10.0.0.1")
    assert (ctxt.user_id, ctxt.project_id, ctxt.is_admin, ctxt.request_id, ctxt.remote_address) == (
        "root", "proj-a", True, "req-1", "10.0.0.1")


@pytest.mark.parametrize("access, error", [
    ("AK-NOBODY", exception.AccessKeyNotFound),
    ("AK-NOBODY:proj-a", exception.AccessKeyNotFound),
    ("AK-ALICE:no-such-project", exception.ProjectNotFound),
    ("AK-BOB:proj-a", exception.ProjectMembershipNotFound),
    ("AK-LONER", exception.UserHasNoProject),
    ("AK-ROOT", exception.UserHasNoProject),
])
def test_errors_are_nova_exceptions(auth, access, error):
    with pytest.raises(error):
        auth.credentials_for_access_key(access)


def test_proof_runs_before_the_project_is_checked(auth):
    seen = []

    def refuse(secret):
        seen.append(secret)
        raise RuntimeError("bad signature")

    with pytest.raises(RuntimeError):
        auth.credentials_for_access_key("AK-ALICE:no-such-project", refuse)
    assert seen == ["SK-ALICE"]
    auth.credentials_for_access_key("AK-ALICE", seen.append)
    auth.credentials_for_access_key("AK-ALICE", seen.append)  # from the cache, still proven
    assert seen == ["SK-ALICE"] * 3


def test_a_second_lookup_within_the_ttl_makes_no_query(auth, clock):
    FLAGS.auth_cache_seconds = 2.0
    with counting_statements() as first:
        auth.credentials_for_access_key("AK-ALICE:proj-b")
    assert first
    clock.now += 1.9
    with counting_statements() as second:
        assert auth.credentials_for_access_key("AK-ALICE:proj-b").project_id == "proj-b"
    assert second == []
    clock.now += 0.2
    with counting_statements() as third:
        auth.credentials_for_access_key("AK-ALICE:proj-b")
    assert len(third) == len(first)


def test_a_user_deleted_elsewhere_stops_working_after_the_ttl(auth, clock):
    FLAGS.auth_cache_seconds = 2.0
    auth.credentials_for_access_key("AK-BOB")
    admin = context.get_admin_context()
    auth.modify_project("proj-b", manager_user="alice")
    auth.credentials_for_access_key("AK-BOB")
    db.user_delete(admin, "bob")  # as another daemon or nova-manage would: this process's cache is not told
    clock.now += 1
    assert auth.credentials_for_access_key("AK-BOB").user_id == "bob"
    clock.now += 1.5
    with pytest.raises(exception.AccessKeyNotFound):
        auth.credentials_for_access_key("AK-BOB")


def test_changes_through_auth_manager_are_seen_at_once(auth, clock):
    assert auth.credentials_for_access_key("AK-ALICE:proj-b").roles == ["netadmin"]
    auth.remove_role("alice", "netadmin", "proj-b")
    assert auth.credentials_for_access_key("AK-ALICE:proj-b").roles == []
    auth.modify_user("alice", secret="SK-NEW")
    assert auth.credentials_for_access_key("AK-ALICE:proj-b").secret_key == "SK-NEW"
    auth.remove_from_project("alice", "proj-b")
    with pytest.raises(exception.ProjectMembershipNotFound):
        auth.credentials_for_access_key("AK-ALICE:proj-b")


def test_a_zero_ttl_disables_the_cache(auth, clock):
    FLAGS.auth_cache_seconds = 0
    auth.credentials_for_access_key("AK-ALICE")
    with counting_statements() as statements:
        auth.credentials_for_access_key("AK-ALICE")
    assert statements


def test_the_old_flag_names_set_the_one_flag():
    flags.parse_args(["nova-test", "--s3_auth_cache_seconds=7", "--ec2_timestamp_skew=120"],
                     use_default_flagfile=False)
    assert (FLAGS.auth_cache_seconds, FLAGS.auth_max_clock_skew) == (7.0, 120)
    flags.parse_args(["nova-test", "--s3_max_clock_skew=60"], use_default_flagfile=False)
    assert FLAGS.auth_max_clock_skew == 60


NOW = datetime.datetime(2011, 4, 15, 12, 0, 0)


@pytest.mark.parametrize("offset, future_only, direction", [
    (0, False, None),
    (900, False, None),
    (-900, False, None),
    (901, False, "future"),
    (-901, False, "past"),
    (-86400, True, None),
    (901, True, "future"),
])
def test_one_clock_skew_rule(offset, future_only, direction):
    when = NOW + datetime.timedelta(seconds=offset)
    if direction is None:
        manager.AuthManager.check_clock_skew(when, NOW, future_only=future_only)
        return
    with pytest.raises(exception.RequestTimeSkewed) as excinfo:
        manager.AuthManager.check_clock_skew(when, NOW, future_only=future_only)
    assert excinfo.value.kwargs["direction"] == direction
    assert excinfo.value.code == 403


def test_the_skew_flag_is_read_at_each_check():
    FLAGS.auth_max_clock_skew = 60
    with pytest.raises(exception.RequestTimeSkewed):
        credentials.check_clock_skew(NOW - datetime.timedelta(seconds=61), NOW)
    credentials.check_clock_skew(NOW - datetime.timedelta(seconds=60), NOW)


# -- issue 17: a project's pair binds the project; the user's own key only where the signature covers it ----

def test_a_project_pair_names_user_project_and_its_own_secret(auth):
    pair = auth.create_ec2_credentials("alice", "proj-b")
    assert ":" not in pair["access_key"] and pair["secret_key"] != "SK-ALICE"
    creds = auth.credentials_for_access_key(pair["access_key"], signature_covers_key=False)
    assert (creds.user_id, creds.project_id, creds.secret_key, creds.roles) == ("alice", "proj-b",
                                                                                pair["secret_key"], ["netadmin"])
    proven = []
    auth.credentials_for_access_key(pair["access_key"], proven.append)
    assert proven == [pair["secret_key"]]  # the signature is checked against the pair's secret


@pytest.mark.parametrize("access", ["AK-ALICE:proj-a", "AK-ALICE:proj-b", "AK-ALICE", "AK-ROOT:proj-a", "AK-BOB:proj-b"])
def test_the_users_own_key_that_could_mean_another_project_needs_a_signature_over_it(auth, access):
    assert auth.credentials_for_access_key(access).user_id  # SigV2, presigned SigV4: the key is signed
    with pytest.raises(exception.UnsignedProjectKey) as excinfo:
        auth.credentials_for_access_key(access, signature_covers_key=False)
    assert "nova-manage credentials create" in str(excinfo.value)


def test_a_bare_key_of_a_one_project_user_means_that_project_only(auth):
    assert auth.credentials_for_access_key("AK-BOB", signature_covers_key=False).project_id == "proj-b"
    auth.add_to_project("bob", "proj-a")  # now the bare key could be replayed into either project
    with pytest.raises(exception.UnsignedProjectKey):
        auth.credentials_for_access_key("AK-BOB", signature_covers_key=False)


def test_pairs_go_with_the_membership_and_keys_never_clash(auth):
    pair = auth.create_ec2_credentials("alice", "proj-b", "PAIR-KEY", "PAIR-SECRET")
    with pytest.raises(exception.AccessKeyExists):
        auth.create_user("mallory", "PAIR-KEY", "x")
    with pytest.raises(exception.AccessKeyExists):
        auth.create_ec2_credentials("bob", "proj-b", "AK-ALICE")
    with pytest.raises(exception.ProjectMembershipNotFound):
        auth.create_ec2_credentials("bob", "proj-a")
    assert [p["access_key"] for p in auth.get_ec2_credentials(project="proj-b")] == [pair["access_key"]]
    auth.remove_from_project("alice", "proj-b")
    with pytest.raises(exception.AccessKeyNotFound):
        auth.credentials_for_access_key("PAIR-KEY")
    assert auth.get_ec2_credentials("alice") == []


@pytest.mark.parametrize("access, statements, project, roles", [
    ("AK-ALICE:proj-b", 3, "proj-b", ["netadmin"]),  # the user, its roles, its projects
    ("AK-BOB", 4, "proj-b", ["projectmanager"]),  # a bare key may be a pair's: looked for first
    ("AK-ROOT:proj-a", 4, "proj-a", ["cloudadmin"]),  # not a member: the project is read too
])
def test_a_lookup_costs_a_few_statements(auth, access, statements, project, roles):
    """An access key not in the cache is three or four statements, whatever the user's projects and roles
    (it was nine to eleven: each role and project read checked the user or the project again)."""
    auth.add_role("root", "cloudadmin")
    credentials.clear_cache()
    with counting_statements() as sent:
        creds = auth.credentials_for_access_key(access)
    assert len(sent) == statements, sent
    assert (creds.project_id, sorted(creds.roles)) == (project, roles)


def test_requests_that_find_a_key_gone_from_the_cache_wait_for_one_lookup(auth, monkeypatch):
    """When a busy key's entry runs out, the requests waiting on it share one lookup (each still proves
    its own signature) instead of each reading the user, project and grants."""
    import eventlet

    lookups, proven = [], []
    real = credentials._lookup

    def slow_lookup(access_key, proof):
        lookups.append(access_key)
        eventlet.sleep(0.05)  # the database round trips, during which the other requests arrive
        return real(access_key, proof)

    monkeypatch.setattr(credentials, "_lookup", slow_lookup)
    credentials.clear_cache()
    pool = eventlet.GreenPool()
    found = list(pool.imap(lambda n: auth.credentials_for_access_key("AK-ALICE", proven.append), range(10)))
    assert lookups == ["AK-ALICE"]
    assert len(proven) == 10 and {c.user_id for c in found} == {"alice"}
