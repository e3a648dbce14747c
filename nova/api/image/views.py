"""Glance-shaped image bodies from nova's image records, and the create body read back into them.

nova keeps ``min_disk``, ``min_ram``, ``protected`` and ``tags`` among an
image's properties; every other property is shown as an extra property at
the top level of the body, as glance does.
"""

from __future__ import annotations

import datetime
from typing import Any

from nova.api.image.faults import Fault

# nova's image states and the glance statuses they show as.
STATUSES = {"pending": "queued", "saving": "saving", "available": "active", "failed": "killed"}
IN_PROGRESS = "saving"
CORE_PROPERTIES = ("min_disk", "min_ram", "protected", "tags")
READ_ONLY = ("id", "status", "size", "virtual_size", "checksum", "owner", "created_at", "updated_at", "self",
             "file", "schema", "locations", "direct_url", "os_hash_algo", "os_hash_value", "os_hidden")
SETTABLE = ("name", "disk_format", "container_format", "visibility") + CORE_PROPERTIES
VISIBILITIES = ("public", "private", "shared", "community")


def status_of(state: str | None) -> str:
    return STATUSES.get(state or "", IN_PROGRESS)


def states_for(status: str) -> list[str]:
    """nova states shown as glance ``status`` (400 for a status glance does not have)."""
    if status == IN_PROGRESS:
        return [IN_PROGRESS, "decrypting", "untarring", "uploading"]
    states = [state for state, shown in STATUSES.items() if shown == status]
    if not states and status not in ("deleted", "pending_delete", "deactivated", "uploading", "importing"):
        raise Fault(400, f"Invalid status value: {status}")
    return states


def _time(at: datetime.datetime | None) -> str | None:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


def render(image: dict[str, Any], visibility: str) -> dict[str, Any]:
    properties = dict(image["properties"] or {})
    image_id = str(image["id"])
    body: dict[str, Any] = {
        key: value for key, value in properties.items() if key not in CORE_PROPERTIES and key not in READ_ONLY
    }
    body.update({
        "id": image_id,
        "name": image["name"],
        "status": status_of(image["state"]),
        "visibility": visibility,
        "protected": properties.get("protected") is True,
        "os_hidden": False,
        "owner": image["owner"],
        "disk_format": image["disk_format"],
        "container_format": image["container_format"],
        "size": image["size"],
        "virtual_size": None,
        "checksum": image["checksum"],
        "os_hash_algo": None,
        "os_hash_value": None,
        "min_disk": properties.get("min_disk", 0),
        "min_ram": properties.get("min_ram", 0),
        "tags": list(properties.get("tags", [])),
        "created_at": _time(image["created_at"]),
        "updated_at": _time(image["updated_at"] or image["created_at"]),
        "self": f"/v2/images/{image_id}",
        "file": f"/v2/images/{image_id}/file",
        "schema": "/v2/schemas/image",
    })
    return body


def _non_negative_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Fault(400, f"{key} must be a non-negative integer")
    return value


def parse_create(body: Any) -> dict[str, Any]:
    """The image service's attributes for a ``POST /v2/images`` body (400 or 403 when glance refuses it)."""
    if not isinstance(body, dict):
        raise Fault(400, "The request body must be a JSON object.")
    metadata: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for key, value in body.items():
        if key in READ_ONLY:
            raise Fault(403, f"Attribute '{key}' is read-only.")
        if key == "name":
            if value is not None and (not isinstance(value, str) or len(value) > 255):
                raise Fault(400, "name must be a string of at most 255 characters")
            metadata["name"] = value
        elif key in ("disk_format", "container_format"):
            if value is not None and not isinstance(value, str):
                raise Fault(400, f"{key} must be a string")
            if value is not None:
                metadata[key] = value
        elif key == "visibility":
            if value not in VISIBILITIES:
                raise Fault(400, f"visibility must be one of {', '.join(VISIBILITIES)}")
            metadata["is_public"] = value in ("public", "community")
        elif key in ("min_disk", "min_ram"):
            properties[key] = _non_negative_int(value, key)
        elif key == "protected":
            if not isinstance(value, bool):
                raise Fault(400, "protected must be true or false")
            properties[key] = value
        elif key == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) and 0 < len(t) <= 255 for t in value):
                raise Fault(400, "tags must be a list of strings of 1 to 255 characters")
            properties[key] = list(dict.fromkeys(value))
        else:
            if value is not None and not isinstance(value, str):
                raise Fault(400, f"The extra property {key!r} must be a string")
            if not key or len(key) > 255:
                raise Fault(400, "An extra property's name must have 1 to 255 characters")
            if value is not None:
                properties[key] = value
    metadata["properties"] = properties
    return metadata
