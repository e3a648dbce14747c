"""FileDriver against a temporary directory, and FakeDriver."""

from __future__ import annotations

import os
import stat

import pytest

from nova import exception, flags
from nova.volume import driver
from tests.unit.volume.recording import RecordingExecutor

FLAGS = flags.FLAGS
GIB = 1024 ** 3


def volume(vid: int, size: int = 1, **extra) -> dict:
    return {"id": vid, "name": "volume-%08x" % vid, "size": size, **extra}


def snapshot(sid: int, volume_id: int, volume_size: int = 1) -> dict:
    return {"id": sid, "name": "snapshot-%08x" % sid, "volume_id": volume_id, "volume_size": volume_size}


@pytest.fixture
def files(tmp_path):
    FLAGS.volumes_path = str(tmp_path / "volumes")
    drv = driver.FileDriver()
    drv.check_for_setup_error()
    return drv


def _allocated(path: str) -> int:
    return os.stat(path).st_blocks * 512


def _write(path: str, offset: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def _read(path: str, offset: int, length: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(length)


def test_file_volumes_are_sparse_files_of_their_size_in_volumes_path(files, tmp_path):
    vol = volume(10, size=2)
    files.create_volume(vol)
    path = files.local_path(vol)
    assert path == str(tmp_path / "volumes" / "volume-0000000a")
    assert os.path.getsize(path) == 2 * GIB
    assert _allocated(path) < 1024 * 1024
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert _read(path, GIB, 16) == bytes(16)


def test_a_snapshot_keeps_the_data_of_its_moment_and_a_volume_made_from_it_is_grown(files):
    vol = volume(1)
    files.create_volume(vol)
    path = files.local_path(vol)
    _write(path, 0, b"first block data")
    _write(path, GIB - 16, b"last bytes here!")
    snap = snapshot(3, 1, volume_size=1)
    files.create_snapshot(snap, vol)
    _write(path, 0, b"changed later...")

    copy = volume(2, size=3)
    files.create_volume_from_snapshot(copy, snap)
    copy_path = files.local_path(copy)
    assert os.path.getsize(copy_path) == 3 * GIB
    assert _read(copy_path, 0, 16) == b"first block data"
    assert _read(copy_path, GIB - 16, 16) == b"last bytes here!"
    assert _read(copy_path, 2 * GIB, 16) == bytes(16)
    assert _allocated(copy_path) < 1024 * 1024, "the copy of a sparse volume stays sparse"
    assert _read(path, 0, 16) == b"changed later..."


def test_a_volume_smaller_than_its_snapshot_is_refused(files):
    vol = volume(1, size=2)
    files.create_volume(vol)
    snap = snapshot(1, 1, volume_size=2)
    files.create_snapshot(snap, vol)
    with pytest.raises(exception.VolumeDriverError, match="smaller"):
        files.create_volume_from_snapshot(volume(2, size=1), snap)
    assert not os.path.exists(files.local_path(volume(2)))


def test_deleting_removes_the_files_and_a_missing_one_is_no_error(files):
    vol, snap = volume(4), snapshot(5, 4)
    files.create_volume(vol)
    files.create_snapshot(snap, vol)
    files.delete_snapshot(snap)
    files.delete_volume(vol)
    assert os.listdir(FLAGS.volumes_path) == []
    files.delete_volume(vol)
    files.delete_snapshot(snap)


def test_snapshot_copies_go_through_the_executor_as_sparse_copies(tmp_path):
    FLAGS.volumes_path = str(tmp_path)
    recorder = RecordingExecutor()
    drv = driver.FileDriver(execute=recorder)
    vol = volume(1)
    drv.create_volume(vol)
    recorder.on("cp", lambda argv: open(argv[-1], "wb").close() or "")
    drv.create_snapshot(snapshot(2, 1), vol)
    assert recorder.commands == [f"cp --sparse=always {tmp_path}/volume-00000001 {tmp_path}/snapshot-00000002"]


def test_an_unusable_volumes_path_names_the_flag(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    FLAGS.volumes_path = str(blocker / "volumes")
    with pytest.raises(exception.VolumeDriverError, match="--volumes_path"):
        driver.FileDriver().check_for_setup_error()


def test_the_fake_driver_runs_nothing_and_answers_like_a_real_one():
    recorder = RecordingExecutor()
    FLAGS.iscsi_ip_address = "10.0.0.1"
    drv = driver.FakeDriver(execute=recorder)
    drv.check_for_setup_error()
    vol = volume(10)
    drv.create_volume(vol)
    drv.create_snapshot(snapshot(1, 10), vol)
    drv.create_volume_from_snapshot(volume(11), snapshot(1, 10))
    export = drv.create_export(None, vol, 3)
    drv.ensure_export(None, vol, 3)
    info = drv.initialize_connection({**vol, **export})
    assert info["data"]["target_iqn"] == "iqn.2010-10.org.openstack:volume-0000000a"
    assert info["data"]["target_portal"] == "10.0.0.1:3260"
    assert set(drv.volumes) == {"volume-0000000a", "volume-0000000b"}
    drv.remove_export(None, vol, 3)
    drv.delete_volume(vol)
    drv.delete_volume(vol)
    assert drv.exports == {} and set(drv.volumes) == {"volume-0000000b"}
    assert recorder.commands == []
