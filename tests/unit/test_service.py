"""Service and Manager in one process on the memory transport and SQLite."""

import datetime
import logging

import eventlet
import pytest

from nova import context, flags, manager, rpc, service, utils
from nova.db import api as db
from nova.scheduler import rpcapi as scheduler_rpcapi

FLAGS = flags.FLAGS


@pytest.fixture
def started(sqlite_db):
    running = []

    def start(topic, host, **kwargs):
        svc = service.Service.create(binary=f"nova-{topic}", topic=topic, host=host, **kwargs)
        svc.start()
        running.append(svc)
        return svc

    yield start
    for svc in running:
        svc.stop(timeout=5)
    rpc.cleanup()


def _row(svc):
    return db.service_get(context.get_admin_context(), svc.service_id)


def test_start_registers_and_heartbeats(started):
    svc = started("compute", "h1", report_interval=1)
    row = _row(svc)
    assert (row["host"], row["binary"], row["topic"], row["availability_zone"]) == ("h1", "nova-compute", "compute", "nova")
    eventlet.sleep(2.3)
    assert _row(svc)["report_count"] >= 2
    assert service.service_is_up(_row(svc))


def test_heartbeats_stop_after_stop(started):
    svc = started("scheduler", "h1", report_interval=1)
    eventlet.sleep(1.2)
    svc.stop(timeout=1)
    count = _row(svc)["report_count"]
    eventlet.sleep(1.5)
    assert _row(svc)["report_count"] == count


def test_restart_reuses_the_row(started):
    first = started("network", "h1")
    first.stop(timeout=1)
    second = started("network", "h1")
    assert second.service_id == first.service_id


def test_lost_row_is_recreated(started):
    svc = started("compute", "h2", report_interval=60)
    db.service_destroy(context.get_admin_context(), svc.service_id)
    old_id = svc.service_id
    svc.report_state()
    assert svc.service_id != old_id
    assert _row(svc)["report_count"] == 1


def test_database_outage_is_logged_once_and_survived(started, monkeypatch, caplog):
    svc = started("compute", "h3", report_interval=60)

    def broken(ctxt, service_id):
        raise RuntimeError("connection refused")

    real = db.service_heartbeat
    monkeypatch.setattr(db, "service_heartbeat", broken)
    with caplog.at_level(logging.INFO, logger="nova.service"):
        svc.report_state()
        svc.report_state()
        monkeypatch.setattr(db, "service_heartbeat", real)
        svc.report_state()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Model server went away" in m for m in messages) == 1
    assert any("Model server is back" in m for m in messages)
    assert _row(svc)["report_count"] == 1


def test_capabilities_reach_the_scheduler_by_fanout(started):
    scheduler = started("scheduler", "s1")
    started("compute", "c1", periodic_interval=1)
    started("compute", "c2", periodic_interval=1)
    for _ in range(40):
        caps = scheduler_rpcapi.SchedulerAPI().get_service_capabilities(context.get_admin_context(), timeout=5)
        if {"c1", "c2"} <= set(caps):
            break
        eventlet.sleep(0.25)
    assert {"c1", "c2"} <= set(caps)
    assert caps["c1"]["compute"]["vcpus"] >= 1
    assert scheduler.manager.get_service_capabilities(None, "c2")["c2"]["compute"]["memory_mb"] > 0


def test_service_is_up_follows_service_down_time():
    now = utils.utcnow()
    fresh = {"updated_at": now - datetime.timedelta(seconds=5), "created_at": now}
    stale = {"updated_at": now - datetime.timedelta(seconds=FLAGS.service_down_time + 1), "created_at": now}
    never = {"updated_at": None, "created_at": now - datetime.timedelta(seconds=10)}
    assert service.service_is_up(fresh, now)
    assert not service.service_is_up(stale, now)
    assert service.service_is_up(never, now)


class _Periodic(manager.Manager):
    def __init__(self):
        super().__init__(host="p", db_driver=object())
        self.calls = []

    @manager.periodic_task
    def every_time(self, ctxt):
        self.calls.append("every")

    @manager.periodic_task(interval=3600)
    def hourly(self, ctxt):
        self.calls.append("hourly")

    @manager.periodic_task
    def broken(self, ctxt):
        raise ValueError("boom")


def test_periodic_tasks_honour_intervals_and_survive_failures():
    mgr = _Periodic()
    mgr.periodic_tasks(context.get_admin_context())
    mgr.periodic_tasks(context.get_admin_context())
    assert mgr.calls.count("every") == 2
    assert mgr.calls.count("hourly") == 1
