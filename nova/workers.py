"""Pre-forked workers: more processes serving the sockets an HTTP daemon has bound.

nova-api (``--api_workers``) and nova-objectstore (``--s3_workers``) serve
from one eventlet hub per process, so one process uses one core.  With N
workers the daemon's first process binds its ports and loads its
applications as it always does, closes the database and broker connections
it opened while starting, forks N workers serving the same listening sockets
(the kernel hands each new connection to one of them), and from then on only
watches them:

* The first process serves nothing itself.  Replacing a worker means forking
  again, and a process that serves would hand its copy its client
  connections, broker sockets and greenthreads; this one has none to hand.
* A worker starts with the listening sockets and the loaded code, and nothing
  else of its parent's: a new eventlet hub (the parent's epoll set, timers
  and greenthreads stay behind, never run), no database connections (nova.db
  builds its pool on first use, and its session drops inherited connections
  after any fork), no broker connections or reply queue (nova.rpc opens them
  on first use), no native threads.  It is sent SIGTERM by the kernel when
  the first process dies (PR_SET_PDEATHSIG) and never speaks to systemd.
* Only the first process tells systemd it is ready and stopping; its pid is
  the unit's main pid.
* A worker that ends while the first process is not stopping is logged and
  replaced at once (a second later when it ran for less than a second, so a
  worker that cannot start does not make the first process spin).
* SIGTERM or SIGINT to the first process is passed on to every worker; each
  stops accepting and finishes its requests in hand as a lone process does.
  A worker still running ``stop_timeout`` seconds later is killed.
* The workers share a ``ConnectionTable``: how many connections each holds
  on each listening socket.  The kernel wakes every worker when a connection
  comes, and the first to run accepts it (and all others queued behind it):
  a burst of keep-alive clients could land mostly on one worker, which then
  has one core for most of the load while the other idles.  A worker holding
  more than another lets that one accept first (``nova.wsgi.Server``).
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import os
import signal
import sys
import time
from typing import Any, Callable

import eventlet.patcher

LOG = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_RESTART_DELAY = 1.0  # seconds before replacing a worker that ran for less than this
# The first process waits outside the eventlet hub (it serves nothing): the unpatched calls.
_select = eventlet.patcher.original("select").select
_os = eventlet.patcher.original("os")
_left_behind: list[Any] = []  # hubs a worker inherited: kept, so their greenlets are never collected (and run)
_ABSENT = 1 << 62  # a slot with no worker in it: more connections than any worker holds


class ConnectionTable:
    """Open client connections per worker slot and listening socket, in an anonymous shared mapping made
    before the first fork (so every worker reads the others' counts).  Each count is written by its own
    worker only (by the first process too once that worker has ended); a reader may see a count a moment
    old, which only makes the balance approximate."""

    def __init__(self, workers: int, sockets: int) -> None:
        self.workers = workers
        self.sockets = sockets
        self._map = mmap.mmap(-1, 8 * max(workers * sockets, 1))
        self.counts = memoryview(self._map).cast("q")
        for slot in range(workers):
            self.vacate(slot)

    def occupy(self, slot: int) -> None:
        """A worker starts in ``slot``, holding no connection yet."""
        for socket_index in range(self.sockets):
            self.counts[socket_index * self.workers + slot] = 0

    def vacate(self, slot: int) -> None:
        """``slot``'s worker has ended or stopped accepting: the others no longer wait for it."""
        for socket_index in range(self.sockets):
            self.counts[socket_index * self.workers + slot] = _ABSENT

    def share(self, socket_index: int, slot: int) -> "ConnectionShare":
        return ConnectionShare(self, socket_index * self.workers, slot)


class ConnectionShare:
    """One worker's count of one listening socket's connections, beside its fellow workers' counts."""

    def __init__(self, table: ConnectionTable, base: int, slot: int) -> None:
        self._counts = table.counts
        self._mine = base + slot
        self._others = [base + other for other in range(table.workers) if other != slot]

    def opened(self) -> None:
        self._counts[self._mine] += 1

    def closed(self) -> None:
        self._counts[self._mine] -= 1

    def another_holds_fewer(self) -> bool:
        """Whether some other (live, accepting) worker holds fewer of this socket's connections."""
        mine = self._counts[self._mine]
        return any(self._counts[other] < mine for other in self._others)

    def leave(self) -> None:
        """This worker stops accepting."""
        self._counts[self._mine] = _ABSENT


class Workers:
    """``count`` worker processes of ``binary`` and the loop of the first process that watches them."""

    def __init__(self, binary: str, count: int, stop_timeout: float, restart_delay: float = _RESTART_DELAY,
                 sockets: int = 0) -> None:
        self.binary = binary
        self.count = count
        self.stop_timeout = stop_timeout
        self.restart_delay = restart_delay
        self.pids: dict[int, float] = {}  # worker pid -> when it was forked (time.monotonic)
        self.slots: dict[int, int] = {}  # worker pid -> its slot in the connection table
        self.slot: int | None = None  # in a worker: its own slot
        self.connections = ConnectionTable(count, sockets)
        self._due: list[float] = []  # when workers that ended early are to be replaced
        self._stopping: int | None = None  # the stop signal, once caught
        self._wakeup: tuple[int, int] | None = None
        self._previous: dict[int, Any] = {}
        self._parent = os.getpid()

    def share(self, socket_index: int) -> ConnectionShare:
        """In a worker: its count of the connections of listening socket ``socket_index`` (of ``sockets``)."""
        assert self.slot is not None, "only a worker holds connections"
        return self.connections.share(socket_index, self.slot)

    def run(self, on_ready: Callable[[], None], on_stop: Callable[[], None]) -> int | None:
        """Fork the workers, then watch them until a stop signal; ``None`` in a worker.

        Called with SIGTERM and SIGINT blocked.  In a worker it returns None
        with them still blocked: the caller installs its own handlers, then
        unblocks them, serves, and ends with ``exit_worker``.  In the first
        process ``on_ready`` runs once the workers are forked and ``on_stop``
        when a stop signal came (close the listening sockets); it returns the
        exit status once every worker has ended.
        """
        release_startup_resources()
        for _ in range(self.count):
            if self._fork():
                return None
        LOG.info("%s: %d workers serving: %s", self.binary, self.count, " ".join(map(str, self.pids)))
        self._catch_signals()
        on_ready()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        try:
            while self._stopping is None:
                if self._reap_and_replace():
                    return None
                self._sleep(self._next_due())
            LOG.info("%s: caught %s, stopping %d worker(s)", self.binary, signal.Signals(self._stopping).name,
                     len(self.pids))
            on_stop()
            self.stop()
        finally:
            if self._parent == os.getpid():  # (a worker forked by the loop returns through here too)
                self._restore_signals()
        return 0

    # -- the first process -----------------------------------------------------------------------------

    def _fork(self) -> bool:
        """Fork one worker into a free slot: True in it, False in the first process."""
        slot = min(set(range(self.count)) - set(self.slots.values()))
        # Taken before the fork: from now on the other workers leave new connections to this one (for up to
        # --wsgi_balance_wait while it starts) instead of taking a burst that comes before it runs.
        self.connections.occupy(slot)
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
        except OSError:
            self.connections.vacate(slot)
            raise
        if pid == 0:
            _become_worker(self._parent, self._wakeup)
            self.pids.clear()
            self.slots.clear()
            self.slot = slot
            return True
        self.pids[pid] = time.monotonic()
        self.slots[pid] = slot
        if self._wakeup is not None:  # the loop runs: stop signals reach it again
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        return False

    def _catch_signals(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self._wakeup = (read_fd, write_fd)

        def on_stop(signum: int, _frame: Any) -> None:
            if self._stopping is None:
                self._stopping = signum

        self._previous = {signum: signal.getsignal(signum) for signum in (*_STOP_SIGNALS, signal.SIGCHLD)}
        for signum in _STOP_SIGNALS:
            signal.signal(signum, on_stop)
        signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)  # only to wake the loop (wakeup fd)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)

    def _restore_signals(self) -> None:
        signal.set_wakeup_fd(-1)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if self._wakeup is not None:
            for fd in self._wakeup:
                os.close(fd)
            self._wakeup = None

    def _next_due(self) -> float | None:
        return max(0.0, min(self._due) - time.monotonic()) if self._due else None

    def _sleep(self, timeout: float | None) -> None:
        """Until a signal (a worker ended, a stop) or ``timeout`` seconds (None: no limit)."""
        if self._wakeup is None:  # signals not caught: just wait
            _select([], [], [], 0.02 if timeout is None else min(timeout, 0.02))
            return
        try:
            ready, _, _ = _select([self._wakeup[0]], [], [], timeout)
        except InterruptedError:
            return
        if ready:
            try:
                while _os.read(self._wakeup[0], 256):
                    pass
            except BlockingIOError:
                pass

    def _reap(self) -> list[tuple[int, int]]:
        """(pid, wait status) of the workers that have ended, forgotten."""
        ended = []
        for pid in list(self.pids):
            try:
                done, status = _os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                ended.append((pid, status))
        return ended

    def _reap_and_replace(self) -> bool:
        """Log and replace the workers that ended; True in a new worker."""
        now = time.monotonic()
        for pid, status in self._reap():
            started = self.pids.pop(pid)
            self.connections.vacate(self.slots.pop(pid))
            early = now - started < self.restart_delay
            LOG.warning("%s: worker %d %s after %.1fs; starting another%s", self.binary, pid, describe(status),
                        now - started, f" in {self.restart_delay:g}s" if early else "")
            self._due.append(now + self.restart_delay if early else now)
        while self._due and self._stopping is None and min(self._due) <= time.monotonic():
            self._due.remove(min(self._due))
            if self._fork():
                return True
            LOG.info("%s: worker %d started", self.binary, max(self.pids, key=self.pids.__getitem__))
        return False

    def stop(self) -> None:
        """SIGTERM to every worker; wait for them, killing those still running after ``stop_timeout`` seconds."""
        for pid in self.pids:
            _kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while self.pids:
            for pid, _status in self._reap():
                del self.pids[pid]
                self.connections.vacate(self.slots.pop(pid))
            if not self.pids:
                break
            if time.monotonic() > deadline:
                for pid in self.pids:
                    LOG.warning("%s: worker %d still runs %gs after SIGTERM; killing it", self.binary, pid,
                                self.stop_timeout)
                    _kill(pid, signal.SIGKILL)
                    try:
                        _os.waitpid(pid, 0)
                    except ChildProcessError:
                        pass
                self.pids.clear()
                self.slots.clear()
                break
            self._sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        self._due.clear()


def describe(status: int) -> str:
    """A wait status in words: ``was killed by SIGKILL``, ``exited with status 1``."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return f"was killed by {name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


# -- what a worker leaves behind --------------------------------------------------------------------------

def release_startup_resources() -> None:
    """Close what the first process opened while starting (database pool, broker connections, native
    threads), before it forks: a worker opens its own on first use."""
    session = sys.modules.get("nova.db.sqlalchemy.session")
    if session is not None:
        session.reset()
    client = sys.modules.get("nova.rpc.client")
    if client is not None:
        client.reset()
    tpool = sys.modules.get("eventlet.tpool")
    if tpool is not None:
        tpool.killall()
    diskio = sys.modules.get("nova.objectstore.diskio")
    if diskio is not None:
        diskio.reset()


def _become_worker(parent: int, wakeup: tuple[int, int] | None) -> None:
    os.environ.pop("NOTIFY_SOCKET", None)  # only the first process speaks to systemd
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the first process died before the line above took effect
        os._exit(0)
    if wakeup is not None:  # forked by the watching loop: its signal handling is not the worker's
        signal.set_wakeup_fd(-1)
        for fd in wakeup:
            os.close(fd)
        for signum in (*_STOP_SIGNALS, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
    _new_hub()


def _new_hub() -> None:
    """Give this (forked) process a hub of its own.

    An epoll set is shared by every process that inherited its descriptor:
    file descriptors one worker waits on would wake the others, and a ready
    one would keep waking them.  The inherited hub is closed and left behind
    with whatever it was to run.
    """
    from eventlet import hubs

    old = hubs.get_hub()
    _left_behind.append(old)
    poller = getattr(old, "poll", None)
    if poller is not None and hasattr(poller, "close"):
        poller.close()
    hubs.use_hub(type(old))


def exit_worker(status: int) -> None:
    """End a worker: flush the logs, leave the first process's exit handlers alone."""
    try:
        logging.shutdown()
    finally:
        os._exit(status)
