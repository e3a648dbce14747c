"""Volume drivers: where nova-volume keeps volumes and how it exports them.

Every driver exports a volume's ``local_path`` over iSCSI through tgt
(``nova.volume.tgt``); they differ in what that path is:

- ``FileDriver`` (the default): a sparse raw file ``<--volumes_path>/volume-%08x``.
- ``LVMDriver``: a logical volume in ``--volume_group``, as in the first Nova.
- ``FakeDriver``: nothing at all, for unit tests of the manager.

All commands go through the injected executor (``nova.utils.execute`` by
default), those that need root with ``run_as_root=True``.  ``volume`` and
``snapshot`` are mappings (database rows or dicts): a volume has ``id``,
``name`` (``volume-%08x``), ``size`` (GiB) and, once exported,
``provider_location`` and ``provider_auth``; a snapshot has ``id``, ``name``
and ``volume_size``.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Mapping

from nova import exception, flags, utils
from nova.volume import tgt

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_string("volumes_path", "$state_path/volumes", "Directory of FileDriver's volume and snapshot files")
flags.DEFINE_string("volume_group", "nova-volumes", "LVM volume group LVMDriver makes its logical volumes in")
flags.DEFINE_enum("lvm_device", "mapper", ["mapper", "loop_offset"],
                  "How LVMDriver reaches a logical volume's blocks: mapper (the device-mapper node "
                  "/dev/mapper/<vg>-<lv>) or loop_offset (LVM metadata only, no activation; a loop device over the "
                  "LV's extents on its physical volume, for hosts without device-mapper)")
flags.DEFINE_integer("volume_clear_size", 0,
                     "MiB LVMDriver overwrites with zeros at the start of a volume or snapshot it deletes; 0 for all "
                     "of it", lower_bound=0)

Execute = Callable[..., "tuple[str, str]"]
Volume = Mapping[str, Any]
Snapshot = Mapping[str, Any]
GIB = 1024 ** 3


def parse_auth(provider_auth: str | None) -> tuple[str, str] | None:
    """(user, secret) from a volume's ``provider_auth`` ("CHAP <user> <secret>"), or None."""
    if not provider_auth:
        return None
    method, user, secret = provider_auth.split()
    if method != "CHAP":
        raise exception.VolumeDriverError(reason=f"unknown iSCSI auth method {method!r} in provider_auth")
    return user, secret


def _check_grow(volume: Volume, snapshot: Snapshot) -> None:
    if int(volume["size"]) < int(snapshot["volume_size"]):
        raise exception.VolumeDriverError(
            reason=f"{volume['name']} ({volume['size']} GiB) is smaller than {snapshot['name']} "
                   f"({snapshot['volume_size']} GiB)")


class VolumeDriver:
    """The iSCSI export every driver shares; storage is the subclasses' part."""

    def __init__(self, execute: Execute | None = None) -> None:
        self._execute = execute or utils.execute
        self.tgtadm = tgt.TgtAdm(self._execute)

    # -- storage (subclasses) ----------------------------------------------------------------------------------

    def check_for_setup_error(self) -> None:
        """Raise VolumeDriverError, naming the flag to set, when this host cannot hold volumes."""
        raise NotImplementedError

    def create_volume(self, volume: Volume) -> None:
        raise NotImplementedError

    def create_volume_from_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        raise NotImplementedError

    def delete_volume(self, volume: Volume) -> None:
        raise NotImplementedError

    def create_snapshot(self, snapshot: Snapshot, volume: Volume) -> None:
        raise NotImplementedError

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        raise NotImplementedError

    def local_path(self, volume: Volume) -> str:
        raise NotImplementedError

    # -- iSCSI export through tgt ------------------------------------------------------------------------------

    @staticmethod
    def iqn(volume: Volume) -> str:
        return FLAGS.iscsi_target_prefix + volume["name"]

    def create_export(self, ctxt: Any, volume: Volume, target_num: int) -> dict:
        """Export the volume as target ``target_num``, LUN 1; a new CHAP user and secret with --iscsi_use_chap."""
        chap = tgt.generate_chap() if FLAGS.iscsi_use_chap else None
        iqn = self.iqn(volume)
        self.tgtadm.ensure(target_num, iqn, self.local_path(volume), chap)
        return {"provider_location": f"{FLAGS.iscsi_ip_address}:{FLAGS.iscsi_port},{target_num} {iqn} 1",
                "provider_auth": f"CHAP {chap[0]} {chap[1]}" if chap else None}

    def ensure_export(self, ctxt: Any, volume: Volume, target_num: int) -> None:
        """Recreate whatever tgtd lost of the export (all of it after a restart), with the volume's own CHAP."""
        chap = parse_auth(volume.get("provider_auth"))
        self.tgtadm.ensure(target_num, self.iqn(volume), self.local_path(volume), chap)

    def remove_export(self, ctxt: Any, volume: Volume, target_num: int) -> None:
        self.tgtadm.remove(target_num, self.iqn(volume))

    def initialize_connection(self, volume: Volume) -> dict:
        """The connection info a compute host needs, from the volume's provider_location and provider_auth."""
        location = volume.get("provider_location")
        if not location:
            raise exception.VolumeDriverError(reason=f"{volume['name']} is not exported (no provider_location)")
        portal_and_tid, iqn, lun = location.split()
        chap = parse_auth(volume.get("provider_auth"))
        return {"driver_volume_type": "iscsi",
                "data": {"target_portal": portal_and_tid.split(",")[0], "target_iqn": iqn, "target_lun": int(lun),
                         "volume_id": volume["id"],
                         "auth_method": "CHAP" if chap else None,
                         "auth_username": chap[0] if chap else None,
                         "auth_password": chap[1] if chap else None}}


