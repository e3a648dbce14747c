"""LVMDriver's exact command lines, with device-mapper (mapper) and without (loop_offset)."""

from __future__ import annotations

import pytest

from nova import exception, flags
from nova.volume import driver
from tests.unit.volume.recording import FakeTgtd, RecordingExecutor, failure

FLAGS = flags.FLAGS
NO_ACTIVATION = "--config 'global {activation=0}'"
PE_START, EXTENT = 1048576, 4194304


def volume(vid: int, size: int = 1) -> dict:
    return {"id": vid, "name": "volume-%08x" % vid, "size": size}


def snapshot(sid: int, volume_id: int, volume_size: int = 1) -> dict:
    return {"id": sid, "name": "snapshot-%08x" % sid, "volume_id": volume_id, "volume_size": volume_size}


class LVM:
    """Plays lvs/vgs/pvs/losetup for a set of LVs: name -> (pv, first extent, size in GiB)."""

    def __init__(self, recorder: RecordingExecutor) -> None:
        self.lvs: dict[str, tuple[str, int, int]] = {}
        self.origins: dict[str, str] = {}
        self.loops: dict[str, tuple[int, int]] = {}
        recorder.on("vgs --noheadings -o name", "  nova-volumes\n  other-vg\n")
        recorder.on("lvs --noheadings -o lv_name,origin", self._origins)
        recorder.on("lvs --noheadings -o lv_name ", self._lv_name)
        recorder.on("lvs --noheadings --units b --nosuffix -o seg_pe_ranges,lv_size", self._segments)
        recorder.on("pvs --noheadings --units b --nosuffix -o pe_start", f"  {PE_START}\n")
        recorder.on("vgs --noheadings --units b --nosuffix -o vg_extent_size", f"  {EXTENT}\n")
        recorder.on("losetup --list", self._list_loops)
        recorder.on("losetup --find", self._attach)

    def _origins(self, argv) -> str:
        return "".join(f"  {lv} {self.origins.get(lv, '')}\n" for lv in self.lvs)

    def _lv_name(self, argv) -> str:
        lv = argv[-1].split("/")[1]
        if lv not in self.lvs:
            raise failure("lvs", 5, f'Failed to find logical volume "{argv[-1]}"')
        return f"  {lv}\n"

    def _segments(self, argv) -> str:
        pv, first, size = self.lvs[argv[-1].split("/")[1]]
        extents = size * 1024 ** 3 // EXTENT
        return f"  {pv}:{first}-{first + extents - 1} {size * 1024 ** 3}\n"

    def _list_loops(self, argv) -> str:
        return "".join(f"{dev} {offset} {size}\n" for dev, (offset, size) in self.loops.items())

    def _attach(self, argv) -> str:
        dev = f"/dev/loop{10 + len(self.loops)}"
        self.loops[dev] = (int(argv[argv.index("--offset") + 1]), int(argv[argv.index("--sizelimit") + 1]))
        return dev + "\n"


@pytest.fixture
def recorder():
    return RecordingExecutor()


@pytest.fixture
def lvm(recorder):
    return LVM(recorder)


@pytest.fixture
def drv(recorder):
    return driver.LVMDriver(execute=recorder)


def test_setup_check_lists_the_volume_group(drv, recorder, lvm):
    drv.check_for_setup_error()
    assert recorder.commands == ["vgs --noheadings -o name nova-volumes"]
    assert recorder.kwargs[0]["env"]["LVM_SUPPRESS_FD_WARNINGS"] == "1"
    assert recorder.kwargs[0]["run_as_root"] is True


def test_a_missing_volume_group_names_the_flag(drv, lvm):
    FLAGS.volume_group = "nova-volumes-2"
    with pytest.raises(exception.VolumeDriverError, match="nova-volumes-2 does not exist.*--volume_group"):
        drv.check_for_setup_error()


