"""Disk work off the eventlet hub: fsync, file creation and large writes run in native threads.

nova-objectstore serves every connection from one hub thread.  A call that
blocks in the kernel (an fsync takes milliseconds, creating a file waits for
the journal while another fsync commits) would stop every other request
for that long; run through ``call`` it blocks only its own request, and
concurrent fsyncs of many requests become one journal commit.  Hashing and
writing release the GIL, so a large upload hashes and writes on one core
while the hub reads the next chunk from the socket on the other.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, TypeVar

import eventlet
import eventlet.patcher
from eventlet import tpool

from nova import flags

FLAGS = flags.FLAGS

flags.DEFINE_integer("s3_io_threads", 32, "Native threads running nova-objectstore's blocking disk work (fsync, "
                     "file creation, hashing and writing of large chunks), so requests proceed in parallel; "
                     "0 runs it in the request's own greenthread", lower_bound=0)

T = TypeVar("T")
_setup_lock = threading.Lock()
_threads_set = False


def _offload() -> bool:
    global _threads_set
    if FLAGS.s3_io_threads <= 0 or not eventlet.patcher.is_monkey_patched("thread"):
        return False
    if not _threads_set:
        with _setup_lock:
            if not _threads_set:
                try:
                    tpool.set_num_threads(FLAGS.s3_io_threads)
                except Exception:  # noqa: BLE001  (the pool already runs: keep its size)
                    pass
                _threads_set = True
    return True


def call(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a native thread (this greenthread waits; the others run)."""
    if _offload():
        return tpool.execute(function, *args)
    return function(*args)


def start(function: Callable[..., Any], *args: Any) -> Any:
    """Begin ``call(function, *args)`` without waiting; ``.wait()`` on the result returns or raises."""
    return eventlet.spawn(call, function, *args)


def offloads() -> bool:
    """True when ``call`` runs its work in a native thread."""
    return _offload()
