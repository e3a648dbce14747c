"""nova.workers: forking workers, replacing those that die, stopping them all.

The first process's loop runs in the test process; what a test does while it
runs (kill a worker, send the stop signal) is done by a native thread started
from ``on_ready``.  A worker (the test process forked) does what the test asks,
then leaves with ``os._exit`` and never returns into pytest.
"""

import logging
import os
import signal
import sys
import time

import eventlet.patcher
import pytest

from nova import workers

_threading = eventlet.patcher.original("threading")
pytestmark = pytest.mark.filterwarnings("ignore:Using fork")


@pytest.fixture(autouse=True)
def _no_release(monkeypatch):
    """The loop would dispose of the test process's database engine; tested on its own below."""
    monkeypatch.setattr(workers, "release_startup_resources", lambda: None)


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return "zombie" not in handle.read()
    except FileNotFoundError:
        return False


def _run(group: workers.Workers, worker, driver):
    """Run ``group`` here; ``worker()`` in each worker, ``driver(group)`` in a thread once they are forked.

    Returns (status, seconds the stop took, [on_stop calls]).
    """
    stops: list[float] = []
    errors: list[BaseException] = []
    main = _threading.get_ident()

    def drive():
        try:
            driver(group)
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)
        stops.append(time.monotonic())
        signal.pthread_kill(main, signal.SIGTERM)

    def on_ready():
        _threading.Thread(target=drive, daemon=True).start()

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        status = group.run(on_ready, lambda: stops.append(time.monotonic()))
        if status is None:  # a worker
            code = 0
            try:
                worker()
            except BaseException:  # noqa: BLE001
                code = 99
            os._exit(code)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    if errors:
        raise errors[0]
    return status, time.monotonic() - stops[0], stops


def _serve_until_sigterm(record_dir=None):
    """What a worker does here: note its pid (and what it inherited), then wait for SIGTERM as it would."""
    def worker():
        if record_dir is not None:
            from eventlet import hubs

            inherited = workers._left_behind[-1] if workers._left_behind else None
            facts = f"{hubs.get_hub() is not inherited} {os.environ.get('NOTIFY_SOCKET', '-')}"
            with open(os.path.join(record_dir, str(os.getpid())), "w") as handle:
                handle.write(facts)
        signal.sigtimedwait({signal.SIGTERM, signal.SIGINT}, 30)

    return worker


def test_workers_serve_and_all_stop_on_sigterm(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", "/run/systemd/notify")
    seen = {}
    handlers = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)]

    def driver(group):
        _wait_for(lambda: len(os.listdir(tmp_path)) == 2)
        seen["pids"] = sorted(group.pids)

    status, seconds, stops = _run(workers.Workers("nova-test", 2, stop_timeout=5), _serve_until_sigterm(tmp_path),
                                  driver)
    assert status == 0 and len(stops) == 2  # the driver's stop, then on_stop once
    assert sorted(int(name) for name in os.listdir(tmp_path)) == seen["pids"]
    # Each worker runs a hub of its own and does not speak to systemd; the first process still may.
    assert {(tmp_path / name).read_text() for name in os.listdir(tmp_path)} == {"True -"}
    assert os.environ["NOTIFY_SOCKET"] == "/run/systemd/notify"
    assert not any(_alive(pid) for pid in seen["pids"])
    assert seconds < 2
    assert [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)] == handlers


def test_a_worker_that_is_killed_is_replaced(tmp_path, caplog):
    seen = {}

    def driver(group):
        _wait_for(lambda: len(group.pids) == 2)
        first = sorted(group.pids)
        os.kill(first[0], signal.SIGKILL)
        _wait_for(lambda: len(group.pids) == 2 and first[0] not in group.pids)
        seen["first"], seen["then"] = first, sorted(group.pids)

    caplog.set_level(logging.INFO, logger="nova.workers")
    group = workers.Workers("nova-test", 2, stop_timeout=5, restart_delay=0)
    status, seconds, _ = _run(group, _serve_until_sigterm(), driver)
    assert status == 0 and seconds < 2
    first, then = seen["first"], seen["then"]
    assert first[1] in then and len(set(then) - set(first)) == 1
    replaced = [r.getMessage() for r in caplog.records if "was killed by SIGKILL" in r.getMessage()]
    assert len(replaced) == 1 and f"worker {first[0]} was killed by SIGKILL" in replaced[0]
    assert not any(_alive(pid) for pid in first + then)


