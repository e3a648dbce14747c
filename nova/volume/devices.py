"""Device names of attached volumes: what a client asks for, what the guest sees.

A client names a device as its cloud taught it (``/dev/sdf``, ``/dev/xvdf``,
``/dev/vdf``); the volume is shown under that name.  The guest gets a virtio
disk, ``/dev/vd<letter>``; ``vda`` is the instance's own disk.
"""

from __future__ import annotations

import re

from nova import exception

_DEVICE_RE = re.compile(r"^/dev/(?:sd|xvd|vd)([b-z])$")
_ROOT_RE = re.compile(r"^/dev/(?:sd|xvd|vd)a1?$")
ROOT = "/dev/vda"
DEFAULT_ROOT_DEVICE_NAME = "/dev/sda1"


def check_root_device_name(name: str) -> str:
    """A root device name an image or a request may give (/dev/sda1, /dev/sda, /dev/xvda, /dev/vda)."""
    if not _ROOT_RE.match(name or ""):
        raise exception.InvalidDevicePath(path=name)
    return name


def guest_device(device: str | None, root_device_name: str | None = None) -> str:
    """``/dev/vdX`` for a device name a client gave (InvalidDevicePath when nova cannot attach there).

    The instance's root device (``root_device_name``, say ``/dev/sda1``) is the guest's ``/dev/vda``.
    """
    if root_device_name and device == root_device_name:
        return ROOT
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
