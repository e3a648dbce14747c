"""``nova-manage image``: register local files as images, list them, make bundles."""

from __future__ import annotations

import os
import sys
from typing import IO

from nova import context, exception
from nova.ec2_ids import IMAGE_PREFIXES, image_ec2_id, image_ec2_id_to_id
from nova.image import bundle, get_default_image_service
from nova.image.s3 import QCOW2_MAGIC, qcow2_backing_file


class _Progress:
    """Reads a file while drawing a progress bar on standard error."""

    def __init__(self, handle: IO[bytes], total: int, label: str, out: IO[str] = sys.stderr) -> None:
        self.handle, self.total, self.label, self.out = handle, max(total, 1), label, out
        self.done, self._shown = 0, -1

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.done += len(data)
        percent = min(100, self.done * 100 // self.total)
        if percent != self._shown:
            self._shown = percent
            bar = "#" * (percent // 4)
            self.out.write(f"\r{self.label} [{bar:<25}] {percent:3d}% {self.done / 1048576:.1f}/"
                           f"{self.total / 1048576:.1f} MiB")
            if percent == 100:
                self.out.write("\n")
            self.out.flush()
        return data


def _bool(value: str) -> bool:
    if value.lower() in ("t", "true", "1", "yes"):
        return True
    if value.lower() in ("f", "false", "0", "no"):
        return False
    raise exception.InvalidInput(reason=f"expected T or F, not {value!r}")


class ImageCommands:
    """Images: register local files, list, bundle."""

    def _register(self, path: str, owner: str, name: str | None, image_type: str, is_public: str,
                  architecture: str, kernel_id: str | None = None, ramdisk_id: str | None = None) -> None:
        from nova.db import api as db

        ctxt = context.get_admin_context()
        db.project_get(ctxt, owner)
        try:
            handle = open(path, "rb")
        except OSError as exc:
            raise exception.InvalidInput(reason=f"cannot read {path}: {exc.strerror}") from None
        with handle:
            header = handle.read(512)
            handle.seek(0)
            if qcow2_backing_file(header):
                raise exception.InvalidInput(reason=f"{path} is a qcow2 image with a backing file; refused")
            disk_format = IMAGE_PREFIXES[image_type]
            if image_type == "machine" and header[:4] == QCOW2_MAGIC:
                disk_format = "qcow2"
            service = get_default_image_service()
            image = service.create(ctxt, {
                "name": name or os.path.basename(path), "type": image_type, "disk_format": disk_format,
                "container_format": IMAGE_PREFIXES[image_type] if disk_format != "qcow2" else "bare",
                "is_public": _bool(is_public), "owner": owner, "architecture": architecture,
                "kernel_id": image_ec2_id_to_id(kernel_id), "ramdisk_id": image_ec2_id_to_id(ramdisk_id),
                "properties": {"image_location": "local"}})
            try:
                total = os.fstat(handle.fileno()).st_size
                service.store(ctxt, image["id"], _Progress(handle, total, f"uploading {os.path.basename(path)}"))
            except BaseException:
                service.delete(ctxt, image["id"])
                raise
        print(image_ec2_id(image))

    def image_register(self, path: str, owner: str, name: str | None = None, is_public: str = "T",
                       architecture: str = "x86_64", kernel_id: str | None = None,
                       ramdisk_id: str | None = None) -> None:
        """Upload a machine image (raw or qcow2) for project OWNER; prints its ami- id."""
        self._register(path, owner, name, "machine", is_public, architecture, kernel_id, ramdisk_id)

    def kernel_register(self, path: str, owner: str, name: str | None = None, is_public: str = "T",
                        architecture: str = "x86_64") -> None:
        """Upload a kernel for project OWNER; prints its aki- id."""
        self._register(path, owner, name, "kernel", is_public, architecture)

    def ramdisk_register(self, path: str, owner: str, name: str | None = None, is_public: str = "T",
                         architecture: str = "x86_64") -> None:
        """Upload a ramdisk for project OWNER; prints its ari- id."""
        self._register(path, owner, name, "ramdisk", is_public, architecture)

    def list(self) -> None:
        """List every image: id, name, type, state, owner, visibility."""
        images = get_default_image_service().index(context.get_admin_context())
        print(f"{'id':<14}{'name':<30}{'type':<9}{'state':<11}{'owner':<16}visibility")
        for image in images:
            print(f"{image_ec2_id(image):<14}{(image['name'] or '')[:29]:<30}{image['type']:<9}{image['state']:<11}"
                  f"{image['owner'] or '':<16}{'public' if image['is_public'] else 'private'}")

    def bundle(self, path: str, directory: str, image_type: str = "machine", kernel_id: str | None = None,
               ramdisk_id: str | None = None) -> None:
        """Make a euca-style bundle of PATH in DIRECTORY for this cloud's key; prints the manifest path."""
        if image_type not in IMAGE_PREFIXES:
            raise exception.InvalidInput(reason=f"type must be machine, kernel or ramdisk, not {image_type!r}")
        if not os.path.isfile(path):
            raise exception.InvalidInput(reason=f"{path} is not a file")
        for value in (kernel_id, ramdisk_id):
            image_ec2_id_to_id(value)
        try:
            print(bundle.make_bundle(path, directory, image_type=image_type, kernel_id=kernel_id,
                                     ramdisk_id=ramdisk_id))
        except bundle.BundleError as exc:
            raise exception.InvalidInput(reason=str(exc)) from None
