"""Register images from the objectstore: euca bundles (by manifest) and plain image files.

``register(ctxt, "bucket/path/name.manifest.xml")`` reads the manifest as
the requesting user, creates the image record in state ``pending`` and, in a
greenthread (or inline with ``wait=True``), fetches the parts, checks and
decrypts them, untars the image and stores it through the image service:
the state becomes ``available``, or ``failed`` with the reason in the
image's ``failure_reason`` property and no file left behind.

A location that is not a manifest is a plain image uploaded as one object:
raw, or qcow2 (refused when it names a backing file, which could read any
file on the compute host).
"""

from __future__ import annotations

import http.client
import logging
import os
import posixpath
import uuid
from typing import Any, Iterator

import eventlet

from nova import context as nova_context
from nova import exception, flags
from nova.ec2_ids import image_ec2_id_to_id
from nova.image import bundle, get_default_image_service
from nova.image.s3client import S3Client
from nova.objectstore import names
from nova.objectstore.errors import S3Error

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

QCOW2_MAGIC = b"QFI\xfb"


def split_location(location: str) -> tuple[str, str]:
    bucket, _, key = location.lstrip("/").partition("/")
    try:
        names.check_bucket_name(bucket)
        names.check_key(key)
    except S3Error as exc:
        raise exception.InvalidImageLocation(location=location[:300], reason=exc.message) from None
    return bucket, key


def qcow2_backing_file(header: bytes) -> bool:
    """True if a qcow2 header names a backing file (offset at bytes 8..15)."""
    return header[:4] == QCOW2_MAGIC and len(header) >= 16 and int.from_bytes(header[8:16], "big") != 0


class _Reader:
    """A read()-able view of an iterator of chunks (what the image service stores from)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buffer = chunks, b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            size = len(self._buffer)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


class S3ImageRegistrar:
    def __init__(self, image_service: Any = None) -> None:
        self.images = image_service or get_default_image_service()

    def register(self, ctxt: nova_context.RequestContext, location: str, name: str | None = None,
                 kernel_id: str | None = None, ramdisk_id: str | None = None, architecture: str | None = None,
                 wait: bool = False) -> dict[str, Any]:
        """Create the image record for ``location`` and start filling it."""
        bucket, key = split_location(location)
        client = S3Client(ctxt)
        if key.endswith(".manifest.xml"):
            try:
                manifest = bundle.parse_manifest(client.get(bucket, key, bundle.MAX_MANIFEST))
            except bundle.BundleError as exc:
                raise exception.InvalidImageLocation(location=location, reason=str(exc)) from None
            prefix = {"machine": "ami", "kernel": "aki", "ramdisk": "ari"}[manifest.image_type]
            metadata = {
                "name": name or location, "type": manifest.image_type, "disk_format": prefix,
                "container_format": prefix, "architecture": architecture or manifest.architecture,
                "kernel_id": image_ec2_id_to_id(kernel_id or manifest.kernel_id),
                "ramdisk_id": image_ec2_id_to_id(ramdisk_id or manifest.ramdisk_id),
                "is_public": False, "state": "pending", "properties": {"image_location": location},
            }
            work = lambda image_id: self._unbundle(ctxt, image_id, client, bucket, key, manifest)  # noqa: E731
        else:
            header = client.head_bytes(bucket, key, 512)
            if qcow2_backing_file(header):
                raise exception.InvalidImageLocation(location=location,
                                                     reason="qcow2 images with a backing file are refused")
            disk_format = "qcow2" if header[:4] == QCOW2_MAGIC else "raw"
            metadata = {
                "name": name or location, "type": "machine", "disk_format": disk_format, "container_format": "bare",
                "architecture": architecture or "x86_64", "kernel_id": image_ec2_id_to_id(kernel_id),
                "ramdisk_id": image_ec2_id_to_id(ramdisk_id), "is_public": False, "state": "pending",
                "properties": {"image_location": location},
            }
            work = lambda image_id: self._copy_plain(ctxt, image_id, client, bucket, key)  # noqa: E731
        image = self.images.create(ctxt, metadata)
        LOG.info("Registering image %s from %s", image["id"], location)
        if wait:
            work(image["id"])
            return self.images.show(ctxt, image["id"])
        eventlet.spawn_n(work, image["id"])
        return image

    def _fail(self, ctxt: nova_context.RequestContext, image_id: int, reason: str) -> None:
        LOG.warning("Image %s failed: %s", image_id, reason)
        try:
            image = self.images.show(ctxt, image_id)
            properties = dict(image["properties"], failure_reason=reason)
            self.images.update(ctxt, image_id, {"state": "failed", "properties": properties})
        except exception.ImageNotFound:
            pass

    def _unbundle(self, ctxt: nova_context.RequestContext, image_id: int, client: S3Client, bucket: str,
                  key: str, manifest: bundle.Manifest) -> None:
        directory = posixpath.dirname(key)
        root = os.path.abspath(FLAGS.images_path)
        os.makedirs(root, exist_ok=True)
        tmp = os.path.join(root, f".unbundle-{uuid.uuid4().hex}")
        try:
            with open(tmp, "wb") as out:
                bundle.unbundle(manifest, lambda filename: client.stream(
                    bucket, posixpath.join(directory, filename) if directory else filename), out)
            with open(tmp, "rb") as source:
                self.images.store(ctxt, image_id, source)
            LOG.info("Image %s is available", image_id)
        except (bundle.BundleError, exception.NovaException, OSError, http.client.HTTPException) as exc:
            self._fail(ctxt, image_id, str(exc))
        except Exception as exc:  # the worker must never leave an image pending
            LOG.exception("Unexpected error registering image %s", image_id)
            self._fail(ctxt, image_id, f"internal error: {exc.__class__.__name__}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _copy_plain(self, ctxt: nova_context.RequestContext, image_id: int, client: S3Client, bucket: str,
                    key: str) -> None:
        try:
            self.images.store(ctxt, image_id, _Reader(client.stream(bucket, key)))
            LOG.info("Image %s is available", image_id)
        except (exception.NovaException, OSError, http.client.HTTPException) as exc:
            self._fail(ctxt, image_id, str(exc))
        except Exception as exc:
            LOG.exception("Unexpected error registering image %s", image_id)
            self._fail(ctxt, image_id, f"internal error: {exc.__class__.__name__}")
