"""Buckets and objects on disk under ``--buckets_path``.

Layout::

    <buckets_path>/<bucket>/bucket.json           owner project and user, creation time
    <bucket>/objects/<hh>/<sha256(key)>.json      the object's metadata; its presence makes the object exist
    <bucket>/objects/<hh>/<sha256(key)>.<unique>  the object's bytes (named by the metadata)
    <bucket>/uploads/<upload id>/                 multipart uploads in progress (see multipart.py)
    <bucket>/tmp/                                 files being written

An object PUT in one piece of at most ``INLINE_MAX`` bytes keeps its bytes in
its metadata file instead (``"inline"``, base64; ``"data"`` is null): one
file to create and fsync instead of two, one to open on GET.

Keys never become paths: a key is only ever hashed, so no key can reach
outside its bucket.  Bucket names are validated before they are joined.
Writes go to ``tmp/``, are fsynced and renamed into place; an object's new
bytes become visible in one rename of its metadata file.

Crash consistency: every change is made visible or undone by one rename, and
directories to remove (a completed upload) are first renamed into ``tmp/``.
What a ``kill -9`` can leave behind is therefore only unreferenced files
(``tmp/`` contents, object or part bytes no metadata names, an upload directory
without ``upload.json``, a bucket being created or deleted); ``Store.sweep``
removes them: all at start-up, and those untouched for
``--objectstore_orphan_age`` seconds every ``--objectstore_sweep_interval``.
"""

from __future__ import annotations

import base64
import ctypes
import datetime
import fcntl
import hashlib
import io
import itertools
import json
import logging
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import eventlet
import eventlet.patcher

from nova import flags
from nova.objectstore import directio, diskio, names
from nova.objectstore.errors import S3Error, no_such_bucket, no_such_key

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_string("buckets_path", "$state_path/buckets", "Directory where nova-objectstore keeps buckets")
flags.DEFINE_integer("s3_max_object_size", 5 * 1024 ** 3, "Largest object (or part) a single PUT may store, bytes",
                     lower_bound=1)
flags.DEFINE_integer("s3_io_chunk_size", 8 * 1024 * 1024, "Bytes read or written at a time when streaming "
                     "objects (large: each chunk costs a few thread hand-offs)", lower_bound=4096)

flags.DEFINE_bool("s3_direct_io", True, "Write the bodies of uploads larger than 1 MiB around the page cache "
                  "(O_DIRECT, where the file system allows it): no copy into the page cache, no dirty pages "
                  "left for the fsync; a GET right after reads from the disk")

flags.DEFINE_integer("objectstore_sweep_interval", 3600,
                     "Seconds between sweeps of nova-objectstore's temporary and orphaned files (one runs at "
                     "start-up)", lower_bound=1)
flags.DEFINE_integer("objectstore_orphan_age", 86400,
                     "Seconds a temporary or orphaned file must be untouched before a periodic sweep removes it",
                     lower_bound=0)
flags.DEFINE_string("objectstore_crash_file", "",
                    "Testing only: a file naming crash points, one a line; nova-objectstore kills itself with "
                    "SIGKILL on reaching one (crash-consistency tests)")


class _CommitLock:
    """The store's commit lock: a lock among this process's greenthreads, then a file lock among
    nova-objectstore processes (``--s3_workers``) sharing ``--buckets_path``."""

    def __init__(self) -> None:
        self._local = threading.Lock()
        self._path: str | None = None
        self._fd: int | None = None
        self._key: tuple[str, int] = ("", 0)

    def use_file(self, path: str) -> None:
        self._path = path

    def __enter__(self) -> "_CommitLock":
        self._local.acquire()
        try:
            if self._path is not None:
                key = (self._path, os.getpid())  # a forked worker needs its own open file
                if self._fd is None or self._key != key:
                    if self._fd is not None and self._key[1] == os.getpid():
                        os.close(self._fd)
                    self._fd, self._key = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600), key
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._local.release()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if self._path is not None and self._fd is not None and self._key[1] == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._local.release()


