"""EC2 ids of database rows, for every part of nova that shows or reads them.

An EC2 id is a prefix and the database id in eight (or more) hex digits:
``i-0000000a`` is instance 10, ``ami-0000000b`` image 11. The EC2 front end
(through ``nova.api.ec2.ec2utils``) and ``nova.image`` (bundle registration,
``nova-manage image``) use these functions; the EC2 error codes of a
malformed id are the front end's business.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from nova import exception

# image type -> prefix of its EC2 id
IMAGE_PREFIXES = {"machine": "ami", "kernel": "aki", "ramdisk": "ari"}
MAX_DB_ID = 2**63 - 1
_ID_RE = re.compile(r"^([a-z]+)-([0-9a-f]{1,16})$")


def id_to_ec2_id(db_id: int, prefix: str = "i") -> str:
    return "%s-%08x" % (prefix, int(db_id))


def image_ec2_id(image: Mapping[str, Any]) -> str:
    """``ami-``, ``aki-`` or ``ari-`` id of an image record, after its type."""
    return id_to_ec2_id(image["id"], IMAGE_PREFIXES.get(image["type"], "ami"))


def ec2_id_to_id(ec2_id: str, prefixes: tuple[str, ...] = ("i",)) -> int:
    """The database id in ``ec2_id`` if it has one of ``prefixes``; InvalidEc2Id otherwise."""
    match = _ID_RE.match(ec2_id or "")
    if not match or match.group(1) not in prefixes or int(match.group(2), 16) > MAX_DB_ID:
        expected = " or ".join(f"{prefix}-xxxxxxxx" for prefix in prefixes)
        raise exception.InvalidEc2Id(ec2_id=ec2_id, expected=expected)
    return int(match.group(2), 16)


def image_ec2_id_to_id(ec2_id: str | None) -> int | None:
    """The database id of an ``ami-``/``aki-``/``ari-`` id; None for None."""
    if ec2_id is None:
        return None
    return ec2_id_to_id(ec2_id, tuple(IMAGE_PREFIXES.values()))
