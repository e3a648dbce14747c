"""Large uploads written around the page cache: whole pages go directly, the rest through the cache."""

from __future__ import annotations

import errno
import fcntl
import glob
import hashlib
import os
import subprocess

import pytest

from nova import flags
from nova.objectstore import directio

PAGE = directio.ALIGN


def _direct(handle) -> bool:
    return bool(fcntl.fcntl(handle.fileno(), fcntl.F_GETFL) & os.O_DIRECT)


@pytest.fixture
def direct_dir(tmp_path):
    """``tmp_path``, if its file system takes O_DIRECT (ext4 and XFS do; so does tmpfs since Linux 6.6)."""
    try:
        os.close(os.open(tmp_path / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT))
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            pytest.skip(f"{tmp_path} has no O_DIRECT")
        raise
    return tmp_path


def test_whole_pages_go_direct_until_a_tail_turns_it_off(direct_dir):
    path = direct_dir / "object"
    (buffer,) = directio.buffers(1, 4 * PAGE)
    buffer[:] = os.urandom(4 * PAGE)
    with directio.create(str(path)) as handle:
        assert _direct(handle)
        assert directio.append(handle.fileno(), memoryview(buffer)) is True
        assert directio.append(handle.fileno(), memoryview(buffer)[:2 * PAGE + 100]) is False  # pages + a tail
        assert not _direct(handle)
        assert directio.append(handle.fileno(), b"after") is False
    assert path.read_bytes() == bytes(buffer) + bytes(buffer[:2 * PAGE + 100]) + b"after"


def test_memory_that_is_not_page_aligned_is_written_through_the_cache(direct_dir):
    path = direct_dir / "object"
    (buffer,) = directio.buffers(1, 4 * PAGE)
    buffer[:] = os.urandom(4 * PAGE)
    shifted = memoryview(buffer)[1:1 + 2 * PAGE]  # whole pages long, but starting one byte into a page
    with directio.create(str(path)) as handle:
        assert directio.append(handle.fileno(), shifted) is False
        assert not _direct(handle)
    assert path.read_bytes() == bytes(shifted)


def test_a_file_system_without_o_direct_gets_an_ordinary_file(tmp_path, monkeypatch):
    real_open = os.open

    def no_direct(path, flags_, mode=0o777):
        if flags_ & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags_, mode)

    monkeypatch.setattr(os, "open", no_direct)
    path = tmp_path / "object"
    with directio.create(str(path)) as handle:
        assert not _direct(handle)
        assert directio.append(handle.fileno(), b"x" * (PAGE + 1)) is False
    assert path.read_bytes() == b"x" * (PAGE + 1)
    with pytest.raises(FileExistsError):  # other errors are not taken for a missing O_DIRECT
        directio.create(str(path))


def _cached_bytes(path: str) -> int:
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path], check=True,
                         capture_output=True, text=True).stdout
    return int(out.strip())


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "page-cache"])
def test_a_large_put_leaves_its_bytes_out_of_the_page_cache_unless_told(objectstore, s3, tmp_path, direct):
    flags.FLAGS.s3_direct_io = direct
    data = os.urandom(20 * 1024 * 1024 + 123)  # two full 8 MiB chunks, then 4 MiB and a tail of 123 bytes
    s3.create_bucket(Bucket="dio")
    put = s3.put_object(Bucket="dio", Key="big", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    (stored,) = [p for p in glob.glob(f"{tmp_path}/buckets/dio/objects/*/*")
                 if not p.endswith(".json")]
    cached = _cached_bytes(stored)
    if direct:
        assert cached <= PAGE  # only the tail went through the cache
    else:
        assert cached >= len(data) // 2
    assert s3.get_object(Bucket="dio", Key="big")["Body"].read() == data
