"""nova.objectstore.diskio: blocking disk work in native threads while the hub serves other greenthreads."""

import eventlet
import eventlet.hubs
import eventlet.patcher
import pytest

from nova import flags
from nova.objectstore import diskio

_threading = eventlet.patcher.original("threading")
_time = eventlet.patcher.original("time")


def _disk_thread_ids() -> set[int]:
    return {t.ident for t in _threading.enumerate() if t.name.startswith("s3-disk-io-")}


def _reset_and_wait() -> None:
    """Stop the disk threads and wait until they are gone (``reset`` does not wait), so that a test counts
    and times only the threads it starts."""
    diskio.reset()
    deadline = _time.monotonic() + 5
    while _disk_thread_ids() and _time.monotonic() < deadline:
        _time.sleep(0.01)


@pytest.fixture(autouse=True)
def fresh_threads():
    _reset_and_wait()
    yield
    diskio.reset()


def test_a_blocking_call_runs_in_a_native_thread_while_other_greenthreads_go_on():
    ticks = []

    def ticker():
        for _ in range(10):
            ticks.append(_time.monotonic())
            eventlet.sleep(0.01)

    def blocking():
        _time.sleep(0.15)  # the unpatched sleep: it would stop the hub if it ran on it
        return _threading.get_ident()

    diskio.call(lambda: None)  # the threads start first: not timed (slower while a previous test's threads end)
    thread = eventlet.spawn(ticker)
    eventlet.sleep(0)
    started = _time.monotonic()
    ran_in = diskio.call(blocking)
    thread.wait()
    assert ran_in != _threading.get_ident()
    assert sum(1 for tick in ticks if started < tick < started + 0.15) >= 5
    assert diskio.offloads()


def test_an_exception_in_the_thread_is_raised_in_the_caller():
    def fail(path):
        raise FileNotFoundError(2, "gone", path)

    with pytest.raises(FileNotFoundError) as raised:
        diskio.call(fail, "/nowhere")
    assert raised.value.filename == "/nowhere"
    assert diskio.call(lambda: "still works") == "still works"


def test_concurrent_calls_each_get_their_own_result():
    def job(n):
        _time.sleep(0.001 * (n % 3))
        return n * n

    pool = eventlet.GreenPool(64)
    results = list(pool.imap(lambda n: diskio.call(job, n), range(500)))
    assert results == [n * n for n in range(500)]


def test_a_greenthread_killed_while_waiting_is_not_woken_by_its_job():
    release = _threading.Event()
    woken = []

    def waiter():
        try:
            diskio.call(release.wait, 5)
        finally:
            woken.append("left")
        eventlet.sleep(1)  # were the job's result delivered here, this would end early
        woken.append("slept")

    thread = eventlet.spawn(waiter)
    eventlet.sleep(0.05)
    thread.kill()
    assert woken == ["left"]
    release.set()
    assert diskio.call(lambda: 7) == 7  # the killed one's result came and went
    eventlet.sleep(0.05)
    assert woken == ["left"]


def test_a_call_made_in_a_native_thread_or_without_threads_runs_in_place():
    inner = []

    def outer():
        inner.append(diskio.call(_threading.get_ident))
        return _threading.get_ident()

    outer_thread = diskio.call(outer)
    assert inner == [outer_thread]

    flags.FLAGS.s3_io_threads = 0
    diskio.reset()
    assert diskio.call(_threading.get_ident) == _threading.get_ident()
    assert not diskio.offloads()


def test_reset_ends_the_threads_and_the_next_call_starts_new_ones():
    diskio.call(lambda: None)
    before = _disk_thread_ids()
    assert len(before) == flags.FLAGS.s3_io_threads
    diskio.reset()
    deadline = _time.monotonic() + 5
    while [t for t in _threading.enumerate() if t.ident in before] and _time.monotonic() < deadline:
        _time.sleep(0.01)
    assert not [t for t in _threading.enumerate() if t.ident in before]
    assert diskio.call(lambda: 3) == 3
    after = _disk_thread_ids()
    assert len(after) == flags.FLAGS.s3_io_threads


def test_a_greenlet_dying_of_its_error_does_not_keep_the_others_waiting(caplog):
    import greenlet

    def dies():
        diskio.call(_time.sleep, 0.05)
        raise RuntimeError("unhandled, and nothing above it catches it")

    hub = eventlet.hubs.get_hub()
    bare = greenlet.greenlet(dies, parent=hub.greenlet)  # not an eventlet GreenThread: its error reaches the hub
    hub.schedule_call_global(0, bare.switch)
    eventlet.sleep(0.01)
    others = [eventlet.spawn(diskio.call, _time.sleep, 0.05) for _ in range(20)]
    with eventlet.Timeout(10):  # were the eventfd dropped, they would wait for ever
        assert [other.wait() for other in others] == [None] * 20
    assert bare.dead
    assert "died of an unhandled error" in caplog.text and "nothing above it catches it" in caplog.text


def test_reset_does_not_wait_for_a_job_in_progress_and_leaves_no_descriptor_behind():
    import os

    diskio.call(lambda: None)
    diskio.reset()
    _time.sleep(0.2)
    descriptors = len(os.listdir("/proc/self/fd"))
    release = _threading.Event()
    waiting = eventlet.spawn(diskio.call, release.wait, 10)
    eventlet.sleep(0.05)
    started = _time.monotonic()
    diskio.reset()  # as the first process does before it forks: nobody should be waiting then
    assert _time.monotonic() - started < 0.5
    waiting.kill()
    release.set()
    deadline = _time.monotonic() + 5
    while len(os.listdir("/proc/self/fd")) > descriptors and _time.monotonic() < deadline:
        _time.sleep(0.01)
    assert len(os.listdir("/proc/self/fd")) == descriptors  # the last thread closed the eventfd
