"""nova-volume's manager: the volumes and snapshots of one volume host.

It creates, exports (iSCSI, through the driver's tgt target), snapshots and
deletes volumes through the ``--volume_driver`` and records each outcome:
``available`` or ``error`` with the reason in ``fault``.  A compute host asks
it how to reach a volume (``initialize_connection``) when it attaches one.
After a restart ``init_host`` exports every volume of the host again (tgtd
may have restarted too) and settles what was caught half-way.
"""

from __future__ import annotations

import logging
from typing import Any

from nova import context as nova_context
from nova import exception, flags, manager, utils

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_string("volume_driver", "nova.volume.driver.FileDriver",
                    "Class that keeps volumes: nova.volume.driver.FileDriver (sparse files under --volumes_path) "
                    "or nova.volume.driver.LVMDriver (logical volumes of --volume_group)")
flags.DEFINE_integer("iscsi_num_targets", 100, "iSCSI target ids (tids 1..N, one per exported volume) a volume host hands out",
                     lower_bound=1)

Context = nova_context.RequestContext

# Statuses in which a volume exists on its host and is exported.
EXPORTED = ("available", "attaching", "in-use", "detaching")


class VolumeManager(manager.SchedulerDependentManager):
    """Creates, exports, snapshots and deletes volumes through a volume driver."""

    service_name = "volume"

    def __init__(self, host: str | None = None, db_driver: Any = None, volume_driver: Any = None) -> None:
        super().__init__(host=host, db_driver=db_driver)
        self.driver = volume_driver or utils.import_class(FLAGS.volume_driver)()

    def _fail_volume(self, ctxt: Context, volume_id: int, reason: str) -> None:
        LOG.error("Volume %s: %s", volume_id, reason)
        try:
            self.db.volume_update(ctxt.elevated(), volume_id, {"status": "error", "fault": reason[:1000]})
        except exception.NotFound:
            pass

    def _fail_snapshot(self, ctxt: Context, snapshot_id: int, reason: str) -> None:
        LOG.error("Snapshot %s: %s", snapshot_id, reason)
        try:
            self.db.snapshot_update(ctxt.elevated(), snapshot_id, {"status": "error", "fault": reason[:1000]})
        except exception.NotFound:
            pass

    # -- start-up -----------------------------------------------------------

    def init_host(self) -> None:
        """Check the driver's setup, export every volume of this host again and settle interrupted work."""
        self.driver.check_for_setup_error()
        ctxt = nova_context.get_admin_context()
        exported = 0
        for volume in self.db.volume_get_all_by_host(ctxt, self.host):
            try:
                if volume["status"] in EXPORTED:
                    self.driver.ensure_export(ctxt, volume, self._target(ctxt, volume))
                    exported += 1
                elif volume["status"] == "creating":
                    self._fail_volume(ctxt, volume["id"], f"nova-volume on {self.host} stopped while creating it")
                elif volume["status"] == "deleting":
                    LOG.info("Finishing the interrupted delete of volume %s", volume["id"])
                    self.delete_volume(ctxt, volume["id"])
            except Exception:
                LOG.exception("Could not restore volume %s", volume["id"])
        for snapshot in self.db.snapshot_get_all(ctxt):
            if snapshot["host"] == self.host and snapshot["status"] == "creating":
                self._fail_snapshot(ctxt, snapshot["id"], f"nova-volume on {self.host} stopped while making it")
        LOG.info("Volume host %s exports %d volume(s)", self.host, exported)

    def _target(self, ctxt: Context, volume: Any) -> int:
        return self.db.iscsi_target_allocate(ctxt.elevated(), self.host, volume["id"], FLAGS.iscsi_num_targets)

    # -- volumes ------------------------------------------------------------

    def create_volume(self, ctxt: Context, volume_id: int, snapshot_id: int | None = None) -> None:
        """Make the volume (empty, or from the snapshot) and export it; ``available`` or ``error``."""
        admin = ctxt.elevated()
        try:
            volume = self.db.volume_get(admin, volume_id)
        except exception.NotFound:
            LOG.info("Volume %s was deleted before it was created", volume_id)
            return
        if volume["status"] != "creating":
            LOG.info("Not creating volume %s: it is %s", volume_id, volume["status"])
            return
        volume = self.db.volume_update(admin, volume_id, {"host": self.host})
        try:
            if snapshot_id is not None:
                snapshot = self.db.snapshot_get(admin, snapshot_id)
                self.driver.create_volume_from_snapshot(volume, snapshot)
            else:
                self.driver.create_volume(volume)
        except Exception as exc:
            LOG.exception("Creating volume %s failed", volume_id)
            self._fail_volume(ctxt, volume_id, f"create failed on {self.host}: {exc}")
            return
        try:
            export = self.driver.create_export(admin, volume, self._target(ctxt, volume))
        except Exception as exc:
            LOG.exception("Exporting volume %s failed", volume_id)
            self._fail_volume(ctxt, volume_id, f"export failed on {self.host}: {exc}")
            return
        self.db.volume_update(admin, volume_id, {
            "status": "available", "launched_at": utils.utcnow(), "fault": None,
            "provider_location": export.get("provider_location"), "provider_auth": export.get("provider_auth"),
        })
        LOG.info("Volume %s (%s GiB) is available on %s", volume_id, volume["size"], self.host)

    def delete_volume(self, ctxt: Context, volume_id: int) -> None:
        """Remove the export and the data, then the row; an attached volume is refused."""
        admin = ctxt.elevated()
        try:
            volume = self.db.volume_get(admin, volume_id)
        except exception.NotFound:
            return
        if volume["instance_id"] is not None:
            LOG.warning("Not deleting volume %s: it is attached to instance %s", volume_id, volume["instance_id"])
            self.db.volume_update(admin, volume_id, {"status": "in-use"})
            return
        if volume["host"] != self.host:
            LOG.warning("Not deleting volume %s: it is kept by %s, not %s", volume_id, volume["host"], self.host)
            return
        try:
            self.driver.remove_export(admin, volume, self._target(ctxt, volume))
            self.driver.delete_volume(volume)
        except exception.VolumeIsBusy as exc:
            # The data is intact (LVM keeps a volume with snapshots): export it again, it stays usable.
            LOG.warning("Not deleting volume %s: %s", volume_id, exc)
            self.driver.ensure_export(admin, volume, self._target(ctxt, volume))
            self.db.volume_update(admin, volume_id, {"status": "available", "fault": str(exc)[:1000]})
            return
        except Exception as exc:
            LOG.exception("Deleting volume %s failed", volume_id)
            self._fail_volume(ctxt, volume_id, f"delete failed on {self.host}: {exc}")
            return
        self.db.volume_destroy(admin, volume_id)
        LOG.info("Volume %s deleted", volume_id)

    def initialize_connection(self, ctxt: Context, volume_id: int) -> dict[str, Any]:
        """How a compute host reaches the volume: the driver's connection info (the iSCSI target)."""
        volume = self.db.volume_get(ctxt.elevated(), volume_id)
        return self.driver.initialize_connection(volume)

    # -- snapshots ----------------------------------------------------------

    def create_snapshot(self, ctxt: Context, volume_id: int, snapshot_id: int) -> None:
        admin = ctxt.elevated()
        try:
            snapshot = self.db.snapshot_get(admin, snapshot_id)
            volume = self.db.volume_get(admin, volume_id)
        except exception.NotFound as exc:
            self._fail_snapshot(ctxt, snapshot_id, str(exc))
            return
        try:
            self.driver.create_snapshot(snapshot, volume)
        except Exception as exc:
            LOG.exception("Snapshot %s of volume %s failed", snapshot_id, volume_id)
            self._fail_snapshot(ctxt, snapshot_id, f"snapshot failed on {self.host}: {exc}")
            return
        self.db.snapshot_update(admin, snapshot_id, {"status": "available", "progress": "100%", "fault": None})
        LOG.info("Snapshot %s of volume %s is available", snapshot_id, volume_id)

    def delete_snapshot(self, ctxt: Context, snapshot_id: int) -> None:
        admin = ctxt.elevated()
        try:
            snapshot = self.db.snapshot_get(admin, snapshot_id)
        except exception.NotFound:
            return
        try:
            self.driver.delete_snapshot(snapshot)
        except Exception as exc:
            LOG.exception("Deleting snapshot %s failed", snapshot_id)
            self._fail_snapshot(ctxt, snapshot_id, f"delete failed on {self.host}: {exc}")
            return
        self.db.snapshot_destroy(admin, snapshot_id)
        LOG.info("Snapshot %s deleted", snapshot_id)

    # -- reports ------------------------------------------------------------

    def service_capabilities(self) -> dict[str, Any]:
        used = self.db.volume_usage_by_host(nova_context.get_admin_context(), [self.host]).get(self.host, {})
        return {"volume_gigabytes_used": used.get("gigabytes", 0), "volumes": used.get("volumes", 0)}