def test_a_worker_that_ends_at_once_is_replaced_after_the_restart_delay(caplog):
    forks: list[float] = []

    def driver(group):
        _wait_for(lambda: len(forks) >= 3)

    group = workers.Workers("nova-test", 1, stop_timeout=5, restart_delay=0.3)
    real_fork = group._fork

    def fork():
        forks.append(time.monotonic())
        return real_fork()

    group._fork = fork
    caplog.set_level(logging.WARNING, logger="nova.workers")
    status, _, _ = _run(group, lambda: os._exit(3), driver)
    assert status == 0
    gaps = [b - a for a, b in zip(forks, forks[1:])]
    assert all(gap >= 0.3 for gap in gaps), gaps
    assert any("exited with status 3" in r.getMessage() and "starting another in 0.3s" in r.getMessage()
               for r in caplog.records)


def test_a_worker_that_will_not_stop_is_killed_after_the_stop_timeout(caplog):
    def stubborn():
        time.sleep(30)  # SIGTERM stays blocked: never handled

    def driver(group):
        _wait_for(lambda: len(group.pids) == 1)
        driver.pid = next(iter(group.pids))

    caplog.set_level(logging.WARNING, logger="nova.workers")
    status, seconds, _ = _run(workers.Workers("nova-test", 1, stop_timeout=0.5), stubborn, driver)
    assert status == 0 and 0.4 < seconds < 2
    assert not _alive(driver.pid)
    assert any(f"worker {driver.pid} still runs 0.5s after SIGTERM; killing it" in r.getMessage()
               for r in caplog.records)


def test_describe_wait_statuses():
    assert workers.describe(signal.SIGKILL) == "was killed by SIGKILL"
    assert workers.describe(3 << 8) == "exited with status 3"
    assert workers.describe(0) == "exited with status 0"


def test_the_first_process_closes_its_database_and_broker_connections_before_forking(monkeypatch):
    closed = []

    class Module:
        def __init__(self, name):
            self.name = name

        def reset(self):
            closed.append(self.name)

        def killall(self):
            closed.append(self.name)

    monkeypatch.undo()  # the real release_startup_resources
    names = ["nova.db.sqlalchemy.session", "nova.rpc.client", "eventlet.tpool", "nova.objectstore.diskio"]
    for name in names:
        monkeypatch.setitem(sys.modules, name, Module(name))
    workers.release_startup_resources()
    assert closed == names


def test_the_connection_table_leaves_new_connections_to_the_worker_holding_fewest():
    table = workers.ConnectionTable(workers=3, sockets=2)
    table.occupy(0)
    table.occupy(1)  # slot 2: no worker yet
    first, second = table.share(0, 0), table.share(0, 1)
    other_socket = table.share(1, 0)
    assert not first.another_holds_fewer() and not second.another_holds_fewer()
    first.opened()
    assert first.another_holds_fewer() and not second.another_holds_fewer()
    other_socket.opened()
    other_socket.opened()  # another socket's connections count apart
    second.opened()
    assert not first.another_holds_fewer()
    first.closed()
    assert second.another_holds_fewer()
    table.occupy(2)  # a new worker holds none: both leave new connections to it
    assert first.another_holds_fewer() is False and second.another_holds_fewer()
    assert table.share(0, 2).another_holds_fewer() is False
    table.vacate(2)  # it ended: nobody waits for it
    second.leave()  # stopping: nobody waits for it either
    assert not first.another_holds_fewer()
