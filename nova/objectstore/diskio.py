"""Disk work off the eventlet hub: fsync, file creation and large writes run in native threads.

nova-objectstore serves every connection from one hub thread.  A call that
blocks in the kernel (an fsync takes milliseconds, creating a file waits for
the journal while another fsync commits) would stop every other request
for that long; run through ``call`` it blocks only its own request, and
concurrent fsyncs of many requests become one journal commit.  Hashing and
writing release the GIL, so a large upload hashes and writes on one core
while the hub reads the next chunk from the socket on the other.

The threads are this module's own rather than eventlet's ``tpool``: a small
PUT hands two jobs to them, and ``tpool`` spent about 60 microseconds of CPU
on each (two pure-Python queues whose condition variables wake threads, a
loopback TCP socket written once per finished job and read a byte at a time
by a greenthread that re-registers it with the hub every time).  Here a job
goes through a C ``SimpleQueue`` and a finished one is announced on an
eventfd the hub watches for good; the hub hands each result straight to the
greenthread waiting for it.
"""

from __future__ import annotations

import collections
import logging
import os
from typing import Any, Callable, TypeVar

import eventlet
import eventlet.hubs
import eventlet.patcher
import greenlet

from nova import flags

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_integer("s3_io_threads", 32, "Native threads running nova-objectstore's blocking disk work (fsync, "
                     "file creation, hashing and writing of large chunks), so requests proceed in parallel; "
                     "0 runs it in the request's own greenthread", lower_bound=0)

T = TypeVar("T")
_threading = eventlet.patcher.original("threading")
_queue = eventlet.patcher.original("queue")  # the C SimpleQueue: the patched one would switch greenlets
_STOP = None


class _Waiter:
    """The greenthread waiting for one job, until it stops waiting (done, or killed meanwhile)."""

    __slots__ = ("greenlet",)

    def __init__(self) -> None:
        self.greenlet: Any = greenlet.getcurrent()


class _DiskThreads:
    """Native threads taking jobs from one queue; each finished job is announced to the hub on an eventfd."""

    def __init__(self, count: int) -> None:
        self.hub_thread = _threading.get_ident()
        self._jobs = _queue.SimpleQueue()
        self._finished: collections.deque = collections.deque()
        self._eventfd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        hub = eventlet.hubs.get_hub()
        self._hub = hub
        self._listener = hub.add(hub.READ, self._eventfd, self._deliver, self._closed, lambda: None)
        self._exit_lock = _threading.Lock()
        self._running = count
        self._threads = [_threading.Thread(target=self._work, name=f"s3-disk-io-{n}", daemon=True)
                         for n in range(count)]
        for thread in self._threads:
            thread.start()

    def submit(self, waiter: _Waiter, function: Callable[..., Any], args: tuple) -> None:
        self._jobs.put((waiter, function, args))

    def wait(self) -> Any:
        """Block this greenthread until the hub hands it its job's (ok, value)."""
        return self._hub.switch()

    def _work(self) -> None:
        try:
            while (job := self._jobs.get()) is not _STOP:
                waiter, function, args = job
                try:
                    outcome = (True, function(*args))
                except BaseException as exc:  # noqa: BLE001  (raised again in the greenthread that asked)
                    outcome = (False, exc)
                self._finished.append((waiter, outcome))
                os.eventfd_write(self._eventfd, 1)
                job = waiter = function = args = outcome = None  # hold no chunk of a finished upload
        finally:
            with self._exit_lock:
                self._running -= 1
                last = self._running == 0
            if last:  # no thread can announce a job any more
                os.close(self._eventfd)

    def _deliver(self, _fileno: int) -> None:
        """In the hub: wake the greenthread of every finished job (the counter only says there are some)."""
        try:
            os.eventfd_read(self._eventfd)
        except BlockingIOError:
            pass
        finished = self._finished
        while finished:
            waiter, outcome = finished.popleft()
            if waiter.greenlet is not None:
                try:
                    waiter.greenlet.switch(outcome)
                except (KeyboardInterrupt, SystemExit):
                    if finished:
                        os.eventfd_write(self._eventfd, 1)
                    raise
                except BaseException:  # noqa: BLE001  (an error escaping here would make the hub drop the eventfd)
                    LOG.exception("A greenlet woken with its disk work's result died of an unhandled error")

    @staticmethod
    def _closed(*_args: Any) -> None:
        pass

    def stop(self) -> None:
        """Stop watching the eventfd; each thread ends once its current job is done (an fsync may take
        seconds: nobody waits for it), and the last one closes the eventfd."""
        self._hub.remove(self._listener)
        for _ in self._threads:
            self._jobs.put(_STOP)


_pool: _DiskThreads | None = None
_pool_lock = _threading.Lock()


def _threads() -> _DiskThreads | None:
    """This process's disk threads, started on first use (None: disk work runs in the caller)."""
    global _pool
    if FLAGS.s3_io_threads <= 0 or not eventlet.patcher.is_monkey_patched("thread"):
        return None
    pool = _pool
    if pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = _DiskThreads(FLAGS.s3_io_threads)
            pool = _pool
    return pool


def _forget_in_child() -> None:
    """In a forked process: the parent's threads are not here, so the first call starts its own."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_in_child)


def reset() -> None:
    """Stop the disk threads (the first process, before it forks workers: each starts its own); a call
    still waiting for one then waits for ever, so only when none is."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.stop()


def call(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a native thread (this greenthread waits; the others run)."""
    pool = _threads()
    if pool is None or _threading.get_ident() != pool.hub_thread:  # no threads, or called in a native thread
        return function(*args)
    waiter = _Waiter()
    pool.submit(waiter, function, args)
    try:
        ok, value = pool.wait()
    finally:
        waiter.greenlet = None
    if ok:
        return value
    raise value


def start(function: Callable[..., Any], *args: Any) -> Any:
    """Begin ``call(function, *args)`` without waiting; ``.wait()`` on the result returns or raises."""
    return eventlet.spawn(call, function, *args)


def offloads() -> bool:
    """True when ``call`` runs its work in a native thread."""
    return _threads() is not None
