"""The image cache under ``instances_path/_base``: each image fetched once.

Fetching holds a lock per cached file, both within the process (green
threads) and across processes (an flock on ``<file>.lock``, polled so the
event loop keeps running), so concurrent spawns of one image download it once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import Any, Iterator

import eventlet
from eventlet import semaphore

_LOCKS: dict[str, semaphore.Semaphore] = {}


@contextlib.contextmanager
def file_lock(path: str, poll: float = 0.05) -> Iterator[None]:
    lock = _LOCKS.setdefault(path, semaphore.Semaphore(1))
    with lock:
        fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    eventlet.sleep(poll)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def cached_image(ctxt: Any, image_service: Any, image_id: int, base_dir: str) -> str:
    """The path of image ``image_id`` in the cache, downloading it first if needed."""
    os.makedirs(base_dir, exist_ok=True)
    path = os.path.join(base_dir, "%08x" % int(image_id))
    if os.path.exists(path):
        return path
    with file_lock(path):
        if not os.path.exists(path):
            image_service.download(ctxt, int(image_id), path)
    return path
