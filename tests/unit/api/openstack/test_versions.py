"""Version documents, microversion headers, tokens and the project id in the URL."""

import pytest

from nova.auth import manager
from tests.unit.api.openstack.conftest import fault_of


def test_root_lists_versions_without_a_token(osapi):
    response = osapi.get("/", user=None, prefix="")
    assert response.status_code == 200
    versions = {v["id"]: v for v in response.json()["versions"]}
    current = versions["v2.1"]
    assert (current["status"], current["version"], current["min_version"]) == ("CURRENT", "2.1", "2.1")
    assert current["links"][0] == {"rel": "self", "href": f"{osapi.root}/v2.1/"}
    assert versions["v2.0"]["status"] == "SUPPORTED"


@pytest.mark.parametrize("path", ["", "/"])
def test_version_document(osapi, path):
    response = osapi.get(path, user=None)
    assert response.status_code == 200
    version = response.json()["version"]
    assert version["id"] == "v2.1" and version["status"] == "CURRENT"
    assert version["version"] == version["min_version"] == "2.1"
    assert version["media-types"][0]["base"] == "application/json"
    assert response.headers["OpenStack-API-Version"] == "compute 2.1"
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.1"


@pytest.mark.parametrize("headers", [{}, {"OpenStack-API-Version": "compute 2.1"},
                                     {"X-OpenStack-Nova-API-Version": "2.1"},
                                     {"OpenStack-API-Version": "compute latest"}])
def test_microversion_echoed(osapi, headers):
    response = osapi.get("/flavors", headers=headers)
    assert response.status_code == 200
    assert response.headers["OpenStack-API-Version"] == "compute 2.1"
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.1"
    assert "OpenStack-API-Version" in response.headers["Vary"]


@pytest.mark.parametrize("headers, status", [({"OpenStack-API-Version": "compute 2.90"}, 406),
                                             ({"X-OpenStack-Nova-API-Version": "3.0"}, 406),
                                             ({"OpenStack-API-Version": "compute two"}, 400)])
def test_unsupported_microversion(osapi, headers, status):
    response = osapi.get("/flavors", headers=headers)
    assert response.status_code == status
    assert fault_of(response)[1] == status


def test_no_token_and_bad_token_are_401(osapi):
    assert fault_of(osapi.get("/servers", user=None)) == ("unauthorized", 401)
    assert fault_of(osapi.get("/servers", user=None, headers={"X-Auth-Token": "nope"})) == ("unauthorized", 401)


def test_deleted_token_is_401(osapi):
    manager.AuthManager().delete_token(osapi.tokens["alice"])
    assert fault_of(osapi.get("/servers")) == ("unauthorized", 401)


def test_project_id_in_url(osapi):
    assert osapi.get("/proj-a/flavors").status_code == 200
    assert osapi.get("/flavors", prefix="/v2/proj-a").status_code == 200
    assert fault_of(osapi.get("/flavors", prefix="/v2")) == ("badRequest", 400)
    assert fault_of(osapi.get("/flavors/detail", prefix="/v2")) == ("itemNotFound", 404)
    assert fault_of(osapi.get("/proj-b/servers")) == ("badRequest", 400)
    assert fault_of(osapi.get("/servers", prefix="/v2/proj-b")) == ("badRequest", 400)
    links = osapi.get("/servers", prefix="/v2/proj-a").json()
    assert links == {"servers": []}


def test_unknown_route_and_method(osapi):
    assert fault_of(osapi.get("/nothing-here/at/all")) == ("itemNotFound", 404)
    assert fault_of(osapi.request("PATCH", "/servers")) == ("badMethod", 405)


def test_bad_json_is_400(osapi):
    response = osapi.post("/servers", data=b"{not json", headers={"Content-Type": "application/json"})
    assert fault_of(response) == ("badRequest", 400)
    assert fault_of(osapi.post("/servers", [1, 2])) == ("badRequest", 400)
    assert fault_of(osapi.post("/servers", {"server": {}})) == ("badRequest", 400)


def test_unexpected_error_is_compute_fault_with_request_id(osapi, monkeypatch):
    from nova.compute import instance_types

    def broken():
        raise RuntimeError("secret detail")

    monkeypatch.setattr(instance_types, "get_all_types", broken)
    response = osapi.get("/flavors")
    assert fault_of(response) == ("computeFault", 500)
    message = response.json()["computeFault"]["message"]
    assert response.headers["X-Compute-Request-Id"] in message and "secret" not in message


def test_unreachable_daemon_is_503(osapi, monkeypatch):
    from nova.network import rpcapi
    from nova.rpc import common

    def timeout(*args, **kwargs):
        raise common.Timeout(timeout=1, method="allocate_floating_ip", topic="network")

    monkeypatch.setattr(rpcapi.NetworkAPI, "allocate_floating_ip", timeout)
    assert fault_of(osapi.post("/os-floating-ips", {"pool": "nova"})) == ("serviceUnavailable", 503)


def test_version_document_below_the_project_id(osapi):
    assert osapi.get("/proj-a/").json()["version"]["id"] == "v2.1"
    assert osapi.get("", prefix="/v2/proj-a").json()["version"]["id"] == "v2.0"


def test_database_outage_is_503_with_retry_after(osapi, monkeypatch):
    from nova import exception
    from nova.compute import instance_types

    def down(*args, **kwargs):
        raise exception.DBConnectionError(reason="connection refused")

    monkeypatch.setattr(instance_types, "get_all_types", down)
    response = osapi.get("/flavors")
    assert fault_of(response) == ("serviceUnavailable", 503)
    assert response.headers["Retry-After"] == "1"