_commit_lock = _CommitLock()
# Reads and writes of regular files never wait on the hub: the unpatched calls skip eventlet's fstat of the fd.
_os = eventlet.patcher.original("os")
# Headers stored with an object and returned by GET/HEAD.
STORED_HEADERS = ("content-type", "cache-control", "content-disposition", "content-encoding",
                  "content-language", "expires")


class _Names:
    """File names unique to this process: a random prefix drawn at start (and in each forked worker) and a
    counter.  Temporary and data files only need a name no other file takes; a uuid4 per file cost a
    system call and a UUID object on every PUT."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self.prefix, self.counter = os.urandom(8).hex(), itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):x}"


_names = _Names()
os.register_at_fork(after_in_child=_names.renew)
unique_name = _names.next


def _fsync_dir_now(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: str) -> None:
    """Make the renames in ``path`` durable (in a disk thread)."""
    diskio.call(_fsync_dir_now, path)


def crash_point(name: str) -> None:
    """Die here, as a ``kill -9`` would, if ``--objectstore_crash_file`` names ``name`` (tests)."""
    if not FLAGS.objectstore_crash_file:
        return
    try:
        with open(FLAGS.objectstore_crash_file) as handle:
            wanted = handle.read().split()
    except FileNotFoundError:
        return
    if name in wanted:
        LOG.warning("Crash point %s: killing this process", name)
        os.kill(os.getpid(), signal.SIGKILL)


def _age(path: str, now: float) -> float:
    try:
        return now - os.lstat(path).st_mtime
    except FileNotFoundError:
        return -1.0


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def _write_synced(path: str, data: bytes, exclusive: bool = False) -> None:
    """Write ``data`` as the whole of ``path`` and fsync it (``exclusive``: the file must be new)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC), 0o644)
    try:
        directio.write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def json_tmp(values: dict[str, Any], tmp_dir: str) -> str:
    """A new fsynced file in ``tmp_dir`` holding ``values``, ready to be renamed into place."""
    tmp = os.path.join(tmp_dir, f"{unique_name()}.json")
    diskio.call(_write_synced, tmp, json.dumps(values).encode())
    return tmp


def write_json_atomic(path: str, values: dict[str, Any], tmp_dir: str) -> None:
    os.replace(json_tmp(values, tmp_dir), path)


def read_json(path: str) -> dict[str, Any] | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:  # plain reads: a file object and its text decoder cost more than the read itself
        data = _os.read(fd, 65536)
        if len(data) == 65536:
            parts = [data]
            while more := _os.read(fd, 1 << 20):
                parts.append(more)
            data = b"".join(parts)
    finally:
        os.close(fd)
    return json.loads(data)


