"""Placements side by side in greenthreads: each is counted once by every read of the process.

The race: placement A begins its usage read; placement B claims a host, and
its host is written before A's statement takes its snapshot.  A would count
B twice (from the database and as a claim).  The recording of B waits for A's
read now, so B is counted once, as a claim.
"""

import logging
import time

import eventlet
import pytest
from eventlet import event

from nova import context, flags
from nova.compute import states
from nova.db import api as db
from nova.scheduler import claims, manager
from tests.unit.scheduler.test_scheduler import add_host, instance

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()
# How long A's read waits for B's write to land before it gives up (B's write cannot land first any more).
B_WRITE_GRACE = 0.5


def place_side_by_side(monkeypatch, first_id, second_id):
    """Place ``first_id`` (A) and ``second_id`` (B) in two greenthreads of one scheduler, B's read, choice
    and write coming after A's read began and before A's statement, if B may write by then.  Returns the
    hosts and the order of the statements and writes."""
    FLAGS.scheduler_driver = "nova.scheduler.simple.SimpleScheduler"
    scheduler = manager.SchedulerManager(host="test-host")
    monkeypatch.setattr("nova.compute.rpcapi.ComputeAPI.run_instance", lambda *a: None)
    a_reading, b_recorded = event.Event(), event.Event()
    steps = []
    real_read, real_placed = db.compute_host_capacity, scheduler.driver.placed

    def read(*args, **kwargs):
        if not a_reading.ready():  # A's read: begun, not sent yet
            a_reading.send()
            b_recorded.wait(B_WRITE_GRACE)
            rows = real_read(*args, **kwargs)
            steps.append("A read")
            return rows
        return real_read(*args, **kwargs)

    def placed(instance_id):
        steps.append("A recorded" if instance_id == first_id else "B recorded")
        real_placed(instance_id)
        if instance_id == second_id:
            b_recorded.send()

    monkeypatch.setattr(db, "compute_host_capacity", read)
    monkeypatch.setattr(scheduler.driver, "placed", placed)
    a = eventlet.spawn(scheduler.run_instance, ADMIN, "compute", first_id)
    a_reading.wait()
    b = eventlet.spawn(scheduler.run_instance, ADMIN, "compute", second_id)
    hosts = a.wait(), b.wait()
    assert len(scheduler.driver.claims) == 0
    return hosts, steps


def test_a_host_written_while_another_placement_reads_keeps_the_last_room(sqlite_db, monkeypatch):
    FLAGS.max_cores = 2
    add_host("a")
    add_host("b")
    instance(host="b", vcpus=2)  # b is full; a has room for two
    first, second = instance(vcpus=1), instance(vcpus=1)
    hosts, steps = place_side_by_side(monkeypatch, first["id"], second["id"])
    # Counted twice, B would leave no room for A on a (NoValidHost: A in error).
    assert hosts == ("a", "a"), db.instance_get(ADMIN, first["id"])["fault"]
    assert steps.index("A read") < steps.index("B recorded")


def test_four_instances_launched_together_go_two_and_two(sqlite_db, monkeypatch):
    add_host("a")
    add_host("b")
    for _ in range(2):  # the first two of the four, placed and recorded
        instance(host="a")
    third, fourth = instance(), instance()
    hosts, steps = place_side_by_side(monkeypatch, third["id"], fourth["id"])
    # B goes to b; counted twice there, b would look as loaded as a and A would go to a: 3 + 1.
    assert sorted(hosts) == ["b", "b"]
    assert db.instance_get(ADMIN, third["id"])["vm_state"] == states.BUILDING
    assert steps.index("A read") < steps.index("B recorded")


def test_a_recording_waits_only_for_reads_older_than_its_claim():
    tally = claims.Claims()
    older, _ = tally.begin_read()
    mine, _ = tally.begin_read()
    tally.claim(1, "a", 1, 512)
    tally.end_read(mine)
    newer, unrecorded = tally.begin_read()  # begun after the claim: it leaves the claim out itself
    assert unrecorded == [1]
    done = []
    waiter = eventlet.spawn(lambda: done.append(tally.wait_for_older_reads(1)))
    eventlet.sleep(0)
    assert done == []  # the older read is still running
    tally.end_read(older)
    waiter.wait()
    assert done == [None] and tally.pending(newer) == {"a": {"instances": 1, "vcpus": 1, "memory_mb": 512}}


def test_a_recording_with_no_older_read_does_not_wait(monkeypatch):
    tally = claims.Claims()
    token, _ = tally.begin_read()
    tally.claim(1, "a", 1, 512)
    tally.end_read(token)
    monkeypatch.setattr(event.Event, "wait", lambda *a: pytest.fail("waited"))
    tally.wait_for_older_reads(1)
    tally.wait_for_older_reads(2)  # no claim (forgotten): nothing to wait for


def test_a_read_that_hangs_delays_recordings_once_by_the_bound_and_is_logged_once(caplog, monkeypatch):
    FLAGS.sql_pool_timeout = 1
    FLAGS.sql_connect_retry_seconds = 0.0
    tally = claims.Claims()
    hung, _ = tally.begin_read()
    for instance_id in (1, 2, 3):
        mine, _ = tally.begin_read()
        tally.claim(instance_id, "a", 1, 512)
        tally.end_read(mine)
    with caplog.at_level(logging.WARNING, logger="nova.scheduler.claims"):
        waiters = [eventlet.spawn(tally.wait_for_older_reads, instance_id) for instance_id in (1, 2)]
        started = time.monotonic()
        for waiter in waiters:
            waiter.wait()
        assert 0.9 < time.monotonic() - started < 10
        monkeypatch.setattr(event.Event, "wait", lambda *a: pytest.fail("waited"))
        tally.wait_for_older_reads(3)  # the hung read is no longer waited for
    assert len([r for r in caplog.records if "usage read" in r.getMessage()]) == 1
    tally.end_read(hung)
    assert len(tally) == 3  # unrecorded claims stay until recorded or forgotten
