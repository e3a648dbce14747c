"""os-volumes, os-snapshots and os-volume_attachments over HTTP, with nova-scheduler, nova-compute (fake
virt driver), nova-network and nova-volume (an in-memory volume driver) as Services in this process."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova import exception, flags, service
from nova.db import api as db
from nova.virt.fake import FakeDriver
from tests.fixtures.rpc import wait_for
from tests.unit.api.openstack.conftest import ADMIN, fault_of, make_active, wait_status
from tests.unit.volume.fakes import MemoryDriver

FLAGS = flags.FLAGS


def _fake_driver_plugs_volumes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the fake virt driver attaches volumes itself: the same behaviour, kept per driver object."""
    if "attach_volume" in FakeDriver.__dict__:
        return

    def plugged(driver: Any, name: str) -> dict[str, Any]:
        return driver.__dict__.setdefault("_test_volumes", {}).setdefault(name, {})

    def attach_volume(self: Any, instance: Any, connection_info: dict[str, Any], mountpoint: str) -> None:
        self._domain(instance)
        if mountpoint in plugged(self, instance["name"]):
            raise exception.DeviceInUse(path=mountpoint)
        plugged(self, instance["name"])[mountpoint] = dict(connection_info)

    def detach_volume(self: Any, instance: Any, connection_info: Any, mountpoint: str) -> None:
        plugged(self, instance["name"]).pop(mountpoint, None)

    def volumes_of(self: Any, name: str) -> dict[str, Any]:
        return dict(sorted(plugged(self, name).items()))

    for name, method in (("attach_volume", attach_volume), ("detach_volume", detach_volume),
                         ("volumes_of", volumes_of)):
        monkeypatch.setattr(FakeDriver, name, method, raising=False)


@pytest.fixture
def vol(cloud, monkeypatch):
    """``cloud`` plus nova-volume on host vol1."""
    FLAGS.volume_driver = "tests.unit.volume.fakes.MemoryDriver"
    MemoryDriver.instances.clear()
    _fake_driver_plugs_volumes(monkeypatch)
    volume_service = service.Service("vol1", "nova-volume", "volume", "nova.volume.manager.VolumeManager")
    volume_service.start()
    cloud.services["volume"] = volume_service
    try:
        yield cloud
    finally:
        volume_service.kill()


def create_volume(api, user: str = "alice", **values: Any) -> dict[str, Any]:
    response = api.post("/os-volumes", {"volume": {"size": 1, **values}}, user=user)
    assert response.status_code == 200, response.text
    return response.json()["volume"]


def volume_in(api, volume_id: str, status: str, user: str = "alice") -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        volume = api.get(f"/os-volumes/{volume_id}", user=user).json()["volume"]
        return volume if volume["status"] == status else None
    return wait_for(check, timeout=10)


def active_server(api, user: str = "alice") -> dict[str, Any]:
    server = api.create_server(user=user)
    return wait_status(api, server["id"], "ACTIVE", user=user)


def gone(api, path: str, user: str = "alice") -> None:
    wait_for(lambda: api.get(path, user=user).status_code == 404, timeout=10)