def http_date(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def iso_date(timestamp: float) -> str:
    when = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


# sync_file_range(2), which Python's os module lacks: Linux only, None elsewhere.
_SYNC_FILE_RANGE_WRITE = 2
try:
    _sync_file_range = ctypes.CDLL(None, use_errno=True).sync_file_range
    _sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
except (OSError, AttributeError):
    _sync_file_range = None

# Objects PUT in one piece up to this size keep their bytes in their metadata file.
INLINE_MAX = 16 * 1024
# Chunks smaller than this are hashed and written inline: two trips to disk threads cost more than they save.
_OFFLOAD_MIN = 256 * 1024


class TempWriter:
    """A file in a bucket's tmp/ that becomes an object or part only on commit.

    Up to ``BUFFER_MAX`` bytes stay in memory and the file is made by
    ``finish`` (a small object costs one trip to a disk thread: create, write,
    fsync); a larger body is written as it comes, each chunk hashed and
    written in a disk thread while the next one is read.
    """

    BUFFER_MAX = 1024 * 1024

    def __init__(self, tmp_dir: str, max_size: int | None = None, bucket_name: str = "") -> None:
        self.path = os.path.join(tmp_dir, unique_name())
        self.bucket_name = bucket_name
        self._file: Any = None
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._pending: list[Any] = []
        self._discarded = False
        self.inline: bytes | None = None  # the whole body, when ``finish`` kept it for the metadata file
        self.md5 = hashlib.md5()
        self.size = 0
        self.max_size = FLAGS.s3_max_object_size if max_size is None else max_size

    def _grow(self, length: int) -> None:
        self.size += length
        if self.size > self.max_size:
            raise S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400,
                          MaxSizeAllowed=str(self.max_size))

    def write(self, data: bytes) -> None:
        """Append ``data``, hashing it into ``md5``."""
        self.absorb(data, (self.md5,))

    def absorb(self, data: bytes, digests: Sequence[Any]) -> None:
        """Append ``data`` and feed it to ``digests`` (the caller's one pass of hashing: MD5 and whatever the
        request's checksums need)."""
        self._grow(len(data))
        if self._file is None and self._buffered + len(data) <= self.BUFFER_MAX:
            for digest in digests:
                digest.update(data)
            self._buffer.append(data)
            self._buffered += len(data)
            return
        if self._file is None:
            self._open()
        self._wait()
        if len(data) < _OFFLOAD_MIN or not diskio.offloads():
            _update_write(digests, data, self._file)
            return
        # MD5 (the slowest) in one thread; the others and the write in a second; the hub reads on meanwhile.
        self._pending = [diskio.start(_update, digests[:1], data),
                         diskio.start(_update_write_out, digests[1:], data, self._file)]
        eventlet.sleep(0)  # hand both to their threads now

    def settle(self) -> None:
        """Wait until every chunk given so far is hashed (and written, when not buffered)."""
        self._wait()

    def _wait(self) -> None:
        pending, self._pending = self._pending, []
        for job in pending:
            job.wait()

    def start_file(self, direct: bool = False) -> None:
        """Make the file now (a body known to be larger than the buffer: no point holding its start);
        ``direct``: write it around the page cache where it can be (see ``directio``)."""
        if self._file is None:
            self._open(direct)

    def _open(self, direct: bool = False) -> None:
        buffered, self._buffer, self._buffered = b"".join(self._buffer), [], 0
        try:
            self._file = diskio.call(_create, self.path, buffered, direct)
        except FileNotFoundError:  # the bucket was deleted meanwhile
            raise no_such_bucket(self.bucket_name) from None
        if self._discarded:  # stopped while the disk thread made it
            self.discard()

    def append_file(self, path: str) -> None:
        """Append a whole file in the kernel (no hashing: used to join multipart parts)."""
        if self._file is None:
            self._open()
        self._wait()
        self._file.flush()
        with open(path, "rb") as source:
            length = os.fstat(source.fileno()).st_size
            if self.size + length > self.max_size:
                raise S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400,
                              MaxSizeAllowed=str(self.max_size))
            offset = 0
            while offset < length:
                copied = diskio.call(os.copy_file_range, source.fileno(), self._file.fileno(), length - offset,
                                     offset)
                if copied == 0:
                    raise OSError(f"{path} shrank while it was copied")
                offset += copied
        self._file.seek(0, os.SEEK_END)
        self.size += length
        crash_point("writer.appended")

    def finish(self, inline_max: int = 0) -> None:
        """Write what is buffered, flush and fsync; the file is complete but not yet visible.

        A body of at most ``inline_max`` bytes held in memory is not written here: it stays in ``inline``
        for the commit to store in the object's metadata file.
        """
        self._wait()
        if self._file is None and self.size <= inline_max:
            self.inline, self._buffer, self._buffered = b"".join(self._buffer), [], 0
        elif self._file is None:
            buffered, self._buffer, self._buffered = b"".join(self._buffer), [], 0
            try:
                diskio.call(_write_synced, self.path, buffered, True)
            except FileNotFoundError:  # the bucket was deleted meanwhile
                raise no_such_bucket(self.bucket_name) from None
        else:
            diskio.call(_sync_close, self._file)
        crash_point("writer.finished")

    def materialize(self) -> None:
        """Write an ``inline`` body to the file after all (for a commit that needs one)."""
        if self.inline is not None:
            self._buffer, self._buffered, self.inline = [self.inline], self.size, None
            self.finish()

    def discard(self) -> None:
        self._discarded = True
        try:
            self._wait()
        except Exception:  # noqa: BLE001  (the write that failed is why this writer goes)
            pass
        if self._file is not None and not self._file.closed:
            self._file.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _update(digests: Sequence[Any], data: bytes) -> None:
    for digest in digests:
        digest.update(data)