class FileDriver(VolumeDriver):
    """Volumes and snapshots as sparse raw files in --volumes_path.

    A volume is ``truncate``-d to its size, so it takes no space until
    written; a snapshot is a sparse copy (``cp --sparse=always``); a volume
    from a snapshot is such a copy grown to its size.  Deleting drops the
    file: its blocks go back to the file system, and every new volume is a
    fresh sparse file that reads as zeros, so no later volume can see the
    old data (nothing is overwritten first; a sparse file has little to
    overwrite, and writing zeros would only allocate it in full).
    The files belong to the nova-volume user, so no command here needs root.
    """

    def _path(self, name: str) -> str:
        return os.path.join(FLAGS.volumes_path, name)

    def local_path(self, volume: Volume) -> str:
        return self._path(volume["name"])

    def check_for_setup_error(self) -> None:
        try:
            os.makedirs(FLAGS.volumes_path, exist_ok=True)
        except OSError as exc:
            raise exception.VolumeDriverError(
                reason=f"cannot create the volumes directory {FLAGS.volumes_path} ({exc.strerror}): "
                       f"set --volumes_path to a writable directory") from None
        if not os.access(FLAGS.volumes_path, os.W_OK | os.X_OK):
            raise exception.VolumeDriverError(
                reason=f"{FLAGS.volumes_path} is not writable: set --volumes_path to a writable directory")

    def _create_sparse(self, path: str, size_gb: int) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, int(size_gb) * GIB)
        finally:
            os.close(fd)

    def _copy_sparse(self, source: str, dest: str) -> None:
        if not os.path.exists(source):
            raise exception.VolumeDriverError(reason=f"{source} does not exist")
        self._execute("cp", "--sparse=always", source, dest)
        os.chmod(dest, 0o600)

    def create_volume(self, volume: Volume) -> None:
        LOG.info("Creating %s (%s GiB) as a sparse file", volume["name"], volume["size"])
        self._create_sparse(self.local_path(volume), volume["size"])

    def create_volume_from_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        _check_grow(volume, snapshot)
        path = self.local_path(volume)
        self._copy_sparse(self._path(snapshot["name"]), path)
        os.truncate(path, int(volume["size"]) * GIB)

    def create_snapshot(self, snapshot: Snapshot, volume: Volume) -> None:
        self._copy_sparse(self.local_path(volume), self._path(snapshot["name"]))

    def _remove(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def delete_volume(self, volume: Volume) -> None:
        self._remove(self.local_path(volume))

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        self._remove(self._path(snapshot["name"]))


def _dm_name(name: str) -> str:
    """A VG or LV name as device-mapper spells it in /dev/mapper (dashes doubled)."""
    return name.replace("-", "--")


def snapshot_lv_name(snapshot: Snapshot) -> str:
    """LVM reserves LV names that start with "snapshot": such a snapshot's LV is ``_snapshot-%08x``."""
    name = snapshot["name"]
    return "_" + name if name.startswith("snapshot") else name


class LVMDriver(VolumeDriver):
    """Volumes as logical volumes of --volume_group, with the first Nova's commands.

    ``--lvm_device=mapper`` uses LVM as usual: ``lvcreate`` activates the LV,
    whose device is ``/dev/mapper/<vg>-<lv>``, and a snapshot is an LVM
    snapshot.  ``--lvm_device=loop_offset`` is for hosts without
    device-mapper: LVM only keeps the metadata (activation off, ``-an -Zn``,
    contiguous allocation so each LV is one run of extents), and the LV's
    device is a loop device over its extents on the physical volume
    (``losetup --offset pe_start+first_pe*extent_size --sizelimit size``).
    There is no state file: local_path recomputes the offset from LVM's
    metadata and looks for a loop device with that offset and size on the
    PV (``losetup -j``), so a restarted nova-volume finds its devices and a
    rebooted host gets them back.  A snapshot there is a full copy in an LV
    of its own, since a copy-on-write snapshot needs device-mapper.
    """

    # -- lvm commands ------------------------------------------------------------------------------------------

    @property
    def _loop(self) -> bool:
        return FLAGS.lvm_device == "loop_offset"

    def _lvm(self, *cmd: str | int, check_exit_code: bool | list[int] = True) -> str:
        env = dict(os.environ, LVM_SUPPRESS_FD_WARNINGS="1")
        return self._execute(*[str(c) for c in cmd], run_as_root=True, check_exit_code=check_exit_code, env=env)[0]

    def _no_activation(self) -> list[str]:
        return ["--config", "global {activation=0}"] if self._loop else []

    def _lvcreate(self, lv: str, size_gb: int, snapshot_of: str | None = None) -> None:
        size = f"{int(size_gb)}G"
        vg = FLAGS.volume_group
        if self._loop:
            self._lvm("lvcreate", *self._no_activation(), "-an", "-Zn", "--alloc", "contiguous", "-L", size, "-n", lv,
                      vg)
        elif snapshot_of:
            self._lvm("lvcreate", "-L", size, "--name", lv, "--snapshot", f"{vg}/{snapshot_of}")
        else:
            self._lvm("lvcreate", "-L", size, "-n", lv, vg)

    def _lv_exists(self, lv: str) -> bool:
        out = self._lvm("lvs", "--noheadings", "-o", "lv_name", f"{FLAGS.volume_group}/{lv}", check_exit_code=[0, 5])
        return bool(out.strip())

    def _lv_path(self, lv: str) -> str:
        if self._loop:
            return self._loop_device(lv)
        return f"/dev/mapper/{_dm_name(FLAGS.volume_group)}-{_dm_name(lv)}"

    def _copy(self, source: str, dest: str, size_gb: int) -> None:
        self._execute("dd", f"if={source}", f"of={dest}", "bs=1M", f"count={int(size_gb) * 1024}", "oflag=direct",
                      run_as_root=True)

    def _wipe_and_remove(self, lv: str, size_gb: int, wipe_path: str | None = None) -> None:
        path = wipe_path or self._lv_path(lv)
        count = int(size_gb) * 1024
        if FLAGS.volume_clear_size:
            count = min(count, FLAGS.volume_clear_size)
        self._execute("dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={count}", "oflag=direct", run_as_root=True)
        if self._loop:
            self._execute("losetup", "-d", path, run_as_root=True)
        self._lvm("lvremove", *self._no_activation(), "-f", f"{FLAGS.volume_group}/{lv}")

    # -- loop_offset devices -----------------------------------------------------------------------------------

    def _loop_device(self, lv: str) -> str:
        """The loop device over ``lv``'s extents; attached now when there is none (see the class docstring)."""
        vg = FLAGS.volume_group
        rows = [line.split() for line in self._lvm("lvs", "--noheadings", "--units", "b", "--nosuffix", "-o",
                                                   "seg_pe_ranges,lv_size", f"{vg}/{lv}").splitlines() if line.strip()]
        if len(rows) != 1 or len(rows[0]) != 2 or ":" not in rows[0][0]:
            raise exception.VolumeDriverError(
                reason=f"{vg}/{lv} is not one contiguous run of extents ({rows}): --lvm_device=loop_offset "
                       f"cannot map it")
        pv, extents = rows[0][0].rsplit(":", 1)
        first = int(extents.split("-")[0])
        size = int(rows[0][1])
        pe_start = int(self._lvm("pvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start", pv).strip())
        extent = int(self._lvm("vgs", "--noheadings", "--units", "b", "--nosuffix", "-o", "vg_extent_size",
                               vg).strip())
        offset = pe_start + first * extent
        attached = self._execute("losetup", "--list", "--noheadings", "--raw", "-O", "NAME,OFFSET,SIZELIMIT",
                                 "-j", pv, run_as_root=True)[0]
        for line in attached.splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[1:] == [str(offset), str(size)]:
                return fields[0]
        device = self._execute("losetup", "--find", "--show", "--offset", str(offset), "--sizelimit", str(size), pv,
                               run_as_root=True)[0].strip()
        LOG.info("%s/%s is %s (offset %s of %s)", vg, lv, device, offset, pv)
        return device

    # -- the driver --------------------------------------------------------------------------------------------

    def check_for_setup_error(self) -> None:
        vg = FLAGS.volume_group
        try:
            out = self._lvm("vgs", "--noheadings", "-o", "name", vg, check_exit_code=[0, 5])
        except exception.ProcessExecutionError as exc:
            raise exception.VolumeDriverError(
                reason=f"cannot list LVM volume groups ({exc.stderr.strip()}): install lvm2 or set --root_helper"
            ) from None
        if vg not in out.split():
            raise exception.VolumeDriverError(
                reason=f"LVM volume group {vg} does not exist: create it (vgcreate {vg} <device>) or set "
                       f"--volume_group to an existing one")

    def local_path(self, volume: Volume) -> str:
        return self._lv_path(volume["name"])

    def create_volume(self, volume: Volume) -> None:
        LOG.info("Creating %s/%s (%s GiB)", FLAGS.volume_group, volume["name"], volume["size"])
        self._lvcreate(volume["name"], volume["size"])
        if self._loop:
            self._loop_device(volume["name"])

    def create_volume_from_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        _check_grow(volume, snapshot)
        self.create_volume(volume)
        self._copy(self._lv_path(snapshot_lv_name(snapshot)), self.local_path(volume), snapshot["volume_size"])

    def delete_volume(self, volume: Volume) -> None:
        name = volume["name"]
        if not self._lv_exists(name):
            LOG.info("%s/%s is already gone", FLAGS.volume_group, name)
            return
        if not self._loop:
            lines = self._lvm("lvs", "--noheadings", "-o", "lv_name,origin", FLAGS.volume_group).splitlines()
            snapshots = [fields[0] for fields in map(str.split, lines) if len(fields) == 2 and fields[1] == name]
            if snapshots:
                raise exception.VolumeIsBusy(volume_name=name, reason=f"it has snapshots {', '.join(snapshots)}")
        self._wipe_and_remove(name, volume["size"])

    def create_snapshot(self, snapshot: Snapshot, volume: Volume) -> None:
        lv = snapshot_lv_name(snapshot)
        size = snapshot.get("volume_size") or volume["size"]
        if self._loop:
            self._lvcreate(lv, size)
            self._copy(self.local_path(volume), self._loop_device(lv), size)
        else:
            self._lvcreate(lv, size, snapshot_of=volume["name"])

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        lv = snapshot_lv_name(snapshot)
        if not self._lv_exists(lv):
            LOG.info("%s/%s is already gone", FLAGS.volume_group, lv)
            return
        # An LVM snapshot keeps the origin's old blocks in its copy-on-write store: that is what gets zeroed.
        cow = None if self._loop else f"/dev/mapper/{_dm_name(FLAGS.volume_group)}-{_dm_name(lv)}-cow"
        self._wipe_and_remove(lv, snapshot["volume_size"], cow)


class FakeDriver(VolumeDriver):
    """Runs nothing: volumes, snapshots and exports live in this object (manager unit tests)."""

    def __init__(self, execute: Execute | None = None) -> None:
        super().__init__(execute or (lambda *cmd, **kwargs: ("", "")))
        self.volumes: dict[str, int] = {}
        self.snapshots: dict[str, int] = {}
        self.exports: dict[int, str] = {}

    def check_for_setup_error(self) -> None:
        pass

    def local_path(self, volume: Volume) -> str:
        return f"/dev/fake/{volume['name']}"

    def create_volume(self, volume: Volume) -> None:
        self.volumes[volume["name"]] = int(volume["size"])

    def create_volume_from_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        _check_grow(volume, snapshot)
        if snapshot["name"] not in self.snapshots:
            raise exception.VolumeDriverError(reason=f"{snapshot['name']} does not exist")
        self.create_volume(volume)

    def delete_volume(self, volume: Volume) -> None:
        self.volumes.pop(volume["name"], None)

    def create_snapshot(self, snapshot: Snapshot, volume: Volume) -> None:
        self.snapshots[snapshot["name"]] = int(snapshot.get("volume_size") or volume["size"])

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshots.pop(snapshot["name"], None)

    def create_export(self, ctxt: Any, volume: Volume, target_num: int) -> dict:
        self.exports[target_num] = self.iqn(volume)
        auth = "CHAP fakeuser fakesecret" if FLAGS.iscsi_use_chap else None
        return {"provider_location": f"{FLAGS.iscsi_ip_address}:{FLAGS.iscsi_port},{target_num} "
                                     f"{self.iqn(volume)} 1",
                "provider_auth": auth}

    def ensure_export(self, ctxt: Any, volume: Volume, target_num: int) -> None:
        self.exports[target_num] = self.iqn(volume)

    def remove_export(self, ctxt: Any, volume: Volume, target_num: int) -> None:
        self.exports.pop(target_num, None)
