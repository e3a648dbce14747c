"""Device names of attached volumes: what a client asks for, what the guest sees.

A client names a device as its cloud taught it (``/dev/sdf``, ``/dev/xvdf``,
``/dev/vdf``); the volume is shown under that name.  The guest gets a virtio
disk, ``/dev/vd<letter>``; ``vda`` is the instance's own disk.
"""

from __future__ import annotations

import re

from nova import exception

_DEVICE_RE = re.compile(r"^/dev/(?:sd|xvd|vd)([b-z])$")


def guest_device(device: str | None) -> str:
    """``/dev/vdX`` for a device name a client gave (InvalidDevicePath when nova cannot attach there)."""
    match = _DEVICE_RE.match(device or "")
    if not match:
        raise exception.InvalidDevicePath(path=device)
    return f"/dev/vd{match.group(1)}"


def first_free(taken: set[str]) -> str | None:
    """The first ``/dev/vdX`` (from vdb) not in ``taken`` (guest device names), or None when all are."""
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if f"/dev/vd{letter}" not in taken:
            return f"/dev/vd{letter}"
    return None