def test_volume_lifecycle_create_attach_snapshot_detach_delete(vol):
    created = create_volume(vol, size=2, display_name="data", display_description="scratch",
                            metadata={"role": "db"})
    assert created["status"] == "creating" and created["size"] == 2 and created["id"].isdigit()
    assert (created["displayName"], created["displayDescription"], created["metadata"]) == \
        ("data", "scratch", {"role": "db"})
    assert created["availabilityZone"] == "nova" and created["attachments"] == [] and created["snapshotId"] is None
    volume_id = created["id"]
    shown = volume_in(vol, volume_id, "available")
    assert shown["createdAt"].endswith("Z") and shown["metadata"] == {"role": "db"}
    assert [v["id"] for v in vol.get("/os-volumes").json()["volumes"]] == [volume_id]
    assert vol.get("/os-volumes/detail").json()["volumes"][0] == shown
    assert vol.get(f"/os-volumes/{volume_id}", prefix="/v2/proj-a").json()["volume"]["id"] == volume_id

    server = active_server(vol)
    attached = vol.post(f"/servers/{server['id']}/os-volume_attachments",
                        {"volumeAttachment": {"volumeId": volume_id, "device": "/dev/vdb"}})
    assert attached.status_code == 200, attached.text
    attachment = {"id": volume_id, "volumeId": volume_id, "serverId": server["id"], "device": "/dev/vdb"}
    assert attached.json() == {"volumeAttachment": attachment}
    in_use = volume_in(vol, volume_id, "in-use")
    assert in_use["attachments"] == [attachment]
    listed = vol.get(f"/servers/{server['id']}/os-volume_attachments").json()
    assert listed == {"volumeAttachments": [attachment]}
    assert vol.get(f"/servers/{server['id']}/os-volume_attachments/{volume_id}").json() == \
        {"volumeAttachment": attachment}
    assert vol.get(f"/servers/{server['id']}").json()["server"]["os-extended-volumes:volumes_attached"] == \
        [{"id": volume_id, "delete_on_termination": False}]
    compute = vol.services["compute"].manager
    instance_name = db.instance_get_all_by_filters(ADMIN, {"uuid": server["id"]})[0]["name"]
    assert list(compute.driver.volumes_of(instance_name)) == ["/dev/vdb"]

    assert fault_of(vol.request("DELETE", f"/os-volumes/{volume_id}")) == ("conflict", 409)
    assert fault_of(vol.post("/os-snapshots", {"snapshot": {"volume_id": volume_id}})) == ("conflict", 409)
    snapshot = vol.post("/os-snapshots", {"snapshot": {"volume_id": volume_id, "force": True,
                                                        "display_name": "nightly"}}).json()["snapshot"]
    assert (snapshot["volumeId"], snapshot["size"], snapshot["displayName"], snapshot["status"]) == \
        (volume_id, 2, "nightly", "creating")
    wait_for(lambda: vol.get(f"/os-snapshots/{snapshot['id']}").json()["snapshot"]["status"] == "available",
             timeout=10)
    assert [s["id"] for s in vol.get("/os-snapshots/detail").json()["snapshots"]] == [snapshot["id"]]

    second = create_volume(vol)["id"]
    volume_in(vol, second, "available")
    auto = vol.post(f"/servers/{server['id']}/os-volume_attachments", {"volumeAttachment": {"volumeId": second}})
    assert auto.status_code == 200 and auto.json()["volumeAttachment"]["device"] == "/dev/vdc", auto.text
    volume_in(vol, second, "in-use")

    detached = vol.request("DELETE", f"/servers/{server['id']}/os-volume_attachments/{volume_id}")
    assert detached.status_code == 202 and detached.content == b""
    assert volume_in(vol, volume_id, "available")["attachments"] == []
    assert list(compute.driver.volumes_of(instance_name)) == ["/dev/vdc"]
    assert [a["volumeId"] for a in vol.get(f"/servers/{server['id']}/os-volume_attachments").json()[
        "volumeAttachments"]] == [second]

    restored = create_volume(vol, size=3, snapshot_id=snapshot["id"])
    assert restored["snapshotId"] == snapshot["id"]
    volume_in(vol, restored["id"], "available")
    assert vol.request("DELETE", f"/os-snapshots/{snapshot['id']}").status_code == 202
    gone(vol, f"/os-snapshots/{snapshot['id']}")
    assert vol.request("DELETE", f"/os-volumes/{volume_id}").status_code == 202
    gone(vol, f"/os-volumes/{volume_id}")
    assert sorted(v["id"] for v in vol.get("/os-volumes").json()["volumes"]) == sorted([second, restored["id"]])


@pytest.fixture
def alices(vol):
    """Alice's available volume and snapshot, and her active server; bob's server (marked active: the one
    network of the fixture belongs to proj-a)."""
    volume_id = create_volume(vol)["id"]
    volume_in(vol, volume_id, "available")
    snapshot = vol.post("/os-snapshots", {"snapshot": {"volume_id": volume_id}}).json()["snapshot"]
    return {"volume": volume_id, "snapshot": snapshot["id"], "server": active_server(vol)["id"],
            "bobs_server": make_active(vol.create_server(user="bob")["id"])["uuid"]}


