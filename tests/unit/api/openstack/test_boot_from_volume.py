"""Boot from volume through POST /servers' block_device_mapping_v2 (and the legacy block_device_mapping),
createImage of a volume-backed server, over HTTP with nova-scheduler, nova-compute (fake virt driver),
nova-network and nova-volume (in-memory volume driver) in this process."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova.db import api as db
from tests.fixtures.rpc import wait_for
from tests.unit.api.openstack.conftest import ADMIN, fault_of, wait_status
from tests.unit.api.openstack.test_volumes import create_volume, gone, vol, volume_in  # noqa: F401


def _boot(api, user: str = "alice", image: str | None = None, **server: Any) -> dict[str, Any]:
    body = {"name": "bfv", "flavorRef": "1", **server}
    if image is not None:
        body["imageRef"] = image
    response = api.post("/servers", {"server": body}, user=user)
    assert response.status_code == 202, response.text
    return wait_status(api, response.json()["server"]["id"], "ACTIVE", user=user)


def _available_volume(api, user: str = "alice", **values: Any) -> str:
    volume_id = create_volume(api, user=user, **values)["id"]
    volume_in(api, volume_id, "available", user=user)
    return volume_id


def _snapshot(api, volume_id: str) -> str:
    snapshot_id = api.post("/os-snapshots", {"snapshot": {"volume_id": volume_id}}).json()["snapshot"]["id"]
    wait_for(lambda: api.get(f"/os-snapshots/{snapshot_id}").json()["snapshot"]["status"] == "available",
             timeout=10)
    return snapshot_id


def _domain(api, server_id: str) -> tuple[Any, str]:
    """(the fake virt driver, the server's domain name)."""
    name = db.instance_get_all_by_filters(ADMIN, {"uuid": server_id})[0]["name"]
    return api.services["compute"].manager.driver, name


def _attached(server: dict[str, Any]) -> dict[str, bool]:
    return {v["id"]: v["delete_on_termination"] for v in server["os-extended-volumes:volumes_attached"]}


def _devices(api, server_id: str) -> dict[str, str]:
    """volume id -> device, as os-volume_attachments shows them."""
    listed = api.get(f"/servers/{server_id}/os-volume_attachments").json()["volumeAttachments"]
    return {a["volumeId"]: a["device"] for a in listed}


def test_boot_from_a_snapshot_with_a_blank_volume_and_delete_on_termination(vol):
    snapshot_id = _snapshot(vol, _available_volume(vol))
    server = _boot(vol, block_device_mapping_v2=[
        {"source_type": "snapshot", "destination_type": "volume", "uuid": snapshot_id, "boot_index": 0,
         "volume_size": 2, "delete_on_termination": True},
        {"source_type": "blank", "destination_type": "volume", "volume_size": 1, "boot_index": -1}])
    assert server["image"] == ""
    attached = _attached(server)
    devices = _devices(vol, server["id"])
    (root_id,) = [v for v, d in devices.items() if d == "/dev/vda"]
    (blank_id,) = [v for v, d in devices.items() if d == "/dev/vdb"]
    assert attached == {root_id: True, blank_id: False}
    root = vol.get(f"/os-volumes/{root_id}").json()["volume"]
    assert (root["size"], root["snapshotId"], root["status"]) == (2, snapshot_id, "in-use")
    assert vol.get(f"/os-volumes/{blank_id}").json()["volume"]["snapshotId"] is None
    driver, name = _domain(vol, server["id"])
    assert driver.root_volume_of(name)["data"]["volume_id"] == int(root_id)
    assert "/dev/vdb" in driver.volumes_of(name)
    as_admin = vol.get(f"/servers/{server['id']}", user="root").json()["server"]
    assert as_admin["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/vda"
    assert "OS-EXT-SRV-ATTR:root_device_name" not in vol.get(f"/servers/{server['id']}").json()["server"]
    assert vol.get(f"/servers/{server['id']}", prefix="/v1.1").json()["server"]["imageRef"] == ""
    assert vol.get(f"/servers/{server['id']}", prefix="/v1.0").json()["server"]["imageId"] == 0
    # The root volume stays where it is while the server lives.
    detach = vol.request("DELETE", f"/servers/{server['id']}/os-volume_attachments/{root_id}")
    assert fault_of(detach) == ("conflict", 409)

    assert vol.request("DELETE", f"/servers/{server['id']}").status_code == 204
    gone(vol, f"/os-volumes/{root_id}")
    assert volume_in(vol, blank_id, "available")["attachments"] == []


def test_boot_from_an_existing_volume_create_image_and_boot_the_image(vol):
    volume_id = _available_volume(vol, size=3)
    server = _boot(vol, image="", block_device_mapping_v2=[
        {"source_type": "volume", "destination_type": "volume", "uuid": volume_id, "boot_index": "0"}])
    assert _attached(server) == {volume_id: False} and _devices(vol, server["id"]) == {volume_id: "/dev/vda"}
    driver, name = _domain(vol, server["id"])
    assert driver.root_volume_of(name)["data"]["volume_id"] == int(volume_id)

    made = vol.post(f"/servers/{server['id']}/action", {"createImage": {"name": "golden"}})
    assert made.status_code == 202, made.text
    image_id = made.json()["image_id"]
    assert made.headers["Location"].endswith(f"/images/{image_id}")
    wait_for(lambda: vol.get(f"/images/{image_id}").json()["image"]["status"] == "ACTIVE", timeout=10)
    metadata = vol.get(f"/images/{image_id}").json()["image"]["metadata"]
    assert metadata["root_device_name"] == "/dev/vda"
    (mapping,) = json.loads(metadata["block_device_mapping"])
    assert (mapping["device_name"], mapping["volume_size"]) == ("/dev/vda", 3)
    image_snapshot = str(mapping["snapshot_id"])
    assert vol.get(f"/os-snapshots/{image_snapshot}").json()["snapshot"]["volumeId"] == volume_id

    from_image = _boot(vol, image=image_id)
    assert from_image["image"]["id"] == image_id
    ((new_root, deleted),) = _attached(from_image).items()
    assert new_root != volume_id and deleted is True
    assert vol.get(f"/os-volumes/{new_root}").json()["volume"]["snapshotId"] == image_snapshot
    driver, name = _domain(vol, from_image["id"])
    assert driver.root_volume_of(name)["data"]["volume_id"] == int(new_root)

    assert vol.request("DELETE", f"/servers/{from_image['id']}").status_code == 204
    gone(vol, f"/os-volumes/{new_root}")
    assert vol.request("DELETE", f"/servers/{server['id']}").status_code == 204
    assert volume_in(vol, volume_id, "available")["attachments"] == []


def test_an_image_with_a_volume_the_clients_way_and_the_legacy_mapping(vol):
    """openstack/novaclient send the image as an image→local boot entry next to imageRef; the legacy
    syntax names devices and volumes."""
    server = _boot(vol, image=vol.image_id, block_device_mapping_v2=[
        {"source_type": "image", "destination_type": "local", "uuid": vol.image_id, "boot_index": 0,
         "delete_on_termination": True},
        {"source_type": "blank", "destination_type": "volume", "volume_size": 1, "device_name": "vdc",
         "delete_on_termination": True}])
    assert server["image"]["id"] == vol.image_id
    (blank_id,) = _attached(server)
    assert _devices(vol, server["id"]) == {blank_id: "/dev/vdc"}
    driver, name = _domain(vol, server["id"])
    assert driver.root_volume_of(name) is None

    volume_id = _available_volume(vol)
    legacy = _boot(vol, image=vol.image_id, block_device_mapping=[
        {"device_name": "/dev/vdb", "volume_id": volume_id, "delete_on_termination": "1"}])
    assert _attached(legacy) == {volume_id: True} and _devices(vol, legacy["id"]) == {volume_id: "/dev/vdb"}
    as_admin = vol.get(f"/servers/{legacy['id']}", user="root").json()["server"]
    assert as_admin["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/vda"  # its image's disk

    snapshot_id = _snapshot(vol, _available_volume(vol))
    legacy_root = _boot(vol, block_device_mapping=[{"device_name": "vda", "snapshot_id": snapshot_id}])
    ((root_id, deleted),) = _attached(legacy_root).items()
    assert deleted is False and _devices(vol, legacy_root["id"]) == {root_id: "/dev/vda"}


@pytest.fixture
def things(vol):
    """Alice's available volume and snapshot; bob's too."""
    alices = _available_volume(vol)
    bobs = _available_volume(vol, user="bob")
    return {"volume": alices, "snapshot": _snapshot(vol, alices), "bobs_volume": bobs,
            "bobs_snapshot": vol.post("/os-snapshots", {"snapshot": {"volume_id": bobs}}, user="bob")
            .json()["snapshot"]["id"]}


def _nothing_launched(api, volumes: int) -> None:
    assert api.get("/servers").json()["servers"] == []
    listed = api.get("/os-volumes").json()["volumes"]
    assert len(listed) == volumes and all(v["status"] == "available" for v in listed), listed


def _snap(**extra: Any) -> dict[str, Any]:
    return {"source_type": "snapshot", "destination_type": "volume", "uuid": "{snapshot}", "boot_index": 0, **extra}


BAD = [
    ({"block_device_mapping_v2": [_snap(source_type="tape")]}, "source_type"),
    ({"block_device_mapping_v2": [_snap(uuid=None)]}, "uuid"),
    ({"block_device_mapping_v2": [_snap(uuid="snap-1")]}, "uuid"),
    ({"block_device_mapping_v2": [_snap(volume_size=0)]}, "volume_size"),
    ({"block_device_mapping_v2": [_snap(volume_size="big")]}, "volume_size"),
    ({"block_device_mapping_v2": [_snap(volume_size=10**6)]}, "size"),
    ({"block_device_mapping_v2": [_snap(), _snap(source_type="blank", uuid=None, volume_size=1)]}, "boot_index"),
    ({"block_device_mapping_v2": [_snap(destination_type="local")]}, "not supported"),
    ({"block_device_mapping_v2": [_snap(source_type="image", destination_type="volume")]}, "not supported"),
    ({"block_device_mapping_v2": [_snap(boot_index=1)]}, "boot_index 0"),
    ({"block_device_mapping_v2": [_snap(boot_index=None)]}, "boot volume"),
    ({"block_device_mapping_v2": [_snap(device_name="/dev/vdb")]}, "root device"),
    ({"block_device_mapping_v2": [_snap(), _snap(boot_index=-1, device_name="/dev/hdb")]}, "device name"),
    ({"block_device_mapping_v2": [_snap(), _snap(boot_index=-1, device_name="/dev/vdb"),
                                  _snap(boot_index=-1, device_name="vdb")]}, "twice"),
    ({"block_device_mapping_v2": [_snap(), _snap(boot_index=-1, device_name="/dev/sdb"),
                                  _snap(boot_index=-1, device_name="/dev/vdb")]}, "same disk"),
    ({"block_device_mapping_v2": [{"source_type": "blank", "destination_type": "volume", "boot_index": 0}]},
     "volume_size"),
    ({"block_device_mapping_v2": [_snap(guest_format="ext4")]}, "guest_format"),
    ({"block_device_mapping_v2": [_snap(colour="red")]}, "Additional properties"),
    ({"block_device_mapping_v2": {"source_type": "blank"}}, "list"),
    ({"block_device_mapping_v2": ["x"]}, "list"),
    ({"block_device_mapping_v2": [_snap()], "block_device_mapping": []}, "together"),
    ({"block_device_mapping_v2": []}, "boot volume"),
    ({"block_device_mapping": [{"device_name": "/dev/vdb", "snapshot_id": "{snapshot}"}]}, "root device"),
    ({"block_device_mapping": [{"snapshot_id": "{snapshot}"}]}, "device_name"),
    ({"block_device_mapping": [{"device_name": "vda"}]}, "volume_id or snapshot_id"),
    ({"block_device_mapping": [{"device_name": "vda", "volume_id": "{volume}", "snapshot_id": "{snapshot}"}]},
     "not both"),
    ({"imageRef": "{image}", "block_device_mapping_v2": [
        {"source_type": "volume", "destination_type": "volume", "uuid": "{volume}", "boot_index": 0}],
      "max_count": 2, "min_count": 2}, "one instance"),
]


def test_bad_mappings_are_400_and_launch_nothing(vol, things):
    for server, said in BAD:
        body = json.loads(json.dumps({"name": "bad", "flavorRef": "1", **server})
                          .replace("{snapshot}", things["snapshot"]).replace("{volume}", things["volume"])
                          .replace("{image}", vol.image_id))
        response = vol.post("/servers", {"server": body})
        assert fault_of(response) == ("badRequest", 400), (server, response.text)
        assert said in response.json()["badRequest"]["message"], (server, response.text)
        _nothing_launched(vol, volumes=1)


def test_another_projects_snapshot_or_volume_is_404_and_launches_nothing(vol, things):
    for source, uuid in (("snapshot", things["bobs_snapshot"]), ("volume", things["bobs_volume"]),
                         ("snapshot", "99999"), ("volume", "99999")):
        for boot_index, image in ((0, None), (-1, vol.image_id)):
            body = {"name": "x", "flavorRef": "1", "block_device_mapping_v2": [
                {"source_type": source, "destination_type": "volume", "uuid": uuid, "boot_index": boot_index}]}
            if image:
                body["imageRef"] = image
            response = vol.post("/servers", {"server": body})
            assert fault_of(response) == ("itemNotFound", 404), (source, uuid, response.text)
    _nothing_launched(vol, volumes=1)
    assert vol.get(f"/os-volumes/{things['bobs_volume']}", user="bob").json()["volume"]["attachments"] == []
    # A volume already in use is a conflict, and the server that holds it keeps it.
    server = _boot(vol, block_device_mapping_v2=[
        {"source_type": "volume", "destination_type": "volume", "uuid": things["volume"], "boot_index": 0}])
    again = vol.post("/servers", {"server": {"name": "y", "flavorRef": "1", "block_device_mapping_v2": [
        {"source_type": "volume", "destination_type": "volume", "uuid": things["volume"], "boot_index": 0}]}})
    assert fault_of(again) == ("conflict", 409)
    assert _devices(vol, server["id"]) == {things["volume"]: "/dev/vda"}
    assert len(vol.get("/servers").json()["servers"]) == 1


_KEYS = ["source_type", "destination_type", "uuid", "volume_size", "boot_index", "device_name",
         "delete_on_termination", "guest_format", "no_device", "volume_id", "snapshot_id"]
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 2**33), st.text(max_size=8),
                     st.sampled_from(["snapshot", "volume", "blank", "image", "local", "1", "0", "/dev/vda",
                                      "/dev/vdb", "vdc", "sda1", "-1"]))
_entry = st.one_of(st.dictionaries(st.sampled_from(_KEYS), _scalars, max_size=6), _scalars)
_server = st.fixed_dictionaries({}, optional={
    "imageRef": st.one_of(st.none(), st.just(""), st.just("{image}"), st.text(max_size=4)),
    "block_device_mapping_v2": st.one_of(st.lists(_entry, max_size=3), _scalars),
    "block_device_mapping": st.one_of(st.lists(_entry, max_size=2), _scalars)})


def test_no_500_whatever_the_mappings(osapi):
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(server=_server)
    def check(server):
        body = json.loads(json.dumps({"name": "f", "flavorRef": "1", **server}).replace("{image}", osapi.image_id))
        response = osapi.post("/servers", {"server": body})
        assert response.status_code in (202, 400, 403, 404, 409), (body, response.text)
        if response.status_code != 202:
            (_name, fault), = response.json().items()
            assert fault["code"] == response.status_code

    check()
