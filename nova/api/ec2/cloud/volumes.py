"""EBS-style volumes and snapshots: CreateVolume, DeleteVolume, DescribeVolumes,
AttachVolume, DetachVolume, CreateSnapshot, DeleteSnapshot, DescribeSnapshots.

Everything but rendering is ``nova.volume.api``'s.  EC2 shows a volume that is
being attached or detached as ``in-use`` with the attachment's own status
(``attaching``/``detaching``), and a snapshot as ``pending``, ``completed``
or ``error``.
"""

from __future__ import annotations

from typing import Any, Callable

from nova import context, exception, gc_pause
from nova.api.ec2 import ec2utils
from nova.api.ec2.actions import ALL, PROJECT_ADMIN, ActionSet
from nova.api.ec2.cloud import tags as tagging
from nova.api.ec2.params import Boolean, Ec2Id, Filters, Integer, ListOf, Param, String, Struct
from nova.volume import api as volume_api

actions = ActionSet()

# internal status -> (EC2 volume status, attachment status or None)
_VOLUME_STATUS = {
    "creating": ("creating", None),
    "available": ("available", None),
    "attaching": ("in-use", "attaching"),
    "in-use": ("in-use", "attached"),
    "detaching": ("in-use", "detaching"),
    "deleting": ("deleting", None),
    "error": ("error", None),
}
_SNAPSHOT_STATUS = {"creating": "pending", "available": "completed", "deleting": "completed", "error": "error"}
_DESCRIPTION = String(max_length=255)


def _api() -> volume_api.API:
    return volume_api.API()


def _ec2_id(db_id: int | None, prefix: str) -> str | None:
    return ec2utils.id_to_ec2_id(db_id, prefix) if db_id is not None else None


def _attachment(volume: Any) -> dict[str, Any] | None:
    status = _VOLUME_STATUS.get(volume["status"], (volume["status"], None))[1]
    if status is None or volume["instance_id"] is None:
        return None
    return {"volumeId": _ec2_id(volume["id"], "vol"), "instanceId": _ec2_id(volume["instance_id"], "i"),
            "device": volume["mountpoint"], "status": status,
            "attachTime": volume["attach_time"] or ec2utils.isotime(volume["updated_at"]),
            "deleteOnTermination": bool(volume["delete_on_termination"])}


def _render_volume(volume: Any, tags: dict[str, Any]) -> dict[str, Any]:
    attachment = _attachment(volume)
    return {
        "volumeId": _ec2_id(volume["id"], "vol"),
        "size": volume["size"],
        "snapshotId": _ec2_id(volume["snapshot_id"], "snap") or "",
        "availabilityZone": volume["availability_zone"],
        "status": _VOLUME_STATUS.get(volume["status"], (volume["status"], None))[0],
        "createTime": volume["created_at"],
        "attachmentSet": [attachment] if attachment else [],
        "volumeType": "standard",
        "encrypted": False,
        "multiAttachEnabled": False,
        "tagSet": [{"key": k, "value": v or ""} for k, v in sorted(tags.items())],
    }


def _render_snapshot(snapshot: Any, tags: dict[str, Any]) -> dict[str, Any]:
    return {
        "snapshotId": _ec2_id(snapshot["id"], "snap"),
        "volumeId": _ec2_id(snapshot["volume_id"], "vol"),
        "status": _SNAPSHOT_STATUS.get(snapshot["status"], snapshot["status"]),
        "startTime": snapshot["created_at"],
        "progress": snapshot["progress"] or "0%",
        "ownerId": snapshot["project_id"],
        "volumeSize": snapshot["volume_size"],
        "description": snapshot["display_description"] or "",
        "encrypted": False,
        "tagSet": [{"key": k, "value": v or ""} for k, v in sorted(tags.items())],
    }


