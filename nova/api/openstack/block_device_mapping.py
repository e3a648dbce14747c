"""POST /servers' ``block_device_mapping_v2`` (and the legacy ``block_device_mapping``), read into the
mappings ``nova.compute.block_devices`` takes.

v2 entries name a ``source_type`` (``snapshot``, ``volume`` or ``blank``) and a ``destination_type``
(``volume``; ``local`` disks are not supported), the snapshot or volume by ``uuid`` (ids as
/os-snapshots and /os-volumes show them), ``volume_size``, ``boot_index`` (0: the root device),
``device_name`` and ``delete_on_termination`` (false unless asked, as the compute API does).  The
``image``→``local`` root entry clients add next to an ``imageRef`` is the image itself and is dropped.
Only the translation is here; the checks that need the volume service (sizes against snapshots, other
projects' ids, quotas) are the service layer's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nova import exception
from nova.api.openstack import faults
from nova.api.openstack.volumes import body_id
from nova.api.openstack.wsgi import bool_field, int_field
from nova.volume import devices

DEFAULT_ROOT = devices.ROOT
_V2_KEYS = {"source_type", "destination_type", "uuid", "volume_size", "boot_index", "device_name",
            "delete_on_termination", "guest_format", "disk_bus", "device_type", "tag", "volume_type", "no_device"}
_V1_KEYS = {"device_name", "volume_id", "snapshot_id", "volume_size", "delete_on_termination", "no_device",
            "virtual_name"}
_SOURCES = ("snapshot", "volume", "blank", "image")
_LETTERS = "bcdefghijklmnopqrstuvwxyz"


@dataclass
class Request:
    """What a create body asks for: the service layer's mappings and the image to boot (None: the root volume)."""

    image_id: int | None
    mappings: list[dict[str, Any]] = field(default_factory=list)
    boots_from_volume: bool = False