def test_create_volume_is_one_lvcreate_and_its_device_is_the_mapper_node(drv, recorder):
    drv.create_volume(volume(10, size=2))
    assert recorder.commands == ["lvcreate -L 2G -n volume-0000000a nova-volumes"]
    assert drv.local_path(volume(10)) == "/dev/mapper/nova--volumes-volume--0000000a"


def test_delete_volume_zeroes_it_then_removes_it(drv, recorder, lvm):
    lvm.lvs["volume-0000000a"] = ("/dev/sdb", 0, 2)
    drv.delete_volume(volume(10, size=2))
    assert recorder.commands == [
        "lvs --noheadings -o lv_name nova-volumes/volume-0000000a",
        "lvs --noheadings -o lv_name,origin nova-volumes",
        "dd if=/dev/zero of=/dev/mapper/nova--volumes-volume--0000000a bs=1M count=2048 oflag=direct",
        "lvremove -f nova-volumes/volume-0000000a",
    ]


def test_volume_clear_size_limits_the_zeroing(drv, recorder, lvm):
    FLAGS.volume_clear_size = 4
    lvm.lvs["volume-0000000a"] = ("/dev/sdb", 0, 2)
    drv.delete_volume(volume(10, size=2))
    assert "dd if=/dev/zero of=/dev/mapper/nova--volumes-volume--0000000a bs=1M count=4 oflag=direct" \
        in recorder.commands


def test_deleting_a_missing_volume_runs_neither_dd_nor_lvremove(drv, recorder, lvm):
    drv.delete_volume(volume(10))
    assert recorder.matching("dd") == [] and recorder.matching("lvremove") == []


def test_a_volume_with_snapshots_is_busy(drv, recorder, lvm):
    lvm.lvs.update({"volume-0000000a": ("/dev/sdb", 0, 1), "_snapshot-00000003": ("/dev/sdb", 256, 1)})
    lvm.origins["_snapshot-00000003"] = "volume-0000000a"
    with pytest.raises(exception.VolumeIsBusy, match="_snapshot-00000003"):
        drv.delete_volume(volume(10))
    assert recorder.matching("dd") == [] and recorder.matching("lvremove") == []


def test_snapshots_are_lvm_snapshots_named_so_lvm_accepts_them(drv, recorder, lvm):
    drv.create_snapshot(snapshot(3, 10, volume_size=2), volume(10, size=2))
    assert recorder.commands == ["lvcreate -L 2G --name _snapshot-00000003 --snapshot nova-volumes/volume-0000000a"]
    recorder.commands.clear()
    lvm.lvs["_snapshot-00000003"] = ("/dev/sdb", 512, 2)
    drv.delete_snapshot(snapshot(3, 10, volume_size=2))
    assert recorder.commands[1:] == [
        "dd if=/dev/zero of=/dev/mapper/nova--volumes-_snapshot--00000003-cow bs=1M count=2048 oflag=direct",
        "lvremove -f nova-volumes/_snapshot-00000003",
    ]


def test_a_volume_from_a_snapshot_is_a_new_lv_with_the_snapshot_copied_in(drv, recorder):
    drv.create_volume_from_snapshot(volume(11, size=3), snapshot(3, 10, volume_size=2))
    assert recorder.commands == [
        "lvcreate -L 3G -n volume-0000000b nova-volumes",
        "dd if=/dev/mapper/nova--volumes-_snapshot--00000003 of=/dev/mapper/nova--volumes-volume--0000000b "
        "bs=1M count=2048 oflag=direct",
    ]


def test_a_volume_smaller_than_its_snapshot_is_refused(drv, recorder):
    with pytest.raises(exception.VolumeDriverError, match="smaller"):
        drv.create_volume_from_snapshot(volume(11, size=1), snapshot(3, 10, volume_size=2))
    assert recorder.commands == []


def test_the_export_serves_the_logical_volume(drv, recorder):
    recorder.on("tgtadm", FakeTgtd())
    drv.create_export(None, volume(10), 1)
    assert ("tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 "
            "-b /dev/mapper/nova--volumes-volume--0000000a") in recorder.commands


