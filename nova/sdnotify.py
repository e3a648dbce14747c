"""Tell systemd how a daemon is doing (``Type=notify`` units).

systemd sets ``NOTIFY_SOCKET`` to a unix datagram socket for a service whose
unit says ``Type=notify``; the daemon sends ``READY=1`` once it really serves
(RPC consumers subscribed, HTTP ports listening) and ``STOPPING=1`` when it
begins a graceful stop.  Without ``NOTIFY_SOCKET`` nothing is sent.
"""

from __future__ import annotations

import logging
import os
import socket

LOG = logging.getLogger(__name__)


def _address() -> str | None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or address[0] not in "/@":
        return None
    # A leading "@" names a socket in the abstract namespace.
    return "\0" + address[1:] if address[0] == "@" else address


def notify(state: str) -> bool:
    """Send ``state`` (e.g. ``READY=1``) to systemd; True if it was sent."""
    address = _address()
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        LOG.warning("Cannot tell systemd %s through %s: %s", state, os.environ.get("NOTIFY_SOCKET"), exc)
        return False
    return True


def ready() -> bool:
    return notify(f"READY=1\nMAINPID={os.getpid()}")


def stopping() -> bool:
    return notify("STOPPING=1")