def _update_write(digests: Sequence[Any], data: bytes, handle: Any) -> bool:
    """Hash ``data`` into ``digests`` and append it to the file; whether it went around the page cache."""
    for digest in digests:
        digest.update(data)
    return directio.append(handle.fileno(), data)


def _update_write_out(digests: Sequence[Any], data: bytes, handle: Any) -> None:
    """``_update_write``, then start writing the file's dirty pages (if it has any) to disk without waiting
    for them (in a disk thread): the fsync that ends a large upload then finds little left to write.  Without
    it the kernel held all of a 1 GiB upload in memory until that fsync, which took another 0.35 s."""
    if not _update_write(digests, data, handle) and _sync_file_range is not None:
        _sync_file_range(handle.fileno(), 0, 0, _SYNC_FILE_RANGE_WRITE)  # 0, 0: the whole file


def stream(handle: Any, start: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of ``handle`` from ``start``; a large range of a file is read in the disk threads, the
    next chunk while this one is sent (a large object was written around the page cache: it is read from
    the disk, which must not stop the hub)."""
    chunk = FLAGS.s3_io_chunk_size
    if length < 2 * _OFFLOAD_MIN or not isinstance(handle, io.BufferedReader) or not diskio.offloads():
        yield from _stream_here(handle, start, length)
        return
    fd, offset, end = handle.fileno(), start, start + length
    pending = diskio.start(_os.pread, fd, min(chunk, end - offset), offset)
    try:
        while pending is not None:
            data = pending.wait()
            offset += len(data)
            pending = None
            if data and offset < end:
                pending = diskio.start(_os.pread, fd, min(chunk, end - offset), offset)
                eventlet.sleep(0)  # hand it to a thread now, not when sending this chunk first waits
            if data:
                yield data
    finally:
        if pending is not None:  # the client went: the read in flight ends before its file closes
            try:
                pending.wait()
            except Exception:  # noqa: BLE001  (nobody wants that chunk any more)
                pass
        handle.close()


def _stream_here(handle: Any, start: int, length: int) -> Iterator[bytes]:
    chunk = FLAGS.s3_io_chunk_size
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            data = handle.read(min(chunk, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()


def _create(path: str, data: bytes, direct: bool = False) -> Any:
    handle = directio.create(path, direct and not data)
    try:
        directio.write_all(handle.fileno(), data)
    except BaseException:
        handle.close()
        raise
    return handle


def _sync_close(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


@dataclass
class ObjectInfo:
    key: str
    size: int
    etag: str  # without quotes
    last_modified: float
    data: str  # absolute path of the bytes
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)  # everything stored (version id, ACL, tags...)

    @property
    def quoted_etag(self) -> str:
        return f'"{self.etag}"'

    @property
    def directory(self) -> str:
        return os.path.dirname(self.data)

    def open(self) -> Any:
        """The object's bytes as a binary file (FileNotFoundError if they were replaced meanwhile)."""
        inline = self.record.get("inline")
        if inline is not None:
            return io.BytesIO(base64.b64decode(inline))
        return open(self.data, "rb")

    @classmethod
    def from_record(cls, record: dict[str, Any], directory: str) -> "ObjectInfo":
        # An object with inline bytes has no data file: ``data`` is then its directory followed by "/".
        return cls(record["key"], record["size"], record["etag"], record["last_modified"],
                   os.path.join(directory, record.get("data") or ""), record.get("metadata", {}),
                   record.get("headers", {}), record)


def drop_data(directory: str, record: dict[str, Any] | None, keep: str | None = None) -> None:
    """Remove the data file ``record`` names (if it names one other than ``keep``)."""
    name = record.get("data") if record else None
    if name and name != keep:
        try:
            os.unlink(os.path.join(directory, name))
        except FileNotFoundError:
            pass


class Bucket:
    """One bucket directory."""

    def __init__(self, root: str, name: str, record: dict[str, Any]) -> None:
        self.name = name
        self.path = os.path.join(root, name)
        self.project_id: str = record["project_id"]
        self.user_id: str | None = record.get("user_id")
        self.created_at: float = record["created_at"]
        self.tmp_dir = os.path.join(self.path, "tmp")
        self.uploads_dir = os.path.join(self.path, "uploads")

    # -- objects -------------------------------------------------------------
    def _object_dir(self, key: str) -> tuple[str, str]:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return os.path.join(self.path, "objects", digest[:2]), digest

    def get(self, key: str) -> ObjectInfo:
        directory, digest = self._object_dir(key)
        record = read_json(os.path.join(directory, digest + ".json"))
        if record is None or record.get("key") != key:
            raise no_such_key(key)
        return ObjectInfo.from_record(record, directory)

    def writer(self, max_size: int | None = None) -> TempWriter:
        return TempWriter(self.tmp_dir, max_size, self.name)

    def commit(self, key: str, writer: TempWriter, etag: str, metadata: dict[str, str],
               headers: dict[str, str], extra: dict[str, Any] | None = None) -> ObjectInfo:
        """Make the finished ``writer``'s file the object ``key``; the old bytes go.

        ``extra`` adds fields to the stored record (owner, ACL, tags).
        """
        directory, digest = self._object_dir(key)
        if not os.path.isdir(directory):
            os.makedirs(directory, exist_ok=True)
        inline = writer.inline
        data_name = None if inline is not None else f"{digest}.{unique_name()}"
        record = {"key": key, "size": writer.size, "etag": etag, "last_modified": time.time(),
                  "data": data_name, "metadata": metadata, "headers": headers, **(extra or {})}
        if inline is not None:
            record["inline"] = base64.b64encode(inline).decode("ascii")
        meta_path = os.path.join(directory, digest + ".json")
        try:
            record_tmp = json_tmp(record, self.tmp_dir)  # written and fsynced before the lock
        except FileNotFoundError:  # the bucket was deleted meanwhile
            raise no_such_bucket(self.name) from None
        with _commit_lock:
            if not os.path.isdir(self.path + "/objects"):
                os.unlink(record_tmp)
                raise no_such_bucket(self.name)
            if data_name is not None:
                os.rename(writer.path, os.path.join(directory, data_name))
            crash_point("commit.data_renamed")
            old = read_json(meta_path)
            os.replace(record_tmp, meta_path)
        _fsync_dir(directory)  # both renames durable; concurrent commits share the journal commit
        crash_point("commit.record_written")
        drop_data(directory, old, keep=data_name)
        return ObjectInfo.from_record(record, directory)

    def delete(self, key: str) -> bool:
        """Remove ``key``; False if it did not exist (S3 answers 204 either way)."""
        directory, digest = self._object_dir(key)
        meta_path = os.path.join(directory, digest + ".json")
        with _commit_lock:
            record = read_json(meta_path)
            if record is None:
                return False
            os.unlink(meta_path)
        drop_data(directory, record)
        return True

    def retire(self, path: str) -> None:
        """Remove a directory of this bucket (a completed upload) so that a crash never leaves it half
        removed: one rename moves it into ``tmp/`` (gone at once), then it is deleted there."""
        doomed = os.path.join(self.tmp_dir, f"retired-{unique_name()}")
        try:
            os.rename(path, doomed)
        except FileNotFoundError:
            return  # another request removed it first
        crash_point("retire.renamed")
        for number, entry in enumerate(sorted(os.listdir(doomed))):
            _remove(os.path.join(doomed, entry))
            if number == 0:
                crash_point("retire.removing")
        _remove(doomed)

    def sweep(self, max_age: float) -> int:
        """Remove what a crash left behind and has been untouched for ``max_age`` seconds; the count."""
        now, removed = time.time(), 0

        def drop(path: str) -> None:
            nonlocal removed
            if _age(path, now) >= max_age:
                _remove(path)
                removed += 1

        for entry in os.listdir(self.tmp_dir) if os.path.isdir(self.tmp_dir) else []:
            drop(os.path.join(self.tmp_dir, entry))
        objects = os.path.join(self.path, "objects")
        for sub in os.listdir(objects) if os.path.isdir(objects) else []:
            directory = os.path.join(objects, sub)
            with _commit_lock:
                files = os.listdir(directory)
                named = {(read_json(os.path.join(directory, f)) or {}).get("data") for f in files
                         if f.endswith(".json")}
                named |= self._archived_data(sub)
                for name in files:
                    if not name.endswith(".json") and name not in named:
                        drop(os.path.join(directory, name))
        for upload_id in os.listdir(self.uploads_dir) if os.path.isdir(self.uploads_dir) else []:
            upload = os.path.join(self.uploads_dir, upload_id)
            files = os.listdir(upload)
            if "upload.json" not in files:
                drop(upload)
                continue
            named = {(read_json(os.path.join(upload, f)) or {}).get("data") for f in files
                     if f.startswith("part-") and f.endswith(".json")}
            for name in files:
                if name.startswith("part-") and not name.endswith(".json") and name not in named:
                    drop(os.path.join(upload, name))
        return removed

    def _archived_data(self, sub: str) -> set[str]:
        """Data files of ``objects/<sub>`` that older versions (``versions/<sub>/<digest>/<id>.json``) name."""
        named = set()
        versions = os.path.join(self.path, "versions", sub)
        for digest in os.listdir(versions) if os.path.isdir(versions) else []:
            archive = os.path.join(versions, digest)
            for entry in os.listdir(archive) if os.path.isdir(archive) else []:
                if entry.endswith(".json"):
                    named.add((read_json(os.path.join(archive, entry)) or {}).get("data"))
        return named

    def keys(self) -> list[ObjectInfo]:
        """Every object, sorted by key (UTF-8 byte order, as S3 sorts)."""
        found = []
        objects = os.path.join(self.path, "objects")
        for sub in os.scandir(objects) if os.path.isdir(objects) else []:
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub.path):
                if entry.name.endswith(".json"):
                    record = read_json(entry.path)
                    if record is not None:
                        found.append(ObjectInfo.from_record(record, sub.path))
        found.sort(key=lambda info: info.key.encode("utf-8"))
        return found

    def is_empty(self) -> bool:
        objects = os.path.join(self.path, "objects")
        for sub in os.scandir(objects) if os.path.isdir(objects) else []:
            if sub.is_dir() and any(e.name.endswith(".json") for e in os.scandir(sub.path)):
                return False
        return True


