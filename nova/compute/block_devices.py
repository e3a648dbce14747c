"""Block device mappings of a launch: which volumes an instance gets, and from what.

A mapping is a dict: ``device_name``; then ``snapshot_id`` (a new volume made
from that snapshot), ``volume_id`` (an existing available volume) or only
``volume_size`` (a new empty volume); ``volume_size`` (GiB, defaults to the
snapshot's); ``delete_on_termination``; or ``no_device`` to drop a mapping
the image has.  An EBS image keeps its mappings (its root device's snapshot)
in its properties ``root_device_name`` and ``block_device_mapping``; a
request's mapping of the same device replaces the image's.
"""

from __future__ import annotations

from typing import Any

from nova import exception
from nova.volume import devices

Mapping = dict[str, Any]
_KEYS = ("device_name", "snapshot_id", "volume_id", "volume_size", "delete_on_termination", "no_device")


def image_mappings(image: dict[str, Any]) -> tuple[str | None, list[Mapping]]:
    """(root device name, mappings) an image carries; (None, []) for an instance-store image."""
    properties = image.get("properties") or {}
    return properties.get("root_device_name"), [dict(m) for m in properties.get("block_device_mapping") or []]


def merge(image: dict[str, Any], requested: list[Mapping] | None) -> tuple[str | None, list[Mapping]]:
    """(root device name, the mappings to create) for a launch of ``image`` with ``requested`` mappings.

    InvalidDevicePath for a device nova cannot attach; InvalidInput for a
    mapping that says nothing or two that name one device.
    """
    root, mappings = image_mappings(image)
    by_device = {m["device_name"]: m for m in mappings}
    seen: set[str] = set()
    for mapping in requested or []:
        unknown = set(mapping) - set(_KEYS)
        if unknown:
            raise exception.InvalidInput(reason=f"unknown block device mapping keys {sorted(unknown)}")
        device = mapping.get("device_name")
        if not device:
            raise exception.InvalidInput(reason="a block device mapping needs a device name")
        if device in seen:
            raise exception.InvalidInput(reason=f"device {device} is mapped twice")
        seen.add(device)
        if mapping.get("no_device"):
            by_device.pop(device, None)
            continue
        if not (mapping.get("snapshot_id") or mapping.get("volume_id") or mapping.get("volume_size")):
            raise exception.InvalidInput(reason=f"the mapping of {device} names no snapshot, volume or size")
        by_device[device] = dict(mapping)
    if root is None and any(_is_root_name(d) for d in by_device):
        root = next(d for d in by_device if _is_root_name(d))
    if root is not None:
        devices.check_root_device_name(root)
    guests = [devices.guest_device(device, root) for device in by_device]  # validates the others
    if len(set(guests)) != len(guests):
        raise exception.InvalidInput(reason="two block device mappings name the same disk of the guest")
    return (root if root in by_device else None), list(by_device.values())


def _is_root_name(device: str) -> bool:
    try:
        devices.check_root_device_name(device)
        return True
    except exception.InvalidDevicePath:
        return False
