"""/os-volumes and /os-snapshots: the compute API's block storage proxy.

Everything but parsing and rendering is ``nova.volume.api``'s.  Ids are the
database ids as strings; statuses are the volume service's own (``creating``,
``available``, ``attaching``, ``in-use``, ``detaching``, ``deleting``,
``error``).  A volume's ``metadata`` is its tags, the ones EC2 shows.
"""

from __future__ import annotations

import logging
from typing import Any

from nova.api.openstack import faults
from nova.api.openstack.server_view import isotime
from nova.api.openstack.wsgi import ApiRequest, Result, bool_field, int_field, offset_page, string_field
from nova.compute import api as compute_api
from nova.tag import api as tag_api
from nova.volume import api as volume_api

LOG = logging.getLogger(__name__)
_MAX_ID = 2**31 - 1


def _as_id(value: str | int) -> int | None:
    """The positive integer id ``value`` spells, or None."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number <= _MAX_ID else None


def url_id(value: str, what: str) -> int:
    """An id in a URL; a malformed one is a missing one (404)."""
    number = _as_id(value)
    if number is None:
        raise faults.Fault(404, f"{what} {value[:40]} could not be found.")
    return number


def body_id(values: dict[str, Any], name: str, required: bool = True) -> int | None:
    """An id in a body (a string or a number); 400 when malformed."""
    value = values.get(name)
    if value is None:
        if required:
            raise faults.Fault(400, f"'{name}' is a required property.")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise faults.Fault(400, f"'{name}' must be a string id.")
    number = _as_id(value)
    if number is None:
        raise faults.Fault(400, f"Invalid {name} {str(value)[:40]!r}: not an id.")
    return number


def server_uuids(req: ApiRequest, volumes: list[Any]) -> dict[int, str]:
    """The uuid of every instance the volumes are attached to, in one query."""
    ids = sorted({v["instance_id"] for v in volumes if v["instance_id"] is not None})
    if not ids:
        return {}
    return {i["id"]: i["uuid"] for i in compute_api.API().get_all(req.ctxt, {"instance_ids": ids})}


def attachment_view(volume: Any, server_uuid: str | None) -> dict[str, Any]:
    return {"id": str(volume["id"]), "volumeId": str(volume["id"]), "serverId": server_uuid,
            "device": volume["mountpoint"]}


def volume_view(volume: Any, uuids: dict[int, str], metadata: dict[str, Any]) -> dict[str, Any]:
    attachments = []
    if volume["instance_id"] is not None:
        attachments.append(attachment_view(volume, uuids.get(volume["instance_id"])))
    return {
        "id": str(volume["id"]),
        "status": volume["status"],
        "size": volume["size"],
        "availabilityZone": volume["availability_zone"],
        "createdAt": isotime(volume["created_at"]),
        "attachments": attachments,
        "displayName": volume["display_name"],
        "displayDescription": volume["display_description"],
        "volumeType": None,
        "snapshotId": str(volume["snapshot_id"]) if volume["snapshot_id"] is not None else None,
        "metadata": {k: v if v is not None else "" for k, v in metadata.items()},
    }


def snapshot_view(snapshot: Any) -> dict[str, Any]:
    return {"id": str(snapshot["id"]), "volumeId": str(snapshot["volume_id"]), "status": snapshot["status"],
            "size": snapshot["volume_size"], "createdAt": isotime(snapshot["created_at"]),
            "displayName": snapshot["display_name"], "displayDescription": snapshot["display_description"]}


def _all_tenants(req: ApiRequest) -> bool:
    return req.ctxt.is_admin and req.param("all_tenants") not in (None, "0", "false", "False")


def _metadata(values: dict[str, Any]) -> dict[str, str]:
    metadata = values.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise faults.Fault(400, "'metadata' must be an object of strings.")
    if len(metadata) > tag_api.MAX_TAGS_PER_RESOURCE:
        raise faults.Fault(403, f"Quota exceeded: at most {tag_api.MAX_TAGS_PER_RESOURCE} metadata items.")
    for key, value in metadata.items():
        if not 0 < len(key) <= 255 or len(value) > 255:
            raise faults.Fault(400, "Metadata keys must be 1 to 255 characters, values at most 255.")
        tag_api.check_key(key)
    return metadata


class VolumesController:
    def __init__(self) -> None:
        self.volumes = volume_api.API()
        self.tags = tag_api.API()

    def _views(self, req: ApiRequest, volumes: list[Any]) -> list[dict[str, Any]]:
        uuids = server_uuids(req, volumes)
        tags = self.tags.get_by_resources(req.ctxt, "volume", [v["id"] for v in volumes])
        return [volume_view(v, uuids, tags.get(v["id"], {})) for v in volumes]

    def index(self, req: ApiRequest) -> dict[str, Any]:
        volumes = self.volumes.get_all(req.ctxt)
        if not _all_tenants(req):
            volumes = [v for v in volumes if v["project_id"] == req.ctxt.project_id]
        return {"volumes": self._views(req, offset_page(req, volumes))}

    detail = index

    def show(self, req: ApiRequest, volume_id: str) -> dict[str, Any]:
        volume = self.volumes.get(req.ctxt, url_id(volume_id, "Volume"))
        return {"volume": self._views(req, [volume])[0]}

    def create(self, req: ApiRequest) -> dict[str, Any]:
        values = req.body("volume")
        size = values.get("size")
        size = int_field(size, "size", 1) if size is not None else None
        snapshot_id = body_id(values, "snapshot_id", required=False)
        if size is None and snapshot_id is None:
            raise faults.Fault(400, "'size' is a required property.")
        if values.get("volume_type") is not None:
            raise faults.Fault(400, "Volume types are not supported: leave 'volume_type' out.")
        name = string_field(values, "display_name", required=False, allow_empty=True)
        description = string_field(values, "display_description", required=False, allow_empty=True)
        zone = string_field(values, "availability_zone", required=False, allow_empty=True)
        metadata = _metadata(values)
        volume = self.volumes.create(req.ctxt, size=size, snapshot_id=snapshot_id, availability_zone=zone or None,
                                     name=name, description=description)
        if metadata:
            self.tags.apply(req.ctxt, "volume", volume["id"], metadata)
        LOG.info("Created volume %s (%s GiB)", volume["id"], volume["size"])
        return {"volume": volume_view(volume, {}, metadata)}

    def delete(self, req: ApiRequest, volume_id: str) -> Result:
        number = url_id(volume_id, "Volume")
        self.volumes.delete(req.ctxt, number)
        self.tags.delete_all(req.ctxt, "volume", number)
        return Result(None, 202)


class SnapshotsController:
    def __init__(self) -> None:
        self.volumes = volume_api.API()

    def index(self, req: ApiRequest) -> dict[str, Any]:
        snapshots = self.volumes.get_all_snapshots(req.ctxt)
        if not _all_tenants(req):
            snapshots = [s for s in snapshots if s["project_id"] == req.ctxt.project_id]
        return {"snapshots": [snapshot_view(s) for s in offset_page(req, snapshots)]}

    detail = index

    def show(self, req: ApiRequest, snapshot_id: str) -> dict[str, Any]:
        return {"snapshot": snapshot_view(self.volumes.get_snapshot(req.ctxt, url_id(snapshot_id, "Snapshot")))}

    def create(self, req: ApiRequest) -> dict[str, Any]:
        values = req.body("snapshot")
        volume_id = body_id(values, "volume_id")
        force = bool_field(values.get("force", False), "force")
        name = string_field(values, "display_name", required=False, allow_empty=True)
        description = string_field(values, "display_description", required=False, allow_empty=True)
        snapshot = self.volumes.create_snapshot(req.ctxt, volume_id, name=name, description=description,
                                                force=force)
        LOG.info("Created snapshot %s of volume %s", snapshot["id"], volume_id)
        return {"snapshot": snapshot_view(snapshot)}

    def delete(self, req: ApiRequest, snapshot_id: str) -> Result:
        self.volumes.delete_snapshot(req.ctxt, url_id(snapshot_id, "Snapshot"))
        return Result(None, 202)
