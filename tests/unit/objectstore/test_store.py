"""The store after a crash: what a kill -9 can leave is swept at start-up, and later by age."""

import io
import os
import time

import eventlet.patcher

from nova import flags
from nova.objectstore import store
from nova.objectstore.store import Store

threading = eventlet.patcher.original("threading")
native_time = eventlet.patcher.original("time")


def _put(bucket, key: str, data: bytes):
    writer = bucket.writer()
    writer.write(data)
    writer.finish()
    return bucket.commit(key, writer, "etag", {}, {})


def _leftovers(root: str) -> dict[str, str]:
    """Debris as each interrupted step leaves it, by what it is."""
    bucket = Store(root).create_bucket("bkt", "proj", "user")
    kept = _put(bucket, "kept", b"payload")
    objects_dir = os.path.dirname(kept.data)
    upload = os.path.join(bucket.uploads_dir, "a" * 32)
    os.makedirs(upload)
    with open(os.path.join(upload, "upload.json"), "w") as handle:
        handle.write('{"key": "k"}')
    debris = {
        "writer temp file": os.path.join(bucket.tmp_dir, "0123"),
        "retired upload": os.path.join(bucket.tmp_dir, "retired-x"),
        "object bytes no record names": os.path.join(objects_dir, os.path.basename(kept.data).split(".")[0] + ".dead"),
        "part bytes no record names": os.path.join(upload, "part-00001.dead"),
        "upload without upload.json": os.path.join(bucket.uploads_dir, "b" * 32),
        "bucket being created": os.path.join(root, ".new-1"),
    }
    for what, path in debris.items():
        if what in ("retired upload", "upload without upload.json", "bucket being created"):
            os.makedirs(os.path.join(path, "inner"))
        else:
            with open(path, "wb") as handle:
                handle.write(b"x")
    return debris, kept, upload


def test_a_restart_removes_every_leftover_and_keeps_what_is_live(tmp_path):
    root = str(tmp_path / "buckets")
    debris, kept, upload = _leftovers(root)
    store = Store(root)  # what nova-objectstore does at start-up
    assert [what for what, path in debris.items() if os.path.exists(path)] == []
    bucket = store.get_bucket("bkt")
    with open(bucket.get("kept").data, "rb") as handle:
        assert handle.read() == b"payload"
    assert os.path.exists(os.path.join(upload, "upload.json"))


def test_the_periodic_sweep_spares_fresh_files(tmp_path):
    root = str(tmp_path / "buckets")
    store = Store(root)
    debris, _, _ = _leftovers(root)
    assert store.sweep(max_age=3600) == 0
    assert all(os.path.exists(path) for path in debris.values())
    old = time.time() - 7200
    for path in debris.values():
        os.utime(path, (old, old))
    assert store.sweep(max_age=3600) == len(debris)
    assert not any(os.path.exists(path) for path in debris.values())


def test_retire_removes_a_directory_through_tmp(tmp_path):
    bucket = Store(str(tmp_path)).create_bucket("bkt", "proj", "user")
    upload = os.path.join(bucket.uploads_dir, "c" * 32)
    os.makedirs(upload)
    for name in ("upload.json", "part-00001.json", "part-00001.abc"):
        open(os.path.join(upload, name), "w").close()
    bucket.retire(upload)
    assert not os.path.exists(upload) and os.listdir(bucket.tmp_dir) == []


def test_file_names_never_repeat_in_a_process_nor_across_a_fork():
    from nova.objectstore.store import unique_name

    mine = {unique_name() for _ in range(10_000)}
    assert len(mine) == 10_000
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # a worker forked from this process names its files apart from it
        os.close(read_fd)
        os.write(write_fd, "\n".join(unique_name() for _ in range(100)).encode())
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        theirs = set(pipe.read().split())
    os.waitpid(pid, 0)
    after = {unique_name() for _ in range(100)}
    assert len(theirs) == 100 and not theirs & (mine | after)


def _file_of(tmp_path, size: int):
    data = os.urandom(size)
    path = tmp_path / "object"
    path.write_bytes(data)
    return data, path


def test_a_large_range_is_read_in_disk_threads_one_chunk_ahead(tmp_path, monkeypatch):
    flags.FLAGS.s3_io_chunk_size = 1 << 20
    data, path = _file_of(tmp_path, 5 * (1 << 20) + 77)
    readers = []
    real_pread = store._os.pread

    def pread(fd, size, offset):
        readers.append(threading.get_ident())
        return real_pread(fd, size, offset)

    monkeypatch.setattr(store._os, "pread", pread)
    start, length = 3 * (1 << 19) + 5, 3 * (1 << 20) + 11  # starts and ends inside chunks
    chunks = store.stream(open(path, "rb"), start, length)
    first = next(chunks)
    deadline = time.monotonic() + 2  # the second chunk is read while the first is sent: no next() needed
    while len(readers) < 2 and time.monotonic() < deadline:
        native_time.sleep(0.01)
    assert len(readers) == 2
    assert first + b"".join(chunks) == data[start:start + length]
    assert readers and threading.get_ident() not in readers


def test_a_stream_closed_early_closes_its_file_after_the_read_in_flight(tmp_path):
    flags.FLAGS.s3_io_chunk_size = 1 << 20
    data, path = _file_of(tmp_path, 4 << 20)
    handle = open(path, "rb")
    chunks = store.stream(handle, 0, len(data))
    assert next(chunks) == data[:1 << 20]
    chunks.close()  # the client went
    assert handle.closed


def test_a_small_range_or_inline_bytes_are_read_in_place(tmp_path):
    data, path = _file_of(tmp_path, 10000)
    assert b"".join(store.stream(open(path, "rb"), 100, 5000)) == data[100:5100]
    assert b"".join(store.stream(io.BytesIO(data), 0, len(data))) == data
