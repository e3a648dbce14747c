"""LVMDriver with --lvm_device=loop_offset on a real volume group.

The volume group lives on a loop device over a sparse file of the test's
own, and is named ``nova-test-<pid>-<random>`` so no other VG is touched.
LVM keeps only metadata here (no device-mapper); the driver reaches each LV
through a loop device at the LV's offset on the PV, and the test checks
that bytes written there land at that offset of the backing file.
"""

from __future__ import annotations

import os
import uuid

import pytest

from nova import flags
from nova.volume import driver
from tests.integration.volume.tools import require, run

FLAGS = flags.FLAGS
GIB = 1024 ** 3
NO_ACTIVATION = "--config=global {activation=0}"


def _loops_on(device: str) -> list[str]:
    out = run("losetup", "--list", "--noheadings", "--raw", "-O", "NAME", "-j", device).stdout
    return out.split()


@pytest.fixture
def volume_group(tmp_path):
    """A VG on a 3 GiB sparse file; everything made on it is removed afterwards."""
    require("losetup", "pvcreate", "vgcreate", "lvcreate", "lvs", "dd")
    backing = tmp_path / "pv.img"
    with open(backing, "wb") as handle:
        handle.truncate(3 * GIB)
    pv = run("losetup", "--find", "--show", str(backing)).stdout.strip()
    vg = f"nova-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        run("pvcreate", pv)
        run("vgcreate", vg, pv)
        yield vg, pv, str(backing)
    finally:
        for loop in _loops_on(pv):
            run("losetup", "-d", loop, check=False)
        run("vgremove", NO_ACTIVATION, "-f", vg, check=False)
        run("pvremove", "-f", pv, check=False)
        run("losetup", "-d", pv, check=False)


def _number(*cmd: str) -> int:
    return int(run(*cmd).stdout.strip())


def test_loop_offset_volumes_are_their_extents_of_the_physical_volume(volume_group):
    vg, pv, backing = volume_group
    FLAGS.volume_group = vg
    FLAGS.lvm_device = "loop_offset"
    FLAGS.volume_clear_size = 1  # MiB: the full 1 GiB wipe takes seconds through two loop devices
    drv = driver.LVMDriver()
    drv.check_for_setup_error()
    first, second = {"id": 1, "name": "volume-00000001", "size": 1}, {"id": 2, "name": "volume-00000002", "size": 1}
    drv.create_volume(first)
    drv.create_volume(second)

    device = drv.local_path(second)
    assert device.startswith("/dev/loop") and device in _loops_on(pv)
    assert _number("blockdev", "--getsize64", device) == GIB
    marker = b"nova loop_offset volume-00000002"
    fd = os.open(device, os.O_WRONLY)
    try:
        os.pwrite(fd, marker, 4096)
        os.fsync(fd)
    finally:
        os.close(fd)

    # Contiguous allocation puts the second 1 GiB volume right after the first one's extents.
    pe_start = _number("pvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start", pv)
    run("blockdev", "--flushbufs", pv)
    with open(backing, "rb") as handle:
        handle.seek(pe_start + GIB + 4096)
        assert handle.read(len(marker)) == marker
        handle.seek(pe_start + 4096)
        assert handle.read(len(marker)) == bytes(len(marker)), "the first volume's blocks are untouched"

    assert driver.LVMDriver().local_path(second) == device, "a restarted driver finds the same loop device"

    drv.delete_volume(second)
    assert run("lvs", "--noheadings", "-o", "lv_name", vg).stdout.split() == ["volume-00000001"]
    assert device not in _loops_on(pv)
    run("blockdev", "--flushbufs", pv)
    with open(backing, "rb") as handle:
        handle.seek(pe_start + GIB + 4096)
        assert handle.read(len(marker)) == bytes(len(marker)), "deleting wiped the volume's first MiB"
    drv.delete_volume(second)
