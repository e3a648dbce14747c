"""Object versions on disk, beside the store's current objects.

The current version of a key stays where ``store.Bucket`` keeps it
(``objects/<hh>/<digest>.json``), so listings and plain GETs do not change.
Once a bucket's versioning has been set (Enabled or Suspended), older
versions and delete markers go to::

    <bucket>/versions/<hh>/<digest>/<version id>.json

and keep their bytes where they were.  A key's latest version is its
current record if it has one, else its newest archived entry, which is then
a delete marker.  Objects written before versioning have the version id
``null``.  Every change happens under the store's commit lock.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import Any

from nova.objectstore import settings
from nova.objectstore.errors import S3Error, invalid_argument, no_such_bucket, no_such_key
from nova.objectstore.store import (Bucket, ObjectInfo, TempWriter, _commit_lock, _fsync_dir, drop_data, read_json,
                                    unique_name, write_json_atomic)

NULL = "null"
_VERSION_ID = re.compile(r"^[0-9a-f]{32}$")


def status(bucket: Bucket) -> str | None:
    """'Enabled', 'Suspended' or None (never configured)."""
    return settings.get(bucket, "versioning")


def version_of(record: dict[str, Any]) -> str:
    return record.get("version_id") or NULL


def _order(record: dict[str, Any]) -> int:
    return record.get("seq") or int(record.get("last_modified", 0) * 1e9)


def no_such_version(key: str, version_id: str) -> S3Error:
    return S3Error("NoSuchVersion", "The specified version does not exist.", 404, Key=key, VersionId=version_id)


def check_version_id(version_id: str) -> str:
    if version_id != NULL and not _VERSION_ID.match(version_id):
        raise invalid_argument("Invalid version id specified", "versionId", version_id[:200])
    return version_id


def _paths(bucket: Bucket, key: str) -> tuple[str, str, str]:
    """(objects/<hh> directory, current record path, archive directory) of ``key``."""
    directory, digest = bucket._object_dir(key)
    return directory, os.path.join(directory, digest + ".json"), os.path.join(
        bucket.path, "versions", digest[:2], digest)


def _current(path: str, key: str) -> dict[str, Any] | None:
    record = read_json(path)
    return record if record is not None and record.get("key") == key else None


def archived(bucket: Bucket, key: str) -> list[dict[str, Any]]:
    """The archived versions and delete markers of ``key``, newest first."""
    _, _, archive = _paths(bucket, key)
    found = []
    for name in os.listdir(archive) if os.path.isdir(archive) else []:
        if name.endswith(".json"):
            record = read_json(os.path.join(archive, name))
            if record is not None and record.get("key") == key:
                found.append(record)
    found.sort(key=_order, reverse=True)
    return found


def _archive(archive: str, record: dict[str, Any], tmp_dir: str) -> None:
    os.makedirs(archive, exist_ok=True)
    write_json_atomic(os.path.join(archive, version_of(record) + ".json"), record, tmp_dir)


def _drop_archived(directory: str, archive: str, version_id: str) -> None:
    """Forget an archived version and its bytes (caller holds the lock)."""
    path = os.path.join(archive, version_id + ".json")
    record = read_json(path)
    if record is None:
        return
    os.unlink(path)
    if not record.get("delete_marker"):
        drop_data(directory, record)


_READ = object()


def commit(bucket: Bucket, key: str, writer: TempWriter, etag: str, metadata: dict[str, str],
           headers: dict[str, str], extra: dict[str, Any] | None = None, state: Any = _READ) -> ObjectInfo:
    """Store a new version of ``key``: the object commit of a bucket whose versioning was ever set.

    ``state`` is the bucket's ``status`` when the caller has just read it.
    """
    if state is _READ:
        state = status(bucket)
    if state is None:
        return bucket.commit(key, writer, etag, metadata, headers, extra)
    writer.materialize()  # versions keep their bytes in data files
    directory, current_path, archive = _paths(bucket, key)
    os.makedirs(directory, exist_ok=True)
    version_id = uuid.uuid4().hex if state == "Enabled" else NULL
    data_name = f"{os.path.basename(current_path)[:-5]}.{unique_name()}"
    record = {"key": key, "size": writer.size, "etag": etag, "last_modified": time.time(), "seq": time.time_ns(),
              "data": data_name, "metadata": metadata, "headers": headers, "version_id": version_id,
              **(extra or {})}
    with _commit_lock:
        if not os.path.isdir(os.path.join(bucket.path, "objects")):
            raise no_such_bucket(bucket.name)
        os.rename(writer.path, os.path.join(directory, data_name))
        old = _current(current_path, key)
        if old is not None and version_of(old) == NULL and version_id == NULL:
            drop_data(directory, old)
        elif old is not None:
            _archive(archive, old, bucket.tmp_dir)
        if version_id == NULL:
            _drop_archived(directory, archive, NULL)
        write_json_atomic(current_path, record, bucket.tmp_dir)
        _fsync_dir(directory)
    return ObjectInfo.from_record(record, directory)


def delete(bucket: Bucket, key: str, owner: str | None) -> dict[str, Any]:
    """DELETE without a version id in a versioned bucket: a new delete marker becomes the latest."""
    directory, current_path, archive = _paths(bucket, key)
    version_id = uuid.uuid4().hex if status(bucket) == "Enabled" else NULL
    marker = {"key": key, "version_id": version_id, "delete_marker": True, "last_modified": time.time(),
              "seq": time.time_ns(), "owner": owner}
    with _commit_lock:
        old = _current(current_path, key)
        if old is not None:
            if version_of(old) == NULL and version_id == NULL:
                drop_data(directory, old)
            else:
                _archive(archive, old, bucket.tmp_dir)
            os.unlink(current_path)
        if version_id == NULL:
            _drop_archived(directory, archive, NULL)
        _archive(archive, marker, bucket.tmp_dir)
    return marker


def delete_version(bucket: Bucket, key: str, version_id: str) -> dict[str, Any] | None:
    """Remove one version for good; the newest remaining one becomes current.  Returns what went."""
    directory, current_path, archive = _paths(bucket, key)
    with _commit_lock:
        current = _current(current_path, key)
        if current is not None and version_of(current) == version_id:
            os.unlink(current_path)
            drop_data(directory, current)
            gone: dict[str, Any] | None = current
        else:
            gone = read_json(os.path.join(archive, version_id + ".json"))
            if gone is None or gone.get("key") != key:
                return None
            _drop_archived(directory, archive, version_id)
        if _current(current_path, key) is None:
            remaining = archived(bucket, key)
            if remaining and not remaining[0].get("delete_marker"):
                write_json_atomic(current_path, remaining[0], bucket.tmp_dir)
                os.unlink(os.path.join(archive, version_of(remaining[0]) + ".json"))
    return gone


def find(bucket: Bucket, key: str, version_id: str) -> tuple[dict[str, Any], str]:
    """(record, objects directory) of one version; NoSuchVersion if there is none."""
    check_version_id(version_id)
    directory, current_path, archive = _paths(bucket, key)
    current = _current(current_path, key)
    if current is not None and version_of(current) == version_id:
        return current, directory
    record = read_json(os.path.join(archive, version_id + ".json"))
    if record is None or record.get("key") != key:
        raise no_such_version(key, version_id)
    return record, directory


def latest_marker(bucket: Bucket, key: str) -> dict[str, Any] | None:
    """The delete marker that hides ``key``, if that is why it has no current version."""
    _, current_path, _ = _paths(bucket, key)
    if _current(current_path, key) is not None:
        return None
    remaining = archived(bucket, key)
    return remaining[0] if remaining and remaining[0].get("delete_marker") else None


def update(bucket: Bucket, key: str, version_id: str | None, changes: dict[str, Any]) -> dict[str, Any]:
    """Change stored fields (ACL, tags) of one version, the current one by default."""
    directory, current_path, archive = _paths(bucket, key)
    with _commit_lock:
        current = _current(current_path, key)
        if version_id is None or (current is not None and version_of(current) == version_id):
            if current is None:
                raise no_such_key(key)
            path, record = current_path, current
        else:
            path = os.path.join(archive, check_version_id(version_id) + ".json")
            record = read_json(path)
            if record is None or record.get("key") != key:
                raise no_such_version(key, version_id)
        if record.get("delete_marker"):
            raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", 405)
        record.update(changes)
        write_json_atomic(path, record, bucket.tmp_dir)
    return record


def all_versions(bucket: Bucket) -> list[tuple[dict[str, Any], str, bool]]:
    """Every version and delete marker as (record, objects directory, is latest), by key then newest first."""
    by_key: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for info in bucket.keys():
        by_key.setdefault(info.key, []).append((info.record, info.directory))
    root = os.path.join(bucket.path, "versions")
    for sub in os.scandir(root) if os.path.isdir(root) else []:
        for keydir in os.scandir(sub.path) if sub.is_dir() else []:
            directory = os.path.join(bucket.path, "objects", sub.name)
            for entry in os.scandir(keydir.path) if keydir.is_dir() else []:
                record = read_json(entry.path) if entry.name.endswith(".json") else None
                if record is not None:
                    by_key.setdefault(record["key"], []).append((record, directory))
    result = []
    for key in sorted(by_key, key=lambda k: k.encode("utf-8")):
        entries = sorted(by_key[key], key=lambda e: _order(e[0]), reverse=True)
        result += [(record, directory, index == 0) for index, (record, directory) in enumerate(entries)]
    return result


def has_versions(bucket: Bucket) -> bool:
    root = os.path.join(bucket.path, "versions")
    for sub in os.scandir(root) if os.path.isdir(root) else []:
        for keydir in os.scandir(sub.path) if sub.is_dir() else []:
            if any(e.name.endswith(".json") for e in os.scandir(keydir.path)):
                return True
    return False
