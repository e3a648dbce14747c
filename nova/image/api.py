"""The image service API: what every front end calls for images, their launch permissions and tags.

It wraps the image service that ``--image_service`` names (the store of
records and files) and adds what a front end needs on top: listing with the
owner and launch-permission filters in a fixed number of queries, owner
checks for changes, launch permissions (``"all"`` is the public flag) and
the image's tags.
"""

from __future__ import annotations

import logging
from typing import IO, Any, Iterable

from nova import context as nova_context
from nova import exception, quota
from nova.db import api as db
from nova.image import get_default_image_service
from nova.tag import api as tag_api

Context = nova_context.RequestContext
LOG = logging.getLogger(__name__)
RESOURCE_TYPE = "image"
EVERYONE = "all"
VISIBILITIES = ("public", "private", "shared", "all")


class API:
    def __init__(self, image_service: Any = None) -> None:
        self.service = image_service or get_default_image_service()

    def show(self, ctxt: Context, image_id: int) -> dict[str, Any]:
        """ImageNotFound when the image does not exist or the caller may not see it."""
        return self._settle(ctxt, self.service.show(ctxt, image_id))

    # -- EBS images: a root device made from a snapshot ------------------------

    def register_from_snapshots(self, ctxt: Context, name: str | None, root_device_name: str,
                                mappings: list[dict[str, Any]], kernel_id: int | None = None,
                                ramdisk_id: int | None = None, architecture: str | None = None,
                                description: str | None = None) -> dict[str, Any]:
        """An image whose instances boot from a volume made from the root device's snapshot.

        ``mappings`` are block device mappings (``nova.compute.block_devices``);
        the root device's names a snapshot the caller may see.  The image is
        "pending" until its snapshots are complete, "failed" if one fails.
        """
        from nova.volume import api as volume_api
        from nova.volume import devices

        devices.check_root_device_name(root_device_name)
        self.check_name_free(ctxt, name)
        root = [m for m in mappings if m.get("device_name") == root_device_name]
        if not root or not root[0].get("snapshot_id"):
            raise exception.InvalidInput(reason=f"the root device {root_device_name} must be mapped to a snapshot")
        clean = []
        for mapping in mappings:
            if mapping.get("snapshot_id"):
                volume_api.API().get_snapshot(ctxt, mapping["snapshot_id"])  # SnapshotNotFound if not visible
            devices.guest_device(mapping["device_name"], root_device_name)
            clean.append({key: mapping.get(key) for key in ("device_name", "snapshot_id", "volume_size",
                                                             "delete_on_termination", "no_device")
                          if mapping.get(key) is not None})
        for value, kind in ((kernel_id, "kernel"), (ramdisk_id, "ramdisk")):
            if value is not None and self.show(ctxt, value)["type"] != kind:
                raise exception.InvalidImage(image_id=value, reason=f"it is not a {kind} image")
        properties = {"root_device_name": root_device_name, "block_device_mapping": clean}
        if description:
            properties["description"] = description
        image = self.service.create(ctxt, {"name": name, "type": "machine", "state": "pending",
                                           "kernel_id": kernel_id, "ramdisk_id": ramdisk_id,
                                           "architecture": architecture, "properties": properties})
        LOG.info("Registered EBS image %s (%s) in project %s", image["id"], name, ctxt.project_id)
        return self._settle(ctxt, image)

    def check_name_free(self, ctxt: Context, name: str | None) -> None:
        """ImageNameInUse when an image of the caller's project already has ``name`` (EC2's rule for
        the images it makes: CreateImage, RegisterImage of snapshots, CopyImage)."""
        if name and any(i["owner"] == ctxt.project_id and i["name"] == name for i in self.service.index(ctxt)):
            raise exception.ImageNameInUse(name=name[:128])

    def _settle(self, ctxt: Context, image: dict[str, Any]) -> dict[str, Any]:
        """A pending EBS image becomes available once its snapshots are, failed when one failed."""
        mappings = (image.get("properties") or {}).get("block_device_mapping")
        if image.get("state") != "pending" or not mappings:
            return image
        statuses = set()
        for mapping in mappings:
            if mapping.get("snapshot_id"):
                try:
                    statuses.add(db.snapshot_get(ctxt.elevated(), int(mapping["snapshot_id"]))["status"])
                except exception.SnapshotNotFound:
                    statuses.add("error")
        if "error" in statuses:
            state = "failed"
        elif statuses <= {"available"}:
            state = "available"
        else:
            return image
        return self.service.update(ctxt.elevated(), image["id"], {"state": state})

    def get_all(self, ctxt: Context, ids: Iterable[int] = (), owners: Iterable[str] = (),
                executable_by: Iterable[str] = (), after_id: int | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        """The images the caller sees by id, narrowed to ``ids``, ``owners`` (projects) and
        ``executable_by`` (projects, or "all" for public images); ``after_id`` and ``limit`` cut
        the visible images in SQL before that narrowing.

        An id the caller cannot see raises ImageNotFound.  Launch permissions
        are read in one query for all the images, so the number of queries
        does not grow with the number of images.
        """
        paged = {} if after_id is None and limit is None else {"after_id": after_id, "limit": limit}
        images = [self._settle(ctxt, image) for image in self.service.index(ctxt, **paged)]
        ids, owners, executable_by = list(ids), set(owners), list(executable_by)
        if ids:
            by_id = {image["id"]: image for image in images}
            for image_id in ids:
                if image_id not in by_id:
                    raise exception.ImageNotFound(image_id=image_id)
            images = [by_id[i] for i in dict.fromkeys(ids)]
        if owners:
            images = [i for i in images if i["owner"] in owners]
        if executable_by:
            permitted: dict[int, list[str]] = {}
            if any(who != EVERYONE for who in executable_by):
                permitted = db.image_launch_permission_get_by_images(ctxt.elevated(), [i["id"] for i in images])
            images = [i for i in images if any(self._launchable_by(i, who, permitted.get(i["id"], []))
                                               for who in executable_by)]
        return images

    @staticmethod
    def _launchable_by(image: dict[str, Any], who: str, permitted: list[str]) -> bool:
        if who == EVERYONE:
            return bool(image["is_public"])
        return bool(image["is_public"]) or image["owner"] == who or who in permitted

    def get_owned(self, ctxt: Context, image_id: int) -> dict[str, Any]:
        """An image the caller may change: its project's, or any for an admin; ImageNotOwned otherwise."""
        image = self.show(ctxt, image_id)
        if image["owner"] != ctxt.project_id and not ctxt.is_admin:
            raise exception.ImageNotOwned(image_id=image["id"])
        return image

    def update(self, ctxt: Context, image_id: int, values: dict[str, Any]) -> dict[str, Any]:
        image = self.get_owned(ctxt, image_id)
        return self.service.update(ctxt, image["id"], values)

    def set_properties(self, ctxt: Context, image_id: int, properties: dict[str, Any]) -> dict[str, Any]:
        """Replace an owned image's properties; those set (not None) count against metadata_items."""
        quota.check_metadata_items(ctxt, sum(1 for value in properties.values() if value is not None))
        return self.update(ctxt, image_id, {"properties": properties})

    def set_description(self, ctxt: Context, image_id: int, description: str | None) -> dict[str, Any]:
        image = self.get_owned(ctxt, image_id)
        return self.service.update(ctxt, image["id"], {"properties": dict(image["properties"],
                                                                           description=description)})

    def delete(self, ctxt: Context, image_id: int) -> None:
        """Deregister an image the caller owns, with its file, launch permissions and tags.

        An image whose ``protected`` property is true stays (ImageProtected).
        """
        image = self.get_owned(ctxt, image_id)
        if image["properties"].get("protected") is True:
            raise exception.ImageProtected(image_id=image["id"])
        self.service.delete(ctxt, image["id"])
        tag_api.API().delete_all(ctxt, RESOURCE_TYPE, image["id"])
        LOG.info("Deleted image %s", image["id"])

    def create(self, ctxt: Context, metadata: dict[str, Any]) -> dict[str, Any]:
        """Register a machine image of the caller's project with no file yet (state "pending")."""
        values = dict(metadata, type="machine", state="pending")
        values.pop("owner", None)
        image = self.service.create(ctxt, values)
        LOG.info("Created image %s (%s) in project %s", image["id"], image["name"], ctxt.project_id)
        return image

    def copy(self, ctxt: Context, source_id: int, name: str, description: str | None = None,
             client_token: str | None = None) -> dict[str, Any]:
        """A new image of the caller's project with the source's record and a copy of its file.

        The source is any image the caller sees (its own, a public one, one it
        may launch) and is available (ImageNotActive otherwise).  An EBS
        image's copy names the same snapshots.  The same ``client_token`` in
        the same project gives back the first copy; with another source or
        name it is IdempotentParameterMismatch.  Launch permissions and tags
        are not copied.
        """
        if client_token:
            for image in self.service.index(ctxt):
                props = image["properties"] or {}
                if image["owner"] == ctxt.project_id and props.get("client_token") == client_token:
                    if props.get("copied_from") != int(source_id) or image["name"] != name:
                        raise exception.IdempotentParameterMismatch(client_token=client_token[:64])
                    return image
        source = self.show(ctxt, source_id)
        self.check_name_free(ctxt, name)
        if source["state"] != "available":
            raise exception.ImageNotActive(image_id=source["id"], state=source["state"])
        properties = {k: v for k, v in (source["properties"] or {}).items()
                      if k not in ("image_location", "protected", "client_token", "failure_reason")}
        properties["copied_from"] = source["id"]
        if description is not None:
            properties["description"] = description
        if client_token:
            properties["client_token"] = client_token
        quota.check_metadata_items(ctxt, sum(1 for value in properties.values() if value is not None))
        values = {key: source[key] for key in ("type", "kernel_id", "ramdisk_id", "architecture",
                                               "disk_format", "container_format")}
        has_file = bool(source["location"])
        image = self.service.create(ctxt, dict(values, name=name, properties=properties,
                                               state="pending" if has_file else "available"))
        if has_file:
            try:
                _, handle = self.service.open(ctxt, source["id"])
                with handle:
                    image = self.service.store(ctxt, image["id"], handle)
            except BaseException:
                self.service.delete(ctxt, image["id"])
                raise
        LOG.info("Copied image %s to %s (%s) in project %s", source["id"], image["id"], name, ctxt.project_id)
        return image

    def upload(self, ctxt: Context, image_id: int, source: IO[bytes]) -> dict[str, Any]:
        """Store the file of an image the caller owns and that has none yet; it becomes "available"."""
        image = self.get_owned(ctxt, image_id)
        if image["state"] != "pending" or image["location"]:
            raise exception.ImageDataExists(image_id=image["id"], state=image["state"])
        return self.service.store(ctxt, image["id"], source)

    def open_file(self, ctxt: Context, image_id: int) -> tuple[dict[str, Any], IO[bytes]]:
        """A visible image and its file opened for reading; ImageNotActive while it has none."""
        return self.service.open(ctxt, image_id)

    def get_page(self, ctxt: Context, name: str | None = None, states: Iterable[str] | None = None,
                 visibility: str | None = None, owner: str | None = None, marker: int | None = None,
                 limit: int | None = None) -> tuple[list[dict[str, Any]], bool]:
        """A page of the visible images, newest first, and whether more follow.

        ``visibility``: "public", "private" (the caller's own, not public),
        "shared" (another project's that the caller may launch) or "all"
        (the default).  ``marker`` is the id of the last image of the previous
        page, which must be among the images listed (InvalidInput otherwise).
        """
        if visibility is not None and visibility not in VISIBILITIES:
            raise exception.InvalidInput(reason=f"visibility must be one of {', '.join(VISIBILITIES)}")
        if limit is not None and limit < 0:
            raise exception.InvalidInput(reason="limit must not be negative")
        if name is None and owner is None and states is None and visibility in (None, "all"):
            return self._newest_page(ctxt, marker, limit)
        images = sorted(self.service.index(ctxt), key=lambda i: i["id"], reverse=True)
        if name is not None:
            images = [i for i in images if i["name"] == name]
        if owner is not None:
            images = [i for i in images if i["owner"] == owner]
        if states is not None:
            wanted = set(states)
            images = [i for i in images if i["state"] in wanted]
        if visibility in ("public", "private", "shared"):
            images = [i for i in images if self.visibility_of(ctxt, i) == visibility]
        if marker is not None:
            ids = [i["id"] for i in images]
            if marker not in ids:
                raise exception.InvalidInput(reason=f"marker {marker} is not among the images listed")
            images = images[ids.index(marker) + 1:]
        if limit is None or len(images) <= limit:
            return images, False
        return images[:limit], True

    def _newest_page(self, ctxt: Context, marker: int | None, limit: int | None) -> tuple[list[dict[str, Any]], bool]:
        """``get_page`` of every visible image, cut in SQL: the marker's own row is read with the page
        (one more than asked tells whether another page follows)."""
        more = None if limit is None else limit + 1
        if marker is None:
            images = self.service.index(ctxt, limit=more, newest_first=True)
        else:
            images = self.service.index(ctxt, after_id=marker + 1, limit=None if more is None else more + 1,
                                        newest_first=True)
            if not images or images[0]["id"] != marker:
                raise exception.InvalidInput(reason=f"marker {marker} is not among the images listed")
            images = images[1:]
        if limit is None or len(images) <= limit:
            return images, False
        return images[:limit], True

    @staticmethod
    def visibility_of(ctxt: Context, image: dict[str, Any]) -> str:
        """One of public, private (the caller's project's own) or shared (another's the caller may launch)."""
        if image["is_public"]:
            return "public"
        return "private" if image["owner"] == ctxt.project_id else "shared"

    def get_launch_permissions(self, ctxt: Context, image_id: int) -> list[str]:
        """Who may launch the image: "all" first when it is public, then projects."""
        image = self.get_owned(ctxt, image_id)
        projects = [p for p in db.image_launch_permission_get_all(ctxt, image["id"]) if p != EVERYONE]
        return ([EVERYONE] if image["is_public"] else []) + projects

    def add_launch_permission(self, ctxt: Context, image_id: int, project_id: str) -> None:
        """Let ``project_id`` (which must exist) launch the image; "all" makes it public."""
        image = self.get_owned(ctxt, image_id)
        if project_id == EVERYONE:
            self.service.update(ctxt, image["id"], {"is_public": True})
            return
        db.project_get(ctxt.elevated(), project_id)
        db.image_launch_permission_add(ctxt, image["id"], project_id)

    def remove_launch_permission(self, ctxt: Context, image_id: int, project_id: str) -> None:
        image = self.get_owned(ctxt, image_id)
        if project_id == EVERYONE:
            self.service.update(ctxt, image["id"], {"is_public": False})
            return
        db.image_launch_permission_remove(ctxt, image["id"], project_id)


tag_api.register_taggable(RESOURCE_TYPE, lambda ctxt, image_id: API().show(ctxt, image_id))