ISOLATED = [
    ("GET", "/os-volumes/{volume}", None),
    ("DELETE", "/os-volumes/{volume}", None),
    ("GET", "/os-snapshots/{snapshot}", None),
    ("DELETE", "/os-snapshots/{snapshot}", None),
    ("POST", "/os-snapshots", {"snapshot": {"volume_id": "{volume}"}}),
    ("POST", "/os-volumes", {"volume": {"snapshot_id": "{snapshot}"}}),
    ("POST", "/servers/{bobs_server}/os-volume_attachments", {"volumeAttachment": {"volumeId": "{volume}"}}),
    ("GET", "/servers/{server}/os-volume_attachments", None),
    ("POST", "/servers/{server}/os-volume_attachments", {"volumeAttachment": {"volumeId": "{volume}"}}),
    ("GET", "/servers/{server}/os-volume_attachments/{volume}", None),
    ("DELETE", "/servers/{server}/os-volume_attachments/{volume}", None),
]


def test_another_projects_volumes_snapshots_and_servers_are_404(vol, alices):
    assert vol.get("/os-volumes", user="bob").json() == {"volumes": []}
    assert vol.get("/os-snapshots/detail", user="bob").json() == {"snapshots": []}
    for method, path, body in ISOLATED:
        sent = json.loads(json.dumps(body).replace("{volume}", alices["volume"])
                          .replace("{snapshot}", alices["snapshot"])) if body else None
        response = vol.request(method, path.format(**alices), json=sent, user="bob")
        assert fault_of(response) == ("itemNotFound", 404), (method, path, response.text)
    # Alice may not put her volume on bob's server either.
    response = vol.post(f"/servers/{alices['bobs_server']}/os-volume_attachments",
                        {"volumeAttachment": {"volumeId": alices["volume"]}})
    assert fault_of(response) == ("itemNotFound", 404)
    assert vol.get(f"/os-volumes/{alices['volume']}").json()["volume"]["status"] == "available"
    assert vol.get(f"/os-snapshots/{alices['snapshot']}").status_code == 200
    # carol shares proj-a; root (an admin of proj-a) sees every project's only when asking for all_tenants.
    assert [v["id"] for v in vol.get("/os-volumes", user="carol").json()["volumes"]] == [alices["volume"]]
    bobs = create_volume(vol, user="bob")["id"]
    assert [v["id"] for v in vol.get("/os-volumes", user="root").json()["volumes"]] == [alices["volume"]]
    assert {v["id"] for v in vol.get("/os-volumes?all_tenants=1", user="root").json()["volumes"]} == \
        {alices["volume"], bobs}


@pytest.mark.parametrize("volume", [
    {"size": 0}, {"size": -1}, {"size": "two"}, {"size": True}, {"size": 1.5}, {"size": 10**6}, {"size": 10**30},
    {}, {"size": 1, "availability_zone": "mars"}, {"size": 1, "volume_type": "ssd"}, {"size": 1, "metadata": [1]},
    {"size": 1, "metadata": {"k": 1}}, {"size": 1, "display_name": 5}, {"size": 1, "snapshot_id": "snap"},
    {"size": 1, "metadata": {"aws:x": "y"}},
], ids=repr)
def test_bad_volumes_are_400_and_nothing_is_made(osapi, volume):
    assert fault_of(osapi.post("/os-volumes", {"volume": volume})) == ("badRequest", 400)
    assert osapi.get("/os-volumes").json() == {"volumes": []}