def _describe(ctxt: context.RequestContext, rows: list[Any], resource_type: str,
              render: Callable[[Any, dict[str, Any]], dict[str, Any]], filter_values: dict[str, Callable],
              filters: dict[str, list[str]], max_results: int | None) -> tuple[list[dict[str, Any]], str | None]:
    """The rendered page of ``rows`` (by id) that pass ``filters``, and its NextToken (the last id shown)."""
    with gc_pause.collection_paused():
        tags = tagging.get_by_resources(ctxt, resource_type, [r["id"] for r in rows])
        shown = [(r, render(r, tags.get(r["id"], {}))) for r in rows]
        if filters:
            shown = [(r, item) for r, item in shown
                     if tagging.matches(filters, filter_values, item, tags.get(r["id"], {}))]
        if not max_results or len(shown) <= max_results:
            return [item for _r, item in shown], None
        return [item for _r, item in shown[:max_results]], str(shown[max_results - 1][0]["id"])


def _attachment_values(key: str) -> Callable[[dict[str, Any]], list[Any]]:
    return lambda item: [a[key] for a in item["attachmentSet"]]


_VOLUME_FILTERS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "volume-id": lambda v: [v["volumeId"]],
    "size": lambda v: [v["size"]],
    "snapshot-id": lambda v: [v["snapshotId"]],
    "availability-zone": lambda v: [v["availabilityZone"]],
    "status": lambda v: [v["status"]],
    "create-time": lambda v: [ec2utils.isotime(v["createTime"])],
    "volume-type": lambda v: [v["volumeType"]],
    "encrypted": lambda v: ["false"],
    "attachment.instance-id": _attachment_values("instanceId"),
    "attachment.device": _attachment_values("device"),
    "attachment.status": _attachment_values("status"),
    "attachment.attach-time": _attachment_values("attachTime"),
    "attachment.delete-on-termination": lambda v: ["false" for _ in v["attachmentSet"]],
}
_SNAPSHOT_FILTERS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "snapshot-id": lambda s: [s["snapshotId"]],
    "volume-id": lambda s: [s["volumeId"]],
    "status": lambda s: [s["status"]],
    "progress": lambda s: [s["progress"]],
    "owner-id": lambda s: [s["ownerId"]],
    "volume-size": lambda s: [s["volumeSize"]],
    "description": lambda s: [s["description"]],
    "start-time": lambda s: [ec2utils.isotime(s["startTime"])],
    "encrypted": lambda s: ["false"],
}


# -- volumes --------------------------------------------------------------------


@actions.register("CreateVolume", roles=PROJECT_ADMIN, params=[
    Param("Size", Integer()),
    Param("SnapshotId", Ec2Id("snap")),
    Param("AvailabilityZone", String(max_length=255)),
    Param("VolumeType", String(choices=("standard",))),
    Param("Encrypted", Boolean(), default=False),
    Param("TagSpecification", tagging.TAG_SPECIFICATIONS, default=[], dest="tag_specifications"),
    Param("ClientToken", String(max_length=64)),
])
def create_volume(ctxt: context.RequestContext, size: int | None, snapshot_id: int | None,
                  availability_zone: str | None, volume_type: str | None, encrypted: bool,
                  tag_specifications: list[dict[str, Any]], client_token: str | None) -> dict[str, Any]:
    """A new volume.  ``ClientToken`` (boto3 always sends one) is accepted, not yet remembered."""
    if encrypted:
        raise exception.UnsupportedOperation("Encrypted volumes are not supported.")
    new_tags = tagging.tags_for(tag_specifications, "volume")
    volume = _api().create(ctxt, size=size, snapshot_id=snapshot_id, availability_zone=availability_zone)
    if new_tags:
        tagging.apply(ctxt, "volume", volume["id"], new_tags)
    result = _render_volume(volume, new_tags)
    del result["attachmentSet"]
    return result


@actions.register("DeleteVolume", roles=PROJECT_ADMIN, params=[Param("VolumeId", Ec2Id("vol"), required=True)])
def delete_volume(ctxt: context.RequestContext, volume_id: int) -> bool:
    _api().delete(ctxt, volume_id)
    tagging.delete_all(ctxt, "volume", volume_id)
    return True


