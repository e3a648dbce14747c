"""``--s3_workers``: more nova-objectstore processes serving the one listening socket.

A process serves from one hub thread, so its requests share one core.  With
``--s3_workers N`` the first process binds the socket, sweeps the buckets,
then forks N-1 copies; each accepts connections on the same socket with its
own hub and disk threads.  Changes to buckets are serialized across them by
the store's commit lock (a file lock).  A stop signal to the first process
is passed on to the others, which finish their requests within
``--s3_shutdown_timeout`` as it does; it exits once they are gone.  A worker
whose parent dies is sent SIGTERM by the kernel.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import time

from nova import flags

FLAGS = flags.FLAGS  # --s3_workers is defined in nova.objectstore.server
LOG = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_children: list[int] = []


def fork_workers() -> bool:
    """Fork ``--s3_workers`` - 1 workers; True in a worker, False in the first process."""
    for _ in range(FLAGS.s3_workers - 1):
        pid = os.fork()
        if pid == 0:
            _become_worker()
            return True
        _children.append(pid)
    if _children:
        LOG.info("nova-objectstore forked %d worker(s): %s", len(_children), " ".join(map(str, _children)))
    return False


def _become_worker() -> None:
    _children.clear()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    os.environ.pop("NOTIFY_SOCKET", None)  # only the first process speaks to systemd
    # The parent's pooled database connections stay the parent's: nova.db's session drops them after a fork.


def stop_workers(timeout: float) -> None:
    """Pass SIGTERM on to the workers and wait for them (SIGKILL after ``timeout`` seconds)."""
    for pid in _children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    waiting = list(_children)
    while waiting:
        for pid in list(waiting):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                waiting.remove(pid)
        if not waiting:
            break
        if time.monotonic() > deadline:
            for pid in waiting:
                LOG.warning("nova-objectstore worker %d still runs after %gs; killing it", pid, timeout)
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
            break
        time.sleep(0.05)
    _children.clear()
