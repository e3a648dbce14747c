"""Large uploads written around the page cache (``O_DIRECT``).

A large body is read from the socket into two page-aligned buffers in turn
(``buffers``), hashed there, and written from there straight to the disk: the
kernel neither copies it into page-cache pages nor keeps it dirty until the
closing fsync.  On the virtual machines this project is measured on, that
copy into page-cache pages cost about a CPU second per GiB (more when the
machine had just been given memory back), half as much as the MD5.

``O_DIRECT`` wants aligned memory, file offsets and lengths.  The buffers
are page-aligned and every chunk of a plain body fills one (all but the
last), so whole pages go directly; the first write that is not whole pages
(the body's last bytes, or memory that is not aligned) turns ``O_DIRECT``
off for the rest of the file, which is then written through the page cache
as before.  A file system that refuses ``O_DIRECT`` gets ordinary files.

Durability does not change: ``O_DIRECT`` flushes neither the disk's cache
nor the file's metadata, so the file is still fsynced before it is committed.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
from typing import Any

import eventlet.patcher

ALIGN = mmap.PAGESIZE
# Writes to regular files never wait on the hub: the unpatched call skips eventlet's fstat of the fd.
_os = eventlet.patcher.original("os")


def create(path: str, direct: bool = True) -> Any:
    """A new file at ``path`` (it must not exist) opened for writing, unbuffered, with ``O_DIRECT`` if
    ``direct`` and the file system allows it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    fd = None
    if direct:
        try:
            fd = os.open(path, flags | os.O_DIRECT, 0o644)
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # EINVAL: this file system has no O_DIRECT
                raise
    if fd is None:
        fd = os.open(path, flags, 0o644)
    return open(fd, "wb", buffering=0)


def buffers(count: int, size: int) -> list[mmap.mmap]:
    """``count`` page-aligned buffers of ``size`` bytes (anonymous memory: pages are taken as they are
    written, and given back when the last view of the buffer goes)."""
    return [mmap.mmap(-1, size) for _ in range(count)]


def write_all(fd: int, data: Any) -> None:
    view = memoryview(data)
    while view:
        view = view[_os.write(fd, view):]


def append(fd: int, data: Any) -> bool:
    """Write all of ``data`` at the file's end; whole pages go directly while the file is in ``O_DIRECT``
    mode.  Returns whether it still is (its pages then need no writeback)."""
    mode = fcntl.fcntl(fd, fcntl.F_GETFL)
    view = memoryview(data)
    if not mode & os.O_DIRECT:
        write_all(fd, view)
        return False
    whole = len(view) - len(view) % ALIGN
    if whole:
        try:
            view = view[_os.write(fd, view[:whole]):]
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # EINVAL: memory or offset not aligned, or refused after all
                raise
    if not view:
        return True
    fcntl.fcntl(fd, fcntl.F_SETFL, mode & ~os.O_DIRECT)
    write_all(fd, view)
    return False
