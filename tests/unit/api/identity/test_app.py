"""The identity API v3 over HTTP: tokens, the catalog, projects and the JSON errors."""

import datetime

import pytest

from nova import flags
from nova.auth import manager
from tests.unit.api.identity.client import password_auth

FLAGS = flags.FLAGS
UNAUTHORIZED = {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}


def issue(identity, user="alice", password="SK-ALICE", project="proj-a", by="name"):
    return identity.request("POST", "/v3/auth/tokens", password_auth(user, password, project, by))


def token_of(identity, user="alice", password="SK-ALICE", project="proj-a"):
    reply = issue(identity, user, password, project)
    assert reply.status == 201, reply.body
    return reply.headers["x-subject-token"]


def test_version_documents(identity):
    root = identity.request("GET", "/")
    assert root.status == 300
    (version,) = root.json()["versions"]["values"]
    assert version["id"].startswith("v3.") and version["status"] == "stable"
    v3 = identity.request("GET", "/v3").json()["version"]
    assert v3["links"] == [{"rel": "self", "href": f"http://127.0.0.1:{identity.port}/v3/"}]


def test_password_token_scoped_to_a_project(identity):
    FLAGS.osapi_host, FLAGS.image_api_host, FLAGS.identity_host = "203.0.113.4", "203.0.113.5", "203.0.113.6"
    FLAGS.network_api_host = "203.0.113.7"
    reply = issue(identity)
    assert reply.status == 201
    assert reply.headers["x-subject-token"]
    token = reply.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"]["id"] == token["user"]["name"] == "alice"
    assert token["user"]["domain"] == {"id": "default", "name": "Default"}
    assert token["project"] == {"id": "proj-a", "name": "proj-a", "domain": {"id": "default", "name": "Default"}}
    assert {r["name"] for r in token["roles"]} == {"member", "netadmin", "projectmanager"}
    issued = datetime.datetime.strptime(token["issued_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    expires = datetime.datetime.strptime(token["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert 3590 <= (expires - issued).total_seconds() <= 3610
    urls = {s["type"]: {(e["interface"], e["url"], e["region"], e["region_id"]) for e in s["endpoints"]}
            for s in token["catalog"]}
    assert urls == {
        kind: {(i, url, "nova", "nova") for i in ("public", "internal", "admin")}
        for kind, url in (("compute", "http://203.0.113.4:8774/v2.1"), ("image", "http://203.0.113.5:9292"),
                          ("identity", "http://203.0.113.6:5000/v3"), ("network", "http://203.0.113.7:9696"))
    }


def test_user_and_project_by_id(identity):
    assert issue(identity, by="id").status == 201


def test_token_validate_and_revoke(identity):
    token, other = token_of(identity), token_of(identity)
    shown = identity.request("GET", "/v3/auth/tokens", headers={"X-Auth-Token": other, "X-Subject-Token": token})
    assert shown.status == 200 and shown.headers["x-subject-token"] == token
    assert shown.json()["token"]["project"]["id"] == "proj-a"
    nocatalog = identity.request("GET", "/v3/auth/tokens?nocatalog",
                                 headers={"X-Auth-Token": other, "X-Subject-Token": token})
    assert "catalog" not in nocatalog.json()["token"]
    assert identity.request("HEAD", "/v3/auth/tokens",
                            headers={"X-Auth-Token": other, "X-Subject-Token": token}).status == 200
    revoked = identity.request("DELETE", "/v3/auth/tokens", headers={"X-Auth-Token": other, "X-Subject-Token": token})
    assert revoked.status == 204
    gone = identity.request("GET", "/v3/auth/tokens", headers={"X-Auth-Token": other, "X-Subject-Token": token})
    assert gone.status == 404 and gone.json()["error"]["code"] == 404
    stale = identity.request("GET", "/v3/auth/catalog", headers={"X-Auth-Token": token})
    assert stale.status == 401 and stale.json() == {"error": UNAUTHORIZED}


def test_another_users_token_is_not_found_except_for_an_admin(identity):
    alice, bob, root = token_of(identity), token_of(identity, "bob", "SK-BOB", "proj-b"), \
        token_of(identity, "root", "SK-ROOT", "proj-a")
    seen_by_bob = identity.request("GET", "/v3/auth/tokens", headers={"X-Auth-Token": bob, "X-Subject-Token": alice})
    assert seen_by_bob.status == 404
    seen_by_root = identity.request("GET", "/v3/auth/tokens", headers={"X-Auth-Token": root, "X-Subject-Token": alice})
    assert seen_by_root.status == 200


@pytest.mark.parametrize("user, password, project", [
    ("alice", "wrong", "proj-a"),
    ("nobody", "SK-ALICE", "proj-a"),
    ("alice", "SK-ALICE", "no-such-project"),
    ("alice", "SK-ALICE", "proj-b"),
    ("alice", "SK-ALICE", None),
])
def test_refusals_are_the_same_401(identity, user, password, project):
    reply = issue(identity, user, password, project)
    assert reply.status == 401
    error = reply.json()["error"]
    assert (error["code"], error["title"]) == (401, "Unauthorized") and error["message"]
    assert "x-subject-token" not in reply.headers


def test_other_domain_or_method_is_401(identity):
    body = password_auth("alice", "SK-ALICE", "proj-a")
    body["auth"]["identity"]["password"]["user"]["domain"] = {"id": "elsewhere"}
    assert identity.request("POST", "/v3/auth/tokens", body).status == 401
    token_method = {"auth": {"identity": {"methods": ["token"], "token": {"id": "x"}}}}
    assert identity.request("POST", "/v3/auth/tokens", token_method).status == 401


@pytest.mark.parametrize("raw", [
    b"{not json", b"[]", b'{"auth": 1}', b'{"auth": {"identity": {"methods": "password"}}}',
    b'{"auth": {"identity": {"methods": ["password"]}}}',
    b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "alice", "password": 5}}}}}',
    b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"password": "x"}}}}}',
])
def test_malformed_bodies_are_400(identity, raw):
    reply = identity.request("POST", "/v3/auth/tokens", raw=raw, headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.json()["error"]["code"] == 400 and reply.json()["error"]["title"] == "Bad Request"


def test_a_set_password_replaces_the_secret_key(identity):
    manager.AuthManager().set_password("alice", "correct horse")
    assert issue(identity, password="SK-ALICE").status == 401
    assert issue(identity, password="correct horse").status == 201


def test_catalog_and_projects_need_a_token(identity):
    assert identity.request("GET", "/v3/auth/catalog").status == 401
    token = token_of(identity, "carol", "SK-CAROL", "proj-a")
    catalog = identity.request("GET", "/v3/auth/catalog", headers={"X-Auth-Token": token}).json()["catalog"]
    assert {s["type"] for s in catalog} == {"compute", "image", "identity", "network"}
    projects = identity.request("GET", "/v3/auth/projects", headers={"X-Auth-Token": token}).json()["projects"]
    assert [(p["id"], p["domain_id"]) for p in projects] == [("proj-a", "default")]
    assert identity.request("GET", "/v3/users/carol/projects", headers={"X-Auth-Token": token}).status == 200
    assert identity.request("GET", "/v3/users/bob/projects", headers={"X-Auth-Token": token}).status == 403


def test_unknown_routes_and_methods(identity):
    assert identity.request("GET", "/v3/nothing").json()["error"]["code"] == 404
    assert identity.request("PUT", "/v3/auth/tokens", raw=b"").status == 405
