"""volume.API: what the front ends call for block storage volumes and snapshots.

It validates requests, checks the project's volume quotas, records the new
state in the database and sends the work through ``nova.volume.rpcapi`` (to
the volume host) or ``nova.compute.rpcapi`` (attach and detach run on the
instance's host), or through the scheduler for new volumes.

Statuses: a volume is ``creating → available → attaching → in-use →
detaching → available``, ``deleting`` on its way out, ``error`` (with the
reason in ``fault``) when its host failed it.  A snapshot is ``creating →
available``, ``deleting``, ``error``.  Every change of status that a
concurrent request could contest is a compare-and-set in the database, so two
attaches of one volume, or an attach racing a delete, cannot both win.
"""

from __future__ import annotations

from typing import Any, Iterable

from nova import availability_zones
from nova import context as nova_context
from nova import exception, flags, quota
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import states
from nova.db import api as db
from nova.scheduler import rpcapi as scheduler_rpcapi
from nova.tag import api as tag_api
from nova.volume import devices
from nova.volume import rpcapi as volume_rpcapi

FLAGS = flags.FLAGS

flags.DEFINE_integer("volume_max_size", 16384, "Largest volume a user may ask for, in GiB", lower_bound=1)

Context = nova_context.RequestContext
Row = Any

ATTACHABLE_INSTANCE_STATES = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)


def _int_id(value: Any, what: str = "volume") -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise exception.InvalidInput(reason=f"{what} id must be an integer id, not {value!r}") from None


def _check_size(size: Any) -> int:
    try:
        size = int(size)
    except (TypeError, ValueError):
        raise exception.InvalidVolumeSize(reason=f"size must be a whole number of GiB, not {size!r}") from None
    if size < 1:
        raise exception.InvalidVolumeSize(reason=f"size must be at least 1 GiB, not {size}")
    if size > FLAGS.volume_max_size:
        raise exception.InvalidVolumeSize(reason=f"size {size} GiB is larger than the largest volume, "
                                                 f"{FLAGS.volume_max_size} GiB")
    return size