@actions.register("DescribeVolumes", roles=ALL, params=[
    Param("VolumeId", ListOf(Ec2Id("vol"), max_items=1000), default=[]),
    Param("Filter", Filters(*_VOLUME_FILTERS, "tag:"), default={}, dest="filters"),
    Param("MaxResults", Integer(5, 1000)),
    Param("NextToken", String(max_length=64)),
])
def describe_volumes(ctxt: context.RequestContext, volume_id: list[int], filters: dict[str, list[str]],
                     max_results: int | None, next_token: str | None) -> dict[str, Any]:
    rows = tagging.listed(lambda: _api().get_all(ctxt, volume_id or None),
                          lambda after, limit: _api().get_all(ctxt, after_id=after, limit=limit),
                          bool(volume_id or filters), max_results, next_token)
    page, token = _describe(ctxt, rows, "volume", _render_volume, _VOLUME_FILTERS, filters, max_results)
    return {"volumeSet": page, "nextToken": token}


def _attachment_response(volume: Any, status: str) -> dict[str, Any]:
    return {"volumeId": _ec2_id(volume["id"], "vol"), "instanceId": _ec2_id(volume["instance_id"], "i"),
            "device": volume["mountpoint"], "status": status,
            "attachTime": volume["attach_time"] or ec2utils.isotime(volume["updated_at"])}


@actions.register("AttachVolume", roles=PROJECT_ADMIN, params=[
    Param("VolumeId", Ec2Id("vol"), required=True),
    Param("InstanceId", Ec2Id("i"), required=True),
    Param("Device", String(max_length=64, min_length=1), required=True),
])
def attach_volume(ctxt: context.RequestContext, volume_id: int, instance_id: int, device: str) -> dict[str, Any]:
    return _attachment_response(_api().attach(ctxt, volume_id, instance_id, device), "attaching")


@actions.register("DetachVolume", roles=PROJECT_ADMIN, params=[
    Param("VolumeId", Ec2Id("vol"), required=True),
    Param("InstanceId", Ec2Id("i")),
    Param("Device", String(max_length=64)),
    Param("Force", Boolean(), default=False),
])
def detach_volume(ctxt: context.RequestContext, volume_id: int, instance_id: int | None, device: str | None,
                  force: bool) -> dict[str, Any]:
    volume = _api().get(ctxt, volume_id)
    response = _attachment_response(volume, "detaching")
    _api().detach(ctxt, volume_id, instance_id=instance_id, device=device, force=force)
    return response


# -- snapshots ------------------------------------------------------------------


@actions.register("CreateSnapshot", roles=PROJECT_ADMIN, params=[
    Param("VolumeId", Ec2Id("vol"), required=True),
    Param("Description", _DESCRIPTION),
    Param("TagSpecification", tagging.TAG_SPECIFICATIONS, default=[], dest="tag_specifications"),
])
def create_snapshot(ctxt: context.RequestContext, volume_id: int, description: str | None,
                    tag_specifications: list[dict[str, Any]]) -> dict[str, Any]:
    new_tags = tagging.tags_for(tag_specifications, "snapshot")
    snapshot = _api().create_snapshot(ctxt, volume_id, description=description)
    if new_tags:
        tagging.apply(ctxt, "snapshot", snapshot["id"], new_tags)
    return _render_snapshot(snapshot, new_tags)


@actions.register("DeleteSnapshot", roles=PROJECT_ADMIN, params=[
    Param("SnapshotId", Ec2Id("snap"), required=True),
])
def delete_snapshot(ctxt: context.RequestContext, snapshot_id: int) -> bool:
    _api().delete_snapshot(ctxt, snapshot_id)
    tagging.delete_all(ctxt, "snapshot", snapshot_id)
    return True


