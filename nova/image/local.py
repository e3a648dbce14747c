"""nova's own image service: rows in the ``images`` table, files under --images_path.

An image is a dict with ``id``, ``name``, ``type`` (machine, kernel or
ramdisk), ``state``, ``disk_format``, ``container_format``, ``kernel_id``,
``ramdisk_id``, ``is_public``, ``owner`` (the project), ``size``,
``checksum`` (MD5 of the file, hex), ``location`` (the file's path),
``architecture`` and ``properties`` (a dict).  Visibility is the database's:
a project sees its own images, public ones and those it may launch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from typing import IO, Any

from nova import context as nova_context
from nova import exception, flags
from nova.db import api as db

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_string("images_path", "$state_path/images", "Where the image service keeps image files")

TYPES = {"machine": "ami", "kernel": "aki", "ramdisk": "ari"}
DISK_FORMATS = ("ami", "aki", "ari", "raw", "qcow2", "vhd", "vmdk", "iso")
CONTAINER_FORMATS = ("ami", "aki", "ari", "bare", "ovf", "ova", "docker", "compressed")
CHUNK = 1024 * 1024

# What create/update accept; "owner" maps to the project_id column.
_FIELDS = ("name", "type", "state", "disk_format", "container_format", "kernel_id", "ramdisk_id",
           "is_public", "owner", "size", "checksum", "location", "architecture", "properties")


def _to_dict(row: Any) -> dict[str, Any]:
    try:
        properties = json.loads(row["properties"]) if row["properties"] else {}
    except ValueError:
        properties = {}
    return {
        "id": row["id"],
        "name": row["name"],
        "type": row["type"],
        "state": row["state"],
        "disk_format": row["disk_format"],
        "container_format": row["container_format"],
        "kernel_id": row["kernel_id"],
        "ramdisk_id": row["ramdisk_id"],
        "is_public": bool(row["is_public"]),
        "owner": row["project_id"],
        "size": row["size"],
        "checksum": row["checksum"],
        "location": row["location"],
        "architecture": row["architecture"],
        "properties": properties,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _to_values(metadata: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(metadata) - set(_FIELDS))
    if unknown:
        raise exception.InvalidInput(reason=f"unknown image attribute(s): {', '.join(unknown)}")
    values = dict(metadata)
    if "owner" in values:
        values["project_id"] = values.pop("owner")
    if "type" in values and values["type"] not in TYPES:
        raise exception.InvalidInput(reason=f"image type must be one of {', '.join(TYPES)}, not {values['type']!r}")
    if values.get("disk_format") is not None and values["disk_format"] not in DISK_FORMATS:
        raise exception.InvalidInput(reason=f"unknown disk format {values['disk_format']!r}")
    if values.get("container_format") is not None and values["container_format"] not in CONTAINER_FORMATS:
        raise exception.InvalidInput(reason=f"unknown container format {values['container_format']!r}")
    for key in ("kernel_id", "ramdisk_id", "size"):
        if values.get(key) is not None:
            try:
                values[key] = int(values[key])
            except (TypeError, ValueError):
                raise exception.InvalidInput(reason=f"{key} must be an integer, not {values[key]!r}") from None
    return values


class LocalImageService:
    """Images as rows plus files; what compute downloads and caches."""

    # Its images are rows of nova's database, as ``show`` answers them: a launch may remember one and have
    # its write check the row is unchanged (``db.instance_create_many``'s ``images_as_read``).
    rows_in_database = True

    def show(self, ctxt: nova_context.RequestContext, image_id: int) -> dict[str, Any]:
        """Raises ImageNotFound when the image does not exist or is not visible."""
        return _to_dict(db.image_get_plain(ctxt, self._id(image_id)))

    def index(self, ctxt: nova_context.RequestContext, after_id: int | None = None, limit: int | None = None,
              newest_first: bool = False) -> list[dict[str, Any]]:
        """The visible images by id; a page is those after ``after_id`` (before it, newest first), at
        most ``limit`` (cut in SQL)."""
        return [_to_dict(row) for row in db.image_get_listing(ctxt, after_id, limit, newest_first)]

    def create(self, ctxt: nova_context.RequestContext, metadata: dict[str, Any]) -> dict[str, Any]:
        """Register an image (state "pending" until a file is stored, unless given)."""
        values = _to_values(metadata)
        values.setdefault("type", "machine")
        values.setdefault("disk_format", TYPES[values["type"]])
        values.setdefault("container_format", TYPES[values["type"]])
        values.setdefault("state", "pending")
        if not getattr(ctxt, "is_admin", False) or "project_id" not in values:
            values["project_id"] = ctxt.project_id
        return _to_dict(db.image_create(ctxt, values))

    def update(self, ctxt: nova_context.RequestContext, image_id: int, values: dict[str, Any]) -> dict[str, Any]:
        return _to_dict(db.image_update(ctxt, self._id(image_id), _to_values(values)))

    def delete(self, ctxt: nova_context.RequestContext, image_id: int) -> None:
        """Delete the record and the file this service stored for it."""
        image = self.show(ctxt, image_id)
        db.image_destroy(ctxt, image["id"])
        if image["location"] and image["location"].startswith(self._root() + os.sep):
            try:
                os.unlink(image["location"])
            except FileNotFoundError:
                pass

    def store(self, ctxt: nova_context.RequestContext, image_id: int, source: IO[bytes]) -> dict[str, Any]:
        """Write the image's file under --images_path (atomically) and record size and checksum.

        The file appears under its final name only once complete; on any error
        nothing is left behind and the record is unchanged.
        """
        image = self.show(ctxt, image_id)
        root = self._root()
        os.makedirs(root, exist_ok=True)
        final = os.path.join(root, "%08x" % image["id"])
        digest, size = hashlib.md5(), 0
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    chunk = source.read(CHUNK)
                    if not chunk:
                        break
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        LOG.info("Stored image %s (%d bytes)", image["id"], size)
        return _to_dict(db.image_update(ctxt, image["id"], {
            "location": final, "size": size, "checksum": digest.hexdigest(), "state": "available",
        }))

    def download(self, ctxt: nova_context.RequestContext, image_id: int, dest_path: str) -> dict[str, Any]:
        """Copy the image's file to ``dest_path`` (atomically), checking its checksum.

        Raises ImageNotActive when the image has no file yet and
        ImageChecksumMismatch (leaving no file) when the bytes are not the ones
        recorded.
        """
        image = self.show(ctxt, image_id)
        location = image["location"]
        if image["state"] != "available" or not location:
            raise exception.ImageNotActive(image_id=image["id"], state=image["state"])
        directory = os.path.dirname(os.path.abspath(dest_path))
        os.makedirs(directory, exist_ok=True)
        digest = hashlib.md5()
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".download-")
        try:
            with open(location, "rb") as source, os.fdopen(fd, "wb") as out:
                while True:
                    chunk = source.read(CHUNK)
                    if not chunk:
                        break
                    digest.update(chunk)
                    out.write(chunk)
            actual = digest.hexdigest()
            if image["checksum"] and actual != image["checksum"]:
                raise exception.ImageChecksumMismatch(image_id=image["id"], actual=actual,
                                                      expected=image["checksum"])
            os.replace(tmp, dest_path)
        except FileNotFoundError:
            raise exception.ImageNotActive(image_id=image["id"], state="missing its file") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return image

    def open(self, ctxt: nova_context.RequestContext, image_id: int) -> tuple[dict[str, Any], IO[bytes]]:
        """The image and its file opened for reading (the caller closes it); ImageNotActive without one."""
        image = self.show(ctxt, image_id)
        if image["state"] != "available" or not image["location"]:
            raise exception.ImageNotActive(image_id=image["id"], state=image["state"])
        try:
            return image, open(image["location"], "rb")
        except FileNotFoundError:
            raise exception.ImageNotActive(image_id=image["id"], state="missing its file") from None

    @staticmethod
    def _root() -> str:
        return os.path.abspath(FLAGS.images_path)

    @staticmethod
    def _id(image_id: Any) -> int:
        try:
            return int(image_id)
        except (TypeError, ValueError):
            raise exception.ImageNotFound(image_id=image_id) from None