class API:
    """The volume service API (see the module docstring)."""

    # -- reading ------------------------------------------------------------

    def get(self, ctxt: Context, volume_id: Any) -> Row:
        """Raises VolumeNotFound, also for another project's volume."""
        return db.volume_get(ctxt, _int_id(volume_id))

    def get_all(self, ctxt: Context, volume_ids: Iterable[Any] | None = None, after_id: int | None = None,
                limit: int | None = None) -> list[Row]:
        """The caller's project's volumes (every project's for an admin), in id order, as plain rows;
        ``after_id`` and ``limit`` cut a page in SQL.

        With ``volume_ids``, only those; one that is missing or not the
        caller's raises VolumeNotFound.
        """
        rows = db.volume_get_listing(ctxt, None if ctxt.is_admin else ctxt.project_id, after_id, limit)
        return _pick(rows, volume_ids, lambda v: exception.VolumeNotFound(volume_id=v), "volume")

    def get_by_instances(self, ctxt: Context, instance_ids: list[int]) -> dict[int, list[Row]]:
        """The volumes attached to each instance (one query), for instance listings."""
        found: dict[int, list[Row]] = {}
        for volume in db.volume_get_all_by_instances(ctxt, list(instance_ids)):
            found.setdefault(volume["instance_id"], []).append(volume)
        return found

    def get_snapshot(self, ctxt: Context, snapshot_id: Any) -> Row:
        return db.snapshot_get(ctxt, _int_id(snapshot_id, "snapshot"))

    def get_all_snapshots(self, ctxt: Context, snapshot_ids: Iterable[Any] | None = None,
                          after_id: int | None = None, limit: int | None = None) -> list[Row]:
        """The caller's project's snapshots (every project's for an admin) as plain rows by id; a page
        with ``after_id`` and ``limit``, cut in SQL."""
        rows = db.snapshot_get_listing(ctxt, None if ctxt.is_admin else ctxt.project_id, after_id, limit)
        return _pick(rows, snapshot_ids, lambda s: exception.SnapshotNotFound(snapshot_id=s), "snapshot")

    # -- creating and deleting ------------------------------------------------

    def create(self, ctxt: Context, size: Any = None, snapshot_id: Any = None, availability_zone: str | None = None,
               name: str | None = None, description: str | None = None,
               for_instance: tuple[int, str, bool] | None = None) -> Row:
        """A new volume (``creating``), empty or from a snapshot, placed by the scheduler.

        From a snapshot the size defaults to the snapshot's and may only grow.
        ``for_instance`` (instance id, device, delete on termination) reserves
        the volume for an instance being launched: its compute host attaches
        it when it builds the instance (compute.API's block device mappings).
        """
        snapshot = None
        if snapshot_id is not None:
            snapshot = self.get_snapshot(ctxt, snapshot_id)
            if snapshot["status"] != "available":
                raise exception.SnapshotInvalidState(snapshot_id=snapshot["id"], status=snapshot["status"],
                                                     action="create a volume from")
            if size is None:
                size = snapshot["volume_size"]
        if size is None:
            raise exception.MissingParameter(param="a size (GiB) or a snapshot")
        size = _check_size(size)
        if snapshot is not None and size < snapshot["volume_size"]:
            raise exception.InvalidVolumeSize(reason=f"{size} GiB is smaller than snapshot {snapshot['id']}'s "
                                                     f"{snapshot['volume_size']} GiB")
        zone = self._zone(ctxt, availability_zone)
        self._check_quota(ctxt, size)
        values = {
            "size": size, "status": "creating", "attach_status": "detached", "availability_zone": zone,
            "snapshot_id": snapshot["id"] if snapshot is not None else None,
            "display_name": name, "display_description": description,
        }
        if for_instance is not None:
            values.update(instance_id=for_instance[0], mountpoint=for_instance[1],
                          delete_on_termination=bool(for_instance[2]))
        volume = db.volume_create(ctxt, values)
        scheduler_rpcapi.SchedulerAPI().create_volume(
            ctxt, FLAGS.volume_topic, volume["id"], snapshot_id=volume["snapshot_id"],
            availability_zone=availability_zone)
        return volume

    @staticmethod
    def _zone(ctxt: Context, availability_zone: str | None) -> str:
        if not availability_zone:
            return FLAGS.node_availability_zone
        zone = availability_zone.partition(":")[0]
        if zone not in availability_zones.get_zones(ctxt.elevated()):
            raise exception.InvalidInput(reason=f"unknown availability zone {zone!r}")
        return zone

    @staticmethod
    def _check_quota(ctxt: Context, size: int) -> None:
        if not ctxt.project_id:
            return
        count, gigabytes = db.volume_data_get_for_project(ctxt, ctxt.project_id)
        limits = quota.get_project_quotas(ctxt, ctxt.project_id)
        if quota.allowed(ctxt, ctxt.project_id, "volumes", count, 1) < 1:
            raise exception.VolumeLimitExceeded(
                reason=f"the project has {count} of its {limits['volumes']} volumes")
        if quota.allowed(ctxt, ctxt.project_id, "gigabytes", gigabytes, size) < size:
            raise exception.VolumeLimitExceeded(
                reason=f"{size} GiB more would exceed the project's {limits['gigabytes']} GiB "
                       f"({gigabytes} GiB in use)")

    def delete(self, ctxt: Context, volume_id: Any) -> None:
        """Delete an available (or failed) volume; refused with VolumeInUse while it is attached."""
        volume = self.get(ctxt, volume_id)
        if volume["status"] == "deleting":
            return
        if volume["instance_id"] is not None:
            raise exception.VolumeInUse(volume_id=volume["id"], instance_id=volume["instance_id"], action="delete")
        volume = db.volume_update_if_status(ctxt, volume["id"], ("available", "error"),
                                            {"status": "deleting"}, "delete")
        if not volume["host"]:
            db.volume_destroy(ctxt, volume["id"])
            return
        volume_rpcapi.VolumeAPI().delete_volume(ctxt, volume["host"], volume["id"])

    # -- attaching ------------------------------------------------------------

    def attach(self, ctxt: Context, volume_id: Any, instance_id: Any, device: str | None = None) -> Row:
        """Attach to an instance of the same project and zone as ``device`` (the first free one when
        None); the compute host plugs it in."""
        volume = self.get(ctxt, volume_id)
        instance = db.instance_get(ctxt, _int_id(instance_id, "instance"))
        attached = db.volume_get_all_by_instance(ctxt.elevated(), instance["id"])
        if device is None:
            device = devices.first_free({devices.guest_device(v["mountpoint"]) for v in attached if v["mountpoint"]})
            if device is None:
                raise exception.DeviceInUse(mountpoint="every /dev/vdX")
        mountpoint = devices.guest_device(device)
        if instance["vm_state"] not in ATTACHABLE_INSTANCE_STATES or not instance["host"]:
            raise exception.InstanceInvalidState(instance_id=instance["id"], state=instance["vm_state"],
                                                 action="attach a volume to")
        if volume["availability_zone"] and instance["availability_zone"] \
                and volume["availability_zone"] != instance["availability_zone"]:
            raise exception.InvalidInput(
                reason=f"volume {volume['id']} is in zone {volume['availability_zone']} and instance "
                       f"{instance['id']} in {instance['availability_zone']}")
        for other in attached:
            if other["mountpoint"] and devices.guest_device(other["mountpoint"]) == mountpoint:
                raise exception.DeviceInUse(mountpoint=device)
        volume = db.volume_update_if_status(ctxt, volume["id"], ("available",), {
            "status": "attaching", "instance_id": instance["id"], "mountpoint": device, "fault": None,
        }, "attach")
        compute_rpcapi.ComputeAPI().attach_volume(ctxt, instance["host"], instance["id"], volume["id"], mountpoint)
        return volume

    def detach(self, ctxt: Context, volume_id: Any, instance_id: Any = None, device: str | None = None,
               force: bool = False) -> Row:
        """Detach from its instance (the one and the device named, when named); ``force`` also frees a
        stuck attachment."""
        volume = self.get(ctxt, volume_id)
        if volume["instance_id"] is None:
            raise exception.VolumeNotAttached(volume_id=volume["id"], instance_id=instance_id or "any instance")
        if instance_id is not None and volume["instance_id"] != _int_id(instance_id, "instance"):
            raise exception.VolumeNotAttached(volume_id=volume["id"], instance_id=instance_id)
        if device and device != volume["mountpoint"]:
            raise exception.VolumeNotAttached(volume_id=volume["id"], instance_id=f"{volume['instance_id']} as {device}")
        try:
            instance = db.instance_get(ctxt.elevated(), volume["instance_id"])
        except exception.InstanceNotFound:
            instance = None
        if instance is not None and not force and instance["root_device_name"] == volume["mountpoint"]:
            raise exception.VolumeInvalidState(volume_id=volume["id"], status="the root device of its instance",
                                               action="detach")
        expected = ("in-use", "attaching", "detaching") if force else ("in-use",)
        volume = db.volume_update_if_status(ctxt, volume["id"], expected, {"status": "detaching"}, "detach")
        if instance is None or not instance["host"]:
            return db.volume_detached(ctxt.elevated(), volume["id"])  # nothing left to unplug it from
        compute_rpcapi.ComputeAPI().detach_volume(ctxt, instance["host"], instance["id"], volume["id"],
                                                  force=bool(force))
        return volume

    def reserve_for_instance(self, ctxt: Context, volume_id: Any, instance_id: int, device: str,
                             delete_on_termination: bool) -> Row:
        """An available volume set aside for an instance being launched (plugged in when it is built)."""
        volume = self.get(ctxt, volume_id)
        if volume["instance_id"] is not None:
            raise exception.VolumeInUse(volume_id=volume["id"], instance_id=volume["instance_id"], action="attach")
        return db.volume_update_if_status(ctxt, volume["id"], ("available",), {
            "instance_id": instance_id, "mountpoint": device, "delete_on_termination": bool(delete_on_termination),
        }, "attach")

    def set_delete_on_termination(self, ctxt: Context, instance_id: Any, changes: dict[str, bool],
                                  volume_ids: dict[str, Any] | None = None) -> list[Row]:
        """Whether each volume attached to the instance at a device of ``changes`` goes with it.

        A device is named as the volume shows it or as any name of the same
        guest device (``/dev/sdf`` for ``/dev/vdf``); one with no volume of
        the instance raises DeviceNotMapped, as does a ``volume_ids[device]``
        that is not the volume there.  Nothing changes unless every device matches.
        """
        instance = db.instance_get(ctxt, _int_id(instance_id, "instance"))
        attached = [v for v in db.volume_get_all_by_instance(ctxt.elevated(), instance["id"]) if v["mountpoint"]]
        root = instance["root_device_name"]

        def guest(device: str) -> str | None:
            try:
                return devices.guest_device(device, root)
            except exception.InvalidDevicePath:
                return None

        found = []
        for device, value in changes.items():
            matches = [v for v in attached if v["mountpoint"] == device] or [
                v for v in attached if guest(device) is not None and guest(v["mountpoint"]) == guest(device)]
            wanted = (volume_ids or {}).get(device)
            if not matches or (wanted is not None and matches[0]["id"] != _int_id(wanted)):
                raise exception.DeviceNotMapped(instance_id=instance["id"], device=device[:255])
            found.append((matches[0], bool(value)))
        return [db.volume_update(ctxt.elevated(), volume["id"], {"delete_on_termination": value})
                for volume, value in found]

    def reattach(self, ctxt: Context, volume_id: Any) -> Row:
        """Plug an in-use volume into its instance again (an operator's repair after a host lost it)."""
        volume = self.get(ctxt, volume_id)
        if volume["instance_id"] is None:
            raise exception.VolumeNotAttached(volume_id=volume["id"], instance_id="any instance")
        instance = db.instance_get(ctxt.elevated(), volume["instance_id"])
        if not instance["host"]:
            raise exception.InstanceInvalidState(instance_id=instance["id"], state=instance["vm_state"],
                                                 action="reattach a volume to")
        volume = db.volume_update_if_status(ctxt, volume["id"], ("in-use",), {"status": "attaching"}, "reattach")
        compute_rpcapi.ComputeAPI().attach_volume(ctxt, instance["host"], instance["id"], volume["id"],
                                                  devices.guest_device(volume["mountpoint"]), reattach=True)
        return volume

    # -- snapshots ------------------------------------------------------------

    def create_snapshot(self, ctxt: Context, volume_id: Any, name: str | None = None,
                        description: str | None = None, force: bool = True) -> Row:
        """A point-in-time copy of a volume (``creating``), made on the volume's host.

        An attached volume is copied only with ``force`` (EC2 always forces; the OpenStack API asks).
        """
        volume = self.get(ctxt, volume_id)
        if volume["instance_id"] is not None and not force:
            raise exception.VolumeInvalidState(volume_id=volume["id"], status=volume["status"],
                                               action="snapshot (without force)")
        if volume["status"] not in ("available", "in-use") or not volume["host"]:
            raise exception.VolumeInvalidState(volume_id=volume["id"], status=volume["status"],
                                               action="snapshot")
        snapshot = db.snapshot_create(ctxt, {
            "volume_id": volume["id"], "volume_size": volume["size"], "status": "creating", "progress": "0%",
            "host": volume["host"], "display_name": name, "display_description": description,
        })
        volume_rpcapi.VolumeAPI().create_snapshot(ctxt, volume["host"], volume["id"], snapshot["id"])
        return snapshot

    def delete_snapshot(self, ctxt: Context, snapshot_id: Any) -> None:
        snapshot = self.get_snapshot(ctxt, snapshot_id)
        if snapshot["status"] == "deleting":
            return
        snapshot = db.snapshot_update_if_status(ctxt, snapshot["id"], ("available", "error"),
                                                {"status": "deleting"}, "delete")
        if not snapshot["host"]:
            db.snapshot_destroy(ctxt, snapshot["id"])
            return
        volume_rpcapi.VolumeAPI().delete_snapshot(ctxt, snapshot["host"], snapshot["id"])


def _pick(rows: list[Row], ids: Iterable[Any] | None, not_found: Any, what: str) -> list[Row]:
    if ids is None:
        return rows
    wanted = [_int_id(v, what) for v in ids]
    by_id = {row["id"]: row for row in rows}
    for one in wanted:
        if one not in by_id:
            raise not_found(one)
    return [by_id[v] for v in dict.fromkeys(wanted)]


tag_api.register_taggable("volume", lambda ctxt, volume_id: API().get(ctxt, volume_id))
tag_api.register_taggable("snapshot", lambda ctxt, snapshot_id: API().get_snapshot(ctxt, snapshot_id))