@actions.register("DescribeSnapshots", roles=ALL, params=[
    Param("SnapshotId", ListOf(Ec2Id("snap"), max_items=1000), default=[]),
    Param("Owner", ListOf(String(max_length=255)), default=[]),
    Param("RestorableBy", ListOf(String(max_length=255)), default=[]),
    Param("Filter", Filters(*_SNAPSHOT_FILTERS, "tag:"), default={}, dest="filters"),
    Param("MaxResults", Integer(5, 1000)),
    Param("NextToken", String(max_length=64)),
])
def describe_snapshots(ctxt: context.RequestContext, snapshot_id: list[int], owner: list[str],
                       restorable_by: list[str], filters: dict[str, list[str]], max_results: int | None,
                       next_token: str | None) -> dict[str, Any]:
    rows = tagging.listed(lambda: _api().get_all_snapshots(ctxt, snapshot_id or None),
                          lambda after, limit: _api().get_all_snapshots(ctxt, after_id=after, limit=limit),
                          bool(snapshot_id or owner or filters), max_results, next_token)
    if owner:
        wanted = {ctxt.project_id if o == "self" else o for o in owner}
        rows = [r for r in rows if r["project_id"] in wanted]
    page, token = _describe(ctxt, rows, "snapshot", _render_snapshot, _SNAPSHOT_FILTERS, filters, max_results)
    return {"snapshotSet": page, "nextToken": token}


# -- block device mappings (RunInstances, RegisterImage, DescribeInstances, DescribeImages) ------------

BLOCK_DEVICE_MAPPING = ListOf(Struct(
    Param("DeviceName", String(min_length=1, max_length=64), required=True),
    Param("VirtualName", String(max_length=64)),
    Param("NoDevice", String(max_length=64)),
    Param("Ebs", Struct(
        Param("SnapshotId", Ec2Id("snap")),
        Param("VolumeSize", Integer(1, 2**31)),
        Param("DeleteOnTermination", Boolean()),
        Param("VolumeType", String(choices=("standard",))),
        Param("Encrypted", Boolean(), default=False),
    )),
), max_items=26)


def block_device_mappings(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``BlockDeviceMapping.N`` as nova's mappings (``nova.compute.block_devices``)."""
    mappings = []
    for item in items:
        if item.get("virtual_name"):
            raise exception.UnsupportedOperation(reason="instance-store (ephemeral) mappings are not available")
        if item.get("no_device") is not None:
            mappings.append({"device_name": item["device_name"], "no_device": True})
            continue
        ebs = item.get("ebs") or {}
        if ebs.get("encrypted"):
            raise exception.UnsupportedOperation(reason="encrypted volumes are not available")
        mapping = {"device_name": item["device_name"], "snapshot_id": ebs.get("snapshot_id"),
                   "volume_size": ebs.get("volume_size")}
        if ebs.get("delete_on_termination") is not None:
            mapping["delete_on_termination"] = ebs["delete_on_termination"]
        mappings.append(mapping)
    return mappings


def render_image_mappings(image: dict[str, Any]) -> tuple[str, str | None, list[dict[str, Any]]]:
    """(rootDeviceType, rootDeviceName, blockDeviceMapping) of an image."""
    properties = image.get("properties") or {}
    mappings = properties.get("block_device_mapping") or []
    shown = [{"deviceName": m["device_name"],
              "ebs": {"snapshotId": _ec2_id(m.get("snapshot_id"), "snap"), "volumeSize": m.get("volume_size"),
                      "deleteOnTermination": bool(m.get("delete_on_termination", True)), "volumeType": "standard",
                      "encrypted": False}}
             for m in mappings if not m.get("no_device")]
    root = properties.get("root_device_name")
    return ("ebs" if root else "instance-store"), root, shown


def render_instance_mappings(volumes: list[Any]) -> list[dict[str, Any]]:
    """An instance's ``blockDeviceMapping``: its volumes, by device."""
    shown = []
    for volume in volumes:
        status = _VOLUME_STATUS.get(volume["status"], (volume["status"], None))[1] or "attaching"
        shown.append({"deviceName": volume["mountpoint"],
                      "ebs": {"volumeId": _ec2_id(volume["id"], "vol"), "status": status,
                              "attachTime": volume["attach_time"] or ec2utils.isotime(volume["updated_at"]),
                              "deleteOnTermination": bool(volume["delete_on_termination"])}})
    return shown