def test_bad_bodies_ids_and_devices(vol, alices):
    for path in ("/os-volumes", "/os-snapshots", f"/servers/{alices['server']}/os-volume_attachments"):
        for body in (None, [], {"volume": "x"}, {"snapshot": []}, {"volumeAttachment": 1}):
            response = vol.request("POST", path, data=json.dumps(body).encode() if body is not None else b"",
                                   headers={"Content-Type": "application/json"})
            assert fault_of(response) == ("badRequest", 400), (path, body)
    for path in ("/os-volumes/abc", "/os-volumes/0", "/os-volumes/99999999999999999999", "/os-volumes/9999",
                 "/os-snapshots/x", "/os-snapshots/9999",
                 f"/servers/{alices['server']}/os-volume_attachments/{alices['volume']}",
                 "/servers/no-such-server/os-volume_attachments"):
        assert fault_of(vol.get(path)) == ("itemNotFound", 404), path
    attach = f"/servers/{alices['server']}/os-volume_attachments"
    for attachment in ({"volumeId": alices["volume"], "device": device}
                       for device in ("/dev/vda", "vdb", "/dev/sda1", "/dev/../etc/passwd", "", 7)):
        assert fault_of(vol.post(attach, {"volumeAttachment": attachment})) == ("badRequest", 400), attachment
    for attachment in ({"volumeId": "vol-1"}, {"volumeId": None}, {}, {"volumeId": alices["volume"], "tag": "x"}):
        assert fault_of(vol.post(attach, {"volumeAttachment": attachment})) == ("badRequest", 400), attachment
    assert fault_of(vol.post(attach, {"volumeAttachment": {"volumeId": "9999"}})) == ("itemNotFound", 404)
    assert fault_of(vol.post("/os-snapshots", {"snapshot": {"volume_id": alices["volume"], "force": "maybe"}})) \
        == ("badRequest", 400)
    assert fault_of(vol.post("/os-snapshots", {"snapshot": {"volume_id": "9999"}})) == ("itemNotFound", 404)
    assert fault_of(vol.post("/os-volumes", {"volume": {"snapshot_id": "9999"}})) == ("itemNotFound", 404)
    assert vol.get(f"/os-volumes/{alices['volume']}").json()["volume"]["status"] == "available"


def test_busy_volumes_and_devices_are_409(vol, alices):
    attach = f"/servers/{alices['server']}/os-volume_attachments"
    # A volume still being created (a row only: the volume host would make it available at once).
    creating = str(db.volume_create(ADMIN, {"project_id": "proj-a", "user_id": "alice", "size": 1,
                                            "status": "creating", "availability_zone": "nova"})["id"])
    assert fault_of(vol.post(attach, {"volumeAttachment": {"volumeId": creating}})) == ("conflict", 409)
    assert vol.post(attach, {"volumeAttachment": {"volumeId": alices["volume"], "device": "/dev/vdd"}}) \
        .status_code == 200
    other = f"/servers/{active_server(vol)['id']}/os-volume_attachments"
    assert fault_of(vol.post(other, {"volumeAttachment": {"volumeId": alices["volume"]}})) == ("conflict", 409)
    detach = f"{attach}/{alices['volume']}"
    volume_in(vol, alices["volume"], "in-use")
    db.volume_update(ADMIN, int(creating), {"status": "available"})
    assert fault_of(vol.post(attach, {"volumeAttachment": {"volumeId": creating, "device": "/dev/sdd"}})) == \
        ("conflict", 409)
    assert fault_of(vol.request("DELETE", f"{other}/{alices['volume']}")) == ("itemNotFound", 404)
    assert vol.request("DELETE", detach).status_code == 202
    volume_in(vol, alices["volume"], "available")
    assert fault_of(vol.request("DELETE", detach)) == ("itemNotFound", 404)
    # An attach the compute host has not finished: neither detached nor deleted meanwhile.
    instance = db.instance_get_all_by_filters(ADMIN, {"uuid": alices["server"]})[0]
    db.volume_update(ADMIN, int(creating), {"status": "attaching", "instance_id": instance["id"],
                                            "mountpoint": "/dev/vde"})
    assert fault_of(vol.request("DELETE", f"{attach}/{creating}")) == ("conflict", 409)
    assert fault_of(vol.request("DELETE", f"/os-volumes/{creating}")) == ("conflict", 409)
    assert vol.get(f"{attach}/{creating}").json()["volumeAttachment"]["device"] == "/dev/vde"