def _entries(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise faults.Fault(400, f"'{name}' must be a list of objects.")
    if len(value) > len(_LETTERS) + 1:
        raise faults.Fault(400, f"'{name}' has more devices than a server can have.")
    return value


def _device_name(value: Any, name: str = "device_name") -> str | None:
    """``vdb`` or ``/dev/vdb`` (as the compute API takes it) as ``/dev/vdb``; None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 255 or not value.strip():
        raise faults.Fault(400, f"'{name}' must be a device name such as /dev/vdb.")
    value = value.strip()
    return value if value.startswith("/") else f"/dev/{value}"


def _size(value: Any) -> int | None:
    return None if value is None or value == "" else int_field(value, "volume_size", 1)


def _delete(value: Any) -> bool:
    return False if value is None else bool_field(value, "delete_on_termination")


def _boot_index(value: Any) -> int | None:
    if value is None or value == "" or value == "none":
        return None
    index = int_field(value, "boot_index", -1)
    return None if index < 0 else index


def _guest(device: str) -> str:
    """The guest disk a (non-root) device name stands for; 400 when nova cannot attach there."""
    try:
        return devices.guest_device(device)
    except exception.InvalidDevicePath:
        raise faults.Fault(400, f"Invalid device name {device[:64]!r}: use /dev/vdb to /dev/vdz.") from None


def _root_name(device: str) -> str:
    try:
        return devices.check_root_device_name(device)
    except exception.InvalidDevicePath:
        raise faults.Fault(400, f"Invalid root device name {device[:64]!r}: the boot device is /dev/vda.") \
            from None


def _same_image(uuid: Any, image_id: int) -> bool:
    from nova.api.openstack.servers import image_number, ref_id

    try:
        return image_number(ref_id(uuid, "uuid")) == image_id
    except faults.Fault:
        return False


def _v2_mapping(entry: dict[str, Any], image_id: int | None) -> tuple[dict[str, Any] | None, int | None]:
    """(a service-layer mapping without its device name, the boot index); None for the image's own root."""
    unknown = set(entry) - _V2_KEYS
    if unknown:
        raise faults.Fault(400, f"Additional properties are not allowed in block_device_mapping_v2 "
                                f"({', '.join(sorted(map(str, unknown)))[:80]}).")
    source = entry.get("source_type")
    if source not in _SOURCES:
        raise faults.Fault(400, f"Invalid source_type {str(source)[:32]!r}: use snapshot, volume or blank.")
    destination = entry.get("destination_type") or ("local" if source == "image" else "volume")
    if destination not in ("volume", "local"):
        raise faults.Fault(400, f"Invalid destination_type {str(destination)[:32]!r}: use volume.")
    boot_index = _boot_index(entry.get("boot_index"))
    for key, allowed in (("device_type", ("disk",)), ("disk_bus", ("virtio",))):
        if entry.get(key) not in (None, *allowed):
            raise faults.Fault(400, f"{key} {str(entry[key])[:32]!r} is not supported: nova attaches virtio disks.")
    if entry.get("volume_type") is not None:
        raise faults.Fault(400, "Volume types are not supported: leave 'volume_type' out.")
    if entry.get("guest_format") is not None:
        raise faults.Fault(400, "guest_format is not supported: nova does not format volumes.")
    if source == "image":
        if destination == "local" and boot_index == 0 and image_id is not None \
                and _same_image(entry.get("uuid"), image_id):
            return None, 0  # the image an imageRef boots: its root disk, nothing to create
        raise faults.Fault(400, "Block devices from an image are not supported: boot the image with imageRef, "
                                "or a volume made from a snapshot.")
    if destination == "local":
        raise faults.Fault(400, "Local block devices (ephemeral or swap disks) are not supported: "
                                "use destination_type volume.")
    mapping: dict[str, Any] = {"delete_on_termination": _delete(entry.get("delete_on_termination"))}
    size = _size(entry.get("volume_size"))
    if size is not None:
        mapping["volume_size"] = size
    if source == "blank":
        if size is None:
            raise faults.Fault(400, "A blank volume needs a 'volume_size'.")
        if entry.get("uuid") is not None:
            raise faults.Fault(400, "A blank volume takes no 'uuid'.")
    elif entry.get("uuid") is None:
        raise faults.Fault(400, f"A {source} block device needs the 'uuid' of the {source}.")
    else:
        mapping[f"{source}_id"] = body_id(entry, "uuid")
    return mapping, boot_index


def from_v2(entries: Any, image_id: int | None, image_root: str | None) -> Request:
    """The mappings of ``block_device_mapping_v2``; ``image_root`` is the root device name of the image
    ``image_id`` when it is an EBS image (a boot volume then replaces the image's root device)."""
    entries = _entries(entries, "block_device_mapping_v2")
    boot_indexes: list[int] = []
    named: list[tuple[dict[str, Any], int | None, str | None]] = []
    boots_from_volume = False
    for entry in entries:
        if entry.get("no_device"):
            device = _device_name(entry.get("device_name"))
            if device is None:
                raise faults.Fault(400, "A no_device entry needs a 'device_name'.")
            named.append(({"no_device": True}, None, device))
            continue
        mapping, boot_index = _v2_mapping(entry, image_id)
        if boot_index is not None:
            boot_indexes.append(boot_index)
        if mapping is None:
            continue
        device = _device_name(entry.get("device_name"))
        if boot_index == 0:
            boots_from_volume = True
            device = image_root or _root_name(device or DEFAULT_ROOT)
        named.append((mapping, boot_index, device))
    if len(boot_indexes) != len(set(boot_indexes)):
        raise faults.Fault(400, "Two block devices have the same boot_index.")
    if boot_indexes and 0 not in boot_indexes:
        raise faults.Fault(400, "The boot sequence must start with boot_index 0.")
    if image_id is None and not boots_from_volume:
        raise faults.Fault(400, "Without an imageRef, one block device must be the boot volume (boot_index 0).")
    taken = {_guest(d) for m, index, d in named if d is not None and index != 0 and not m.get("no_device")}
    free = iter(f"/dev/vd{letter}" for letter in _LETTERS if f"/dev/vd{letter}" not in taken)
    mappings = []
    for mapping, boot_index, device in named:
        if device is None:
            device = next(free, None)
            if device is None:
                raise faults.Fault(400, "No device name is left for a block device.")
        elif boot_index != 0 and not mapping.get("no_device"):
            _guest(device)
        mappings.append(dict(mapping, device_name=device))
    return Request(image_id, mappings, boots_from_volume)


def from_v1(entries: Any, image_id: int | None) -> Request:
    """The mappings of the legacy ``block_device_mapping``: a device name and a volume or snapshot id."""
    mappings = []
    boots_from_volume = False
    for entry in _entries(entries, "block_device_mapping"):
        unknown = set(entry) - _V1_KEYS
        if unknown:
            raise faults.Fault(400, f"Additional properties are not allowed in block_device_mapping "
                                    f"({', '.join(sorted(map(str, unknown)))[:80]}).")
        device = _device_name(entry.get("device_name"))
        if device is None:
            raise faults.Fault(400, "'device_name' is a required property of a block_device_mapping.")
        if entry.get("no_device"):
            mappings.append({"device_name": device, "no_device": True})
            continue
        if entry.get("virtual_name"):
            raise faults.Fault(400, "Ephemeral and swap disks (virtual_name) are not supported.")
        mapping: dict[str, Any] = {"device_name": device,
                                   "delete_on_termination": _delete(entry.get("delete_on_termination"))}
        for key in ("volume_id", "snapshot_id"):
            if entry.get(key) not in (None, ""):
                mapping[key] = body_id(entry, key)
        if "volume_id" in mapping and "snapshot_id" in mapping:
            raise faults.Fault(400, "A block_device_mapping names a volume or a snapshot, not both.")
        size = _size(entry.get("volume_size"))
        if size is not None:
            mapping["volume_size"] = size
        if "volume_id" not in mapping and "snapshot_id" not in mapping:
            raise faults.Fault(400, f"The block_device_mapping of {device[:64]} needs a volume_id or snapshot_id.")
        try:
            devices.check_root_device_name(device)
            boots_from_volume = True
        except exception.InvalidDevicePath:  # not a root name: a data volume
            _guest(device)
        mappings.append(mapping)
    if image_id is None and not boots_from_volume:
        raise faults.Fault(400, "Without an imageRef, a block_device_mapping must give the root device /dev/vda.")
    return Request(image_id, mappings, boots_from_volume)
