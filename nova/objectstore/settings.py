"""A bucket's configuration documents (versioning, ACL, tags, CORS, public access block).

Each lives in ``<bucket>/settings/<name>.json``, written atomically; a
missing file means the setting was never made.
"""

from __future__ import annotations

import os
from typing import Any

from nova.objectstore.store import Bucket, read_json, write_json_atomic

NAMES = ("versioning", "acl", "tagging", "cors", "public-access-block")


def _path(bucket: Bucket, name: str) -> str:
    if name not in NAMES:
        raise ValueError(name)
    return os.path.join(bucket.path, "settings", f"{name}.json")


def get(bucket: Bucket, name: str) -> Any:
    record = read_json(_path(bucket, name))
    return None if record is None else record.get("value")


def put(bucket: Bucket, name: str, value: Any) -> None:
    os.makedirs(os.path.join(bucket.path, "settings"), exist_ok=True)
    write_json_atomic(_path(bucket, name), {"value": value}, bucket.tmp_dir)


def delete(bucket: Bucket, name: str) -> None:
    try:
        os.unlink(_path(bucket, name))
    except FileNotFoundError:
        pass