def test_volume_quotas_are_403_and_shown_in_quota_sets_and_limits(vol):
    updated = vol.request("PUT", "/os-quota-sets/proj-a", json={"quota_set": {"volumes": 2, "gigabytes": 5}},
                          user="root")
    assert updated.status_code == 200 and updated.json()["quota_set"]["volumes"] == 2
    create_volume(vol, size=4)
    assert fault_of(vol.post("/os-volumes", {"volume": {"size": 2}})) == ("forbidden", 403)
    create_volume(vol, size=1)
    assert fault_of(vol.post("/os-volumes", {"volume": {"size": 1}})) == ("forbidden", 403)
    absolute = vol.get("/limits").json()["limits"]["absolute"]
    assert (absolute["maxTotalVolumes"], absolute["maxTotalVolumeGigabytes"]) == (2, 5)
    assert (absolute["totalVolumesUsed"], absolute["totalVolumeGigabytesUsed"]) == (2, 5)
    assert len(vol.get("/os-volumes").json()["volumes"]) == 2
    assert vol.get("/os-volumes?limit=1&offset=1").json()["volumes"][0]["size"] == 1
    assert fault_of(vol.get("/os-volumes?offset=-1")) == ("badRequest", 400)


def test_v11_lists_the_extension_and_serves_volumes_in_xml(vol):
    v11 = {"prefix": "/v1.1"}
    aliases = {e["alias"] for e in vol.get("/extensions", **v11).json()["extensions"]}
    assert "os-volumes" in aliases
    volume_id = create_volume(vol)["id"]
    assert vol.get(f"/os-volumes/{volume_id}", **v11).json()["volume"]["id"] == volume_id
    xml = vol.get("/os-volumes", headers={"Accept": "application/xml"}, **v11)
    assert xml.status_code == 200 and f'id="{volume_id}"' in xml.text, xml.text


FUZZ_ROUTES = [("POST", "/os-volumes"), ("GET", "/os-volumes/{id}"), ("DELETE", "/os-volumes/{id}"),
               ("POST", "/os-snapshots"), ("GET", "/os-snapshots/{id}"), ("DELETE", "/os-snapshots/{id}"),
               ("GET", "/os-volumes?limit={id}&offset={id}"), ("POST", "/servers/{id}/os-volume_attachments"),
               ("POST", "/servers/{server}/os-volume_attachments"),
               ("GET", "/servers/{server}/os-volume_attachments/{id}"),
               ("DELETE", "/servers/{server}/os-volume_attachments/{id}")]
FUZZ_FIELDS = ["size", "snapshot_id", "volume_id", "volumeId", "device", "force", "display_name",
               "display_description", "availability_zone", "volume_type", "metadata", "tag"]
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                     st.text(max_size=12), st.sampled_from(["1", "2", "/dev/vdb", "/dev/sdz", "nova", "0"]))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=2), st.dictionaries(
    st.text(max_size=5), inner, max_size=2)), max_leaves=4)
_bodies = st.one_of(st.dictionaries(st.sampled_from(["volume", "snapshot", "volumeAttachment"]),
                                    st.dictionaries(st.sampled_from(FUZZ_FIELDS), _values, max_size=5), max_size=2),
                    _values)
_ids = st.one_of(st.text(alphabet=st.characters(blacklist_characters="/?#%&", blacklist_categories=("Cs",)),
                         min_size=1, max_size=30), st.sampled_from(["1", "2", "0", "-1", "99999999999999999999"]))


def test_no_500_whatever_the_client_sends(vol):
    server = active_server(vol)["id"]
    create_volume(vol)

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(FUZZ_ROUTES), item=_ids, body=_bodies, user=st.sampled_from(["alice", "root"]))
    def check(route, item, body, user):
        method, path = route
        response = vol.request(method, path.replace("{id}", item).replace("{server}", server),
                               data=json.dumps(body).encode(), user=user, headers={"Content-Type": "application/json"})
        assert response.status_code < 500, (method, path, item, body, response.text)
        if response.status_code >= 400:
            (_name, fault), = response.json().items()
            assert fault["code"] == response.status_code

    check()
