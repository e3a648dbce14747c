"""The OpenStack API v1.0/v1.1 driven as an era client would: the X-Auth handshake, then
hand-made JSON and XML requests carrying X-Auth-Token."""

from __future__ import annotations

import json
import time
from typing import Any
from xml.dom import minidom

import eventlet
import pytest

from nova.api.openstack.v11 import ratelimit
from tests.unit.api.openstack.conftest import OsApi, Response

V11_NS = "http://docs.openstack.org/compute/api/v1.1"
V10_NS = "http://docs.rackspacecloud.com/servers/api/v1.0"


class Era:
    """A v1.x client: handshake once, then send the token with every request."""

    def __init__(self, api: OsApi, user: str = "alice", access: str = "AK-ALICE", version: str = "v1.1") -> None:
        self.api, self.version = api, version
        reply = api.request("GET", "", user=None, prefix=f"/{version}",
                            headers={"X-Auth-User": user, "X-Auth-Key": access})
        assert reply.status_code == 204, reply.text
        self.token = reply.headers["X-Auth-Token"]
        self.url = reply.headers["X-Server-Management-Url"]
        self.path = self.url[len(api.root):]

    def call(self, method: str, path: str, body: Any = None, xml: bool = False,
             headers: dict[str, str] | None = None) -> Response:
        sent = {"X-Auth-Token": self.token, **(headers or {})}
        data = None
        if isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
            sent.setdefault("Content-Type", "application/xml")
        elif body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        if xml:
            sent["Accept"] = "application/xml"
        return self.api.request(method, path, user=None, data=data, headers=sent, prefix=self.path)

    def wait_active(self, server_id: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            server = self.call("GET", f"/servers/{server_id}").json()["server"]
            if server["status"] == "ACTIVE":
                return server
            assert time.monotonic() < deadline, server
            eventlet.sleep(0.05)


def fault(response: Response, status: int, name: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == [name] and body[name]["code"] == status and body[name]["message"], body
    return body[name]


def xml_root(response: Response) -> Any:
    assert response.headers["Content-Type"].startswith("application/xml"), response.headers
    return minidom.parseString(response.content).documentElement


def test_handshake(osapi):
    era = Era(osapi)
    assert era.url == f"{osapi.root}/v1.1/proj-a"
    reply = osapi.request("GET", "", user=None, prefix="/v1.1",
                          headers={"X-Auth-User": "alice", "X-Auth-Key": "AK-ALICE"})
    assert reply.headers["X-Storage-Url"] == "" and reply.headers["X-CDN-Management-Url"] == ""
    assert reply.content == b""
    assert Era(osapi, version="v1.0").url == f"{osapi.root}/v1.0"
    for user, key in (("alice", "SK-ALICE"), ("bob", "AK-ALICE"), ("alice", "")):
        refused = osapi.request("GET", "", user=None, prefix="/v1.1", headers={"X-Auth-User": user, "X-Auth-Key": key})
        fault(refused, 401, "unauthorized")
    fault(osapi.request("GET", "/servers", user=None, prefix="/v1.1"), 401, "unauthorized")
    fault(osapi.request("GET", "/servers", user=None, prefix="/v1.1", headers={"X-Auth-Token": "nope"}),
          401, "unauthorized")
    assert era.call("GET", "/servers").json() == {"servers": []}
    # The v2.1 API accepts the same database token.
    assert osapi.request("GET", "/servers", user=None, headers={"X-Auth-Token": era.token}).status_code == 200


def test_server_lifecycle_json_and_xml(cloud):
    era = Era(cloud)
    created = era.call("POST", "/servers", {"server": {
        "name": "web", "imageRef": f"{era.url}/images/{cloud.image_id}", "flavorRef": f"{era.url}/flavors/1",
        "metadata": {"role": "web"}}})
    assert created.status_code == 202, created.text
    server_id = created.json()["server"]["id"]
    server = era.wait_active(server_id)
    assert server["name"] == "web" and server["metadata"] == {"role": "web"} and server["progress"] == 100
    assert server["imageRef"].endswith(f"/images/{cloud.image_id}") and server["flavorRef"].endswith("/flavors/1")
    assert server["addresses"]["private"][0]["version"] == 4 and server["hostId"]
    assert server["links"][0]["href"] == f"{era.url}/servers/{server_id}"

    root = xml_root(era.call("GET", f"/servers/{server_id}", xml=True))
    assert root.tagName == "server" and root.getAttribute("xmlns") == V11_NS
    assert root.getAttribute("name") == "web" and root.getAttribute("status") == "ACTIVE"
    meta = root.getElementsByTagName("meta")[0]
    assert meta.getAttribute("key") == "role" and meta.firstChild.data == "web"
    networks = {n.getAttribute("id"): n for n in root.getElementsByTagName("network")}
    assert set(networks) == {"public", "private"} and not networks["public"].getElementsByTagName("ip")
    assert networks["private"].getElementsByTagName("ip")[0].getAttribute("addr")
    assert xml_root(era.call("GET", f"/servers/{server_id}.xml")).tagName == "server"
    assert era.call("GET", f"/servers/{server_id}.json", xml=True).json()["server"]["id"] == server_id
    listed = xml_root(era.call("GET", "/servers/detail.xml"))
    assert [s.getAttribute("id") for s in listed.getElementsByTagName("server")] == [server_id]

    renamed = era.call("PUT", f"/servers/{server_id}", f'<server xmlns="{V11_NS}" name="renamed"/>')
    assert renamed.status_code == 204, renamed.text
    assert era.call("GET", f"/servers/{server_id}").json()["server"]["name"] == "renamed"
    reboot = era.call("POST", f"/servers/{server_id}/action", f'<reboot xmlns="{V11_NS}" type="HARD"/>')
    assert reboot.status_code == 202, reboot.text
    era.wait_active(server_id)
    assert era.call("GET", f"/servers/{server_id}/ips").json()["addresses"]["public"] == []
    assert era.call("DELETE", f"/servers/{server_id}").status_code == 204


def test_create_in_xml_and_unsupported_features(cloud):
    era = Era(cloud)
    body = (f'<server xmlns="{V11_NS}" name="x" imageRef="{cloud.image_id}" flavorRef="1">'
            '<metadata><meta key="a">b</meta></metadata></server>')
    created = era.call("POST", "/servers", body, xml=True)
    assert created.status_code == 202, created.text
    server_id = xml_root(created).getAttribute("id")
    assert era.wait_active(server_id)["metadata"] == {"a": "b"}
    for action in ({"changePassword": {"adminPass": "x"}}, {"rebuild": {"imageRef": cloud.image_id}},
                   {"resize": {"flavorRef": "2"}}, {"confirmResize": None}):
        fault(era.call("POST", f"/servers/{server_id}/action", action), 501, "notImplemented")
    unsupported = era.call("POST", f"/servers/{server_id}/action", f'<changePassword xmlns="{V11_NS}" adminPass="x"/>',
                           xml=True)
    assert unsupported.status_code == 501 and xml_root(unsupported).tagName == "notImplemented"
    personality = {"server": {"name": "p", "imageRef": cloud.image_id, "flavorRef": "1",
                              "personality": [{"path": "/etc/motd", "contents": "aGk="}]}}
    assert "inject" in fault(era.call("POST", "/servers", personality), 501, "notImplemented")["message"]
    personality["server"]["personality"] = [{"path": "/etc/motd", "contents": "%%%"}]
    fault(era.call("POST", "/servers", personality), 400, "badRequest")


def test_server_and_image_metadata(cloud):
    era = Era(cloud)
    server_id = era.call("POST", "/servers", {"server": {"name": "m", "imageRef": cloud.image_id,
                                                         "flavorRef": "1"}}).json()["server"]["id"]
    assert era.call("GET", f"/servers/{server_id}/meta").json() == {"metadata": {}}
    assert era.call("POST", f"/servers/{server_id}/meta", {"metadata": {"a": "1", "b": "2"}}).json() == \
        {"metadata": {"a": "1", "b": "2"}}
    assert era.call("PUT", f"/servers/{server_id}/meta/a", {"meta": {"a": "9"}}).json() == {"meta": {"a": "9"}}
    shown = xml_root(era.call("GET", f"/servers/{server_id}/meta/a", xml=True))
    assert shown.tagName == "meta" and shown.getAttribute("key") == "a" and shown.firstChild.data == "9"
    assert era.call("DELETE", f"/servers/{server_id}/meta/b").status_code == 204
    assert era.call("GET", f"/servers/{server_id}/meta").json() == {"metadata": {"a": "9"}}
    fault(era.call("GET", f"/servers/{server_id}/meta/b"), 404, "itemNotFound")
    fault(era.call("PUT", f"/servers/{server_id}/meta/a", {"meta": {"other": "1"}}), 400, "badRequest")
    too_many = {"metadata": {f"k{n}": "v" for n in range(200)}}
    fault(era.call("POST", f"/servers/{server_id}/meta", too_many), 413, "overLimit")
    xml_put = era.call("PUT", f"/servers/{server_id}/meta", f'<metadata xmlns="{V11_NS}"><meta key="z">1</meta>'
                                                             '</metadata>')
    assert xml_put.json() == {"metadata": {"z": "1"}}

    era.wait_active(server_id)
    snap = era.call("POST", "/images", {"image": {"name": "snap", "serverRef": f"{era.url}/servers/{server_id}"}})
    assert snap.status_code == 202, snap.text
    image_id = snap.json()["image"]["id"]
    assert snap.json()["image"]["serverRef"].endswith(server_id)
    assert era.call("POST", f"/images/{image_id}/meta", {"metadata": {"os": "linux"}}).json()["metadata"]["os"] \
        == "linux"
    assert era.call("GET", f"/images/{image_id}/meta/os").json() == {"meta": {"os": "linux"}}
    assert era.call("DELETE", f"/images/{image_id}/meta/os").status_code == 204
    fault(era.call("GET", f"/images/{image_id}/meta/os"), 404, "itemNotFound")
    fault(era.call("POST", f"/images/{image_id}/meta", too_many), 413, "overLimit")
    assert "k0" not in era.call("GET", f"/images/{image_id}/meta").json()["metadata"]
    # Another project sees none of it.
    bob = Era(cloud, "bob", "AK-BOB")
    for method, path in (("GET", f"/servers/{server_id}"), ("GET", f"/servers/{server_id}/meta"),
                         ("DELETE", f"/servers/{server_id}/meta/a"), ("POST", f"/servers/{server_id}/action"),
                         ("GET", f"/servers/{server_id}/ips"), ("GET", f"/images/{image_id}")):
        fault(bob.call(method, path, {"reboot": {"type": "SOFT"}} if method == "POST" else None),
              404, "itemNotFound")
    # ... nor through the first project's URL.
    fault(cloud.request("GET", "/servers", user=None, prefix=era.path, headers={"X-Auth-Token": bob.token}),
          400, "badRequest")


def test_v10_views_flavors_images_extensions(cloud):
    era = Era(cloud, version="v1.0")
    created = era.call("POST", "/servers", {"server": {"name": "old", "imageId": int(cloud.image_id),
                                                       "flavorId": 1}})
    assert created.status_code == 202, created.text
    server = created.json()["server"]
    assert "links" not in server
    shown = era.call("GET", f"/servers/{server['id']}").json()["server"]
    assert shown["imageId"] == int(cloud.image_id) and shown["flavorId"] == 1
    assert era.call("GET", f"/servers/{server['id']}/ips/private").status_code == 200
    root = xml_root(era.call("GET", "/flavors/detail", xml=True))
    assert root.getAttribute("xmlns") == V10_NS
    assert {f.getAttribute("name") for f in root.getElementsByTagName("flavor")} >= {"m1.tiny", "m1.small"}
    assert era.call("GET", "/flavors/1").json()["flavor"]["ram"] == 512
    image = era.call("GET", f"/images/{cloud.image_id}").json()["image"]
    assert image["status"] == "ACTIVE" and image["name"] == "cirros"
    fault(era.call("GET", "/images/999999"), 404, "itemNotFound")
    missing = era.call("GET", "/images/999999.xml")
    assert missing.status_code == 404 and xml_root(missing).tagName == "itemNotFound"
    assert xml_root(missing).getElementsByTagName("message")[0].firstChild.data

    v11 = Era(cloud)
    aliases = {e["alias"] for e in v11.call("GET", "/extensions").json()["extensions"]}
    assert aliases == {"os-keypairs", "security_groups", "os-floating-ips", "os-volumes"}
    assert v11.call("POST", "/os-keypairs", {"keypair": {"name": "k"}}).json()["keypair"]["private_key"]
    assert v11.call("GET", "/os-keypairs").json()["keypairs"][0]["keypair"]["name"] == "k"
    assert v11.call("GET", "/os-security-groups").json()["security_groups"][0]["name"] == "default"
    assert v11.call("GET", "/os-floating-ips").json() == {"floating_ips": []}


def test_paging_and_changes_since_rate_limit(cloud):
    era = Era(cloud)
    ids = [era.call("POST", "/servers", {"server": {"name": f"s{n}", "imageRef": cloud.image_id,
                                                    "flavorRef": "1"}}).json()["server"]["id"] for n in range(3)]
    page = era.call("GET", "/servers?limit=2").json()["servers"]
    rest = era.call("GET", f"/servers?limit=2&marker={page[1]['id']}").json()["servers"]
    assert len(page) == 2 and len(rest) == 1 and {s["id"] for s in page + rest} == set(ids)
    fault(era.call("GET", "/servers?limit=-1"), 400, "badRequest")
    for _ in range(3):
        assert len(era.call("GET", "/servers?changes-since=2000-01-01T00:00:00Z").json()["servers"]) == 3
    over = era.call("GET", "/servers?changes-since=2000-01-01T00:00:00Z")
    body = fault(over, 413, "overLimit")
    assert 0 < body["retryAfter"] <= 60 and over.headers["Retry-After"] == str(body["retryAfter"])
    over_xml = era.call("GET", "/servers.xml?changes-since=2000-01-01T00:00:00Z")
    assert over_xml.status_code == 413 and xml_root(over_xml).getAttribute("retryAfter")
    limits = era.call("GET", "/limits").json()["limits"]
    changes = next(r for r in limits["rate"] if "changes-since" in r["uri"])["limit"][0]
    assert changes["remaining"] == 0 and changes["value"] == 3 and changes["unit"] == "MINUTE"
    assert limits["absolute"]["maxTotalInstances"] >= 3
    # POST: 10 a minute per user; bob has his own count.
    for _ in range(7):
        era.call("POST", "/os-security-groups", {"security_group": {"name": "g", "description": ""}})
    fault(era.call("POST", "/os-security-groups", {"security_group": {}}), 413, "overLimit")
    assert Era(cloud, "bob", "AK-BOB").call("GET", "/servers?changes-since=2000-01-01T00:00:00Z").status_code == 200


@pytest.mark.parametrize("body, accept", [
    (b"{not json", False), (b"<server name='x'", True), (b'{"server": []}', False),
    (b'<server xmlns="x" name=""/>', True)])
def test_bad_input_is_400_in_requested_format(osapi, body, accept):
    era = Era(osapi)
    reply = era.call("POST", "/servers", body, xml=accept,
                     headers={"Content-Type": "application/xml" if body.startswith(b"<") else "application/json"})
    assert reply.status_code == 400, reply.text
    if accept:
        assert xml_root(reply).tagName == "badRequest"
    else:
        fault(reply, 400, "badRequest")


def test_xml_entities_are_refused(osapi):
    era = Era(osapi)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<server name="&b;" imageRef="1" flavorRef="1"/>')
    fault(era.call("POST", "/servers", bomb), 400, "badRequest")


def test_limiter_windows_and_config():
    now = [1000.0]
    limiter = ratelimit.Limiter(ratelimit.parse("(POST, *, .*, 2, MINUTE);(GET, *changes-since*, changes-since, 1, "
                                                "SECOND)"), clock=lambda: now[0])
    limiter.check("u", "POST", "/servers")
    limiter.check("u", "POST", "/servers")
    with pytest.raises(ratelimit.OverLimit) as over:
        limiter.check("u", "POST", "/servers")
    assert over.value.retry_after == 60 and "2 POST request(s)" in over.value.details
    limiter.check("v", "POST", "/servers")
    limiter.check("u", "GET", "/servers")
    now[0] += 30
    assert over.value.retry_after == 60
    with pytest.raises(ratelimit.OverLimit) as over:
        limiter.check("u", "POST", "/x")
    assert over.value.retry_after == 30
    now[0] += 30
    limiter.check("u", "POST", "/x")
    assert limiter.describe("u")[0]["limit"][0]["remaining"] == 1
    with pytest.raises(ValueError):
        ratelimit.parse("(POST, *, .*, 2, FORTNIGHT)")
    assert ratelimit.Limiter().limits == ratelimit.DEFAULT_LIMITS
    assert ratelimit.DEFAULT_LIMITS[1].applies("POST", "/proj-a/servers")
    assert not ratelimit.DEFAULT_LIMITS[1].applies("POST", "/proj-a/servers/x/action")