# -- --lvm_device=loop_offset ------------------------------------------------------------------------------------


@pytest.fixture
def loop_drv(recorder, lvm):
    FLAGS.lvm_device = "loop_offset"
    return driver.LVMDriver(execute=recorder)


def test_loop_offset_creates_metadata_only_and_attaches_a_loop_device_at_the_extents(loop_drv, recorder, lvm):
    recorder.on("lvcreate", lambda argv: lvm.lvs.setdefault("volume-0000000a", ("/dev/loop3", 256, 1)) and "")
    loop_drv.create_volume(volume(10))
    offset = PE_START + 256 * EXTENT
    assert recorder.commands == [
        f"lvcreate {NO_ACTIVATION} -an -Zn --alloc contiguous -L 1G -n volume-0000000a nova-volumes",
        "lvs --noheadings --units b --nosuffix -o seg_pe_ranges,lv_size nova-volumes/volume-0000000a",
        "pvs --noheadings --units b --nosuffix -o pe_start /dev/loop3",
        "vgs --noheadings --units b --nosuffix -o vg_extent_size nova-volumes",
        "losetup --list --noheadings --raw -O NAME,OFFSET,SIZELIMIT -j /dev/loop3",
        f"losetup --find --show --offset {offset} --sizelimit {1024 ** 3} /dev/loop3",
    ]
    assert loop_drv.local_path(volume(10)) == "/dev/loop10"
    assert len(recorder.matching("losetup")) == 3, "the attached device is found again, not attached twice"


def test_loop_offset_reattaches_a_lost_loop_device(loop_drv, recorder, lvm):
    lvm.lvs["volume-0000000a"] = ("/dev/loop3", 0, 1)
    lvm.loops["/dev/loop10"] = (PE_START + 0, 1024 ** 3)
    assert loop_drv.local_path(volume(10)) == "/dev/loop10"
    lvm.loops.clear()
    assert loop_drv.local_path(volume(10)) == "/dev/loop10"
    assert lvm.loops == {"/dev/loop10": (PE_START, 1024 ** 3)}


def test_loop_offset_refuses_an_lv_in_pieces(loop_drv, recorder, lvm):
    recorder.on("lvs --noheadings --units b", "  /dev/loop3:0-9 1073741824\n  /dev/loop3:20-265 1073741824\n")
    with pytest.raises(exception.VolumeDriverError, match="contiguous"):
        loop_drv.local_path(volume(10))


def test_loop_offset_delete_zeroes_through_the_loop_device_then_detaches_and_removes(loop_drv, recorder, lvm):
    lvm.lvs["volume-0000000a"] = ("/dev/loop3", 0, 1)
    lvm.loops["/dev/loop10"] = (PE_START, 1024 ** 3)
    loop_drv.delete_volume(volume(10))
    assert [c for c in recorder.commands if c.split()[0] in ("dd", "lvremove") or c.startswith("losetup -d")] == [
        "dd if=/dev/zero of=/dev/loop10 bs=1M count=1024 oflag=direct",
        "losetup -d /dev/loop10",
        f"lvremove {NO_ACTIVATION} -f nova-volumes/volume-0000000a",
    ]


def test_loop_offset_snapshots_are_full_copies(loop_drv, recorder, lvm):
    lvm.lvs["volume-0000000a"] = ("/dev/loop3", 0, 1)
    recorder.on("lvcreate", lambda argv: lvm.lvs.setdefault("_snapshot-00000003", ("/dev/loop3", 256, 1)) and "")
    loop_drv.create_snapshot(snapshot(3, 10), volume(10))
    assert recorder.matching("lvcreate") == [
        f"lvcreate {NO_ACTIVATION} -an -Zn --alloc contiguous -L 1G -n _snapshot-00000003 nova-volumes"]
    assert recorder.matching("dd") == ["dd if=/dev/loop10 of=/dev/loop11 bs=1M count=1024 oflag=direct"]
    assert lvm.loops["/dev/loop11"] == (PE_START + 256 * EXTENT, 1024 ** 3)
