"""Where volumes go: the simple scheduler by gigabytes under --max_gigabytes; a volume made from a
snapshot on the snapshot's host; an unplaceable volume ends in error with the reason."""

import pytest

from nova import context, exception, flags
from nova.db import api as db
from nova.scheduler import manager, simple
from tests.unit.scheduler.test_scheduler import add_host

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()


def volume_host(host, **kwargs):
    service = add_host(host, **kwargs)
    return db.service_update(ADMIN, service["id"], {"topic": "volume", "binary": "nova-volume"})


def volume(size, host=None, status="creating"):
    return db.volume_create(ADMIN, {"project_id": "p", "user_id": "u", "size": size, "host": host,
                                    "status": status})


def test_simple_places_volumes_by_gigabytes_up_to_max_gigabytes(sqlite_db):
    FLAGS.max_gigabytes = 10
    volume_host("a")
    volume_host("b")
    volume(6, host="a")
    volume(3, host="b")
    driver = simple.SimpleScheduler()
    assert driver.schedule_create_volume(ADMIN, "volume", volume(2)["id"]) == "b"
    volume(5, host="b")  # b now holds 8
    assert driver.schedule_create_volume(ADMIN, "volume", volume(4)["id"]) == "a"
    with pytest.raises(exception.NoValidHost, match="max_gigabytes 10"):
        driver.schedule_create_volume(ADMIN, "volume", volume(5)["id"])


def test_a_volume_from_a_snapshot_goes_to_the_snapshots_host(sqlite_db, monkeypatch):
    volume_host("a")
    volume_host("b")
    source = volume(1, host="b", status="available")
    snapshot = db.snapshot_create(ADMIN, {"project_id": "p", "volume_id": source["id"], "volume_size": 1,
                                          "status": "available", "host": "b"})
    sent = []
    monkeypatch.setattr("nova.volume.rpcapi.VolumeAPI.create_volume",
                        lambda self, ctxt, host, volume_id, snapshot_id=None: sent.append((host, volume_id)))
    new = volume(2)
    assert manager.SchedulerManager().create_volume(ADMIN, "volume", new["id"], snapshot_id=snapshot["id"]) == "b"
    assert sent == [("b", new["id"])] and db.volume_get(ADMIN, new["id"])["host"] == "b"


def test_no_volume_host_puts_the_volume_in_error_with_the_reason(sqlite_db):
    lost = volume(1)
    assert manager.SchedulerManager().create_volume(ADMIN, "volume", lost["id"]) is None
    row = db.volume_get(ADMIN, lost["id"])
    assert row["status"] == "error" and "no volume host is up" in row["fault"]