class Store:
    """The buckets under one root directory."""

    def __init__(self, root: str | None = None) -> None:
        self.root = os.path.abspath(root or FLAGS.buckets_path)
        os.makedirs(self.root, exist_ok=True)
        _commit_lock.use_file(os.path.join(self.root, ".commit.lock"))
        self._last_sweep = time.monotonic()
        self.sweep(max_age=0)

    def sweep(self, max_age: float | None = None) -> int:
        """Remove the leftovers of interrupted changes in every bucket (those untouched for ``max_age``
        seconds, default ``--objectstore_orphan_age``); the number removed, logged when not 0."""
        max_age = FLAGS.objectstore_orphan_age if max_age is None else max_age
        now, removed = time.time(), 0
        for entry in os.listdir(self.root):
            if entry.startswith((".new-", ".deleted-")) and _age(os.path.join(self.root, entry), now) >= max_age:
                _remove(os.path.join(self.root, entry))
                removed += 1
        for bucket in self.buckets():
            removed += bucket.sweep(max_age)
        if removed:
            LOG.info("Removed %d temporary or orphaned file(s) under %s", removed, self.root)
        return removed

    def sweep_if_due(self) -> None:
        """Start a sweep in the background when ``--objectstore_sweep_interval`` has passed since the last."""
        if time.monotonic() - self._last_sweep < FLAGS.objectstore_sweep_interval:
            return
        self._last_sweep = time.monotonic()
        threading.Thread(target=self._sweep_quietly, daemon=True).start()

    def _sweep_quietly(self) -> None:
        try:
            self.sweep()
        except OSError as exc:
            LOG.warning("Sweeping %s failed: %s", self.root, exc)

    def _path(self, name: str) -> str:
        names.check_bucket_name(name)
        path = os.path.join(self.root, name)
        if os.path.dirname(path) != self.root:
            raise S3Error("InvalidBucketName", "The specified bucket is not valid.", 400, BucketName=name)
        return path

    def get_bucket(self, name: str) -> Bucket:
        record = read_json(os.path.join(self._path(name), "bucket.json"))
        if record is None:
            raise no_such_bucket(name)
        return Bucket(self.root, name, record)

    def buckets(self) -> list[Bucket]:
        found = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            record = read_json(os.path.join(entry.path, "bucket.json"))
            if record is not None:
                found.append(Bucket(self.root, entry.name, record))
        return found

    def create_bucket(self, name: str, project_id: str, user_id: str | None) -> Bucket:
        """Create a bucket atomically: it appears complete or not at all."""
        path = self._path(name)
        existing = read_json(os.path.join(path, "bucket.json"))
        if existing is not None:
            raise self._exists_error(name, existing, project_id)
        staging = os.path.join(self.root, f".new-{unique_name()}")
        for sub in ("objects", "uploads", "tmp"):
            os.makedirs(os.path.join(staging, sub))
        record = {"name": name, "project_id": project_id, "user_id": user_id, "created_at": time.time()}
        write_json_atomic(os.path.join(staging, "bucket.json"), record, os.path.join(staging, "tmp"))
        try:
            os.rename(staging, path)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            existing = read_json(os.path.join(path, "bucket.json")) or {"project_id": None}
            raise self._exists_error(name, existing, project_id) from None
        _fsync_dir(self.root)
        return Bucket(self.root, name, record)

    @staticmethod
    def _exists_error(name: str, existing: dict[str, Any], project_id: str) -> S3Error:
        if existing.get("project_id") == project_id:
            return S3Error("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket "
                           "succeeded and you already own it.", 409, BucketName=name)
        return S3Error("BucketAlreadyExists", "The requested bucket name is not available.", 409, BucketName=name)

    def delete_bucket(self, bucket: Bucket) -> None:
        if not bucket.is_empty():
            raise S3Error("BucketNotEmpty", "The bucket you tried to delete is not empty", 409,
                          BucketName=bucket.name)
        doomed = os.path.join(self.root, f".deleted-{unique_name()}")
        with _commit_lock:
            if not bucket.is_empty():
                raise S3Error("BucketNotEmpty", "The bucket you tried to delete is not empty", 409,
                              BucketName=bucket.name)
            os.rename(bucket.path, doomed)
        shutil.rmtree(doomed, ignore_errors=True)

