"""VolumeManager: outcomes recorded in the database, init_host restoring exports and settling work
that a stopped nova-volume left half done."""

from nova import context, exception
from nova.db import api as db
from nova.volume import manager
from tests.unit.volume.fakes import MemoryDriver

ADMIN = context.get_admin_context()


def volume(status="creating", host="v1", size=1):
    return db.volume_create(ADMIN, {"project_id": "p", "user_id": "u", "size": size, "status": status,
                                    "host": host})


def test_create_exports_and_records_where(sqlite_db):
    mgr = manager.VolumeManager(host="v1", volume_driver=MemoryDriver())
    row = volume(host=None)
    mgr.create_volume(ADMIN, row["id"])
    row = db.volume_get(ADMIN, row["id"])
    assert (row["status"], row["host"], row["fault"]) == ("available", "v1", None)
    assert mgr.driver.exports[row["name"]] == 1
    second = volume(host=None)
    mgr.create_volume(ADMIN, second["id"])
    assert mgr.driver.exports[db.volume_get(ADMIN, second["id"])["name"]] == 2  # one tid per volume


def test_init_host_restores_exports_and_settles_interrupted_work(sqlite_db):
    first = manager.VolumeManager(host="v1", volume_driver=MemoryDriver())
    kept = volume(host=None)
    first.create_volume(ADMIN, kept["id"])
    stuck = volume(status="creating")
    leaving = volume(status="available", host=None)
    first.create_volume(ADMIN, db.volume_update(ADMIN, leaving["id"], {"status": "creating"})["id"])
    db.volume_update(ADMIN, leaving["id"], {"status": "deleting"})
    elsewhere = volume(status="available", host="v2")

    restarted = manager.VolumeManager(host="v1", volume_driver=MemoryDriver())  # tgtd lost every target
    restarted.init_host()
    assert restarted.driver.exports == {db.volume_get(ADMIN, kept["id"])["name"]: 1}
    assert db.volume_get(ADMIN, stuck["id"])["status"] == "error"
    assert "stopped while creating" in db.volume_get(ADMIN, stuck["id"])["fault"]
    assert [v["id"] for v in db.volume_get_all(ADMIN)] == [kept["id"], stuck["id"], elsewhere["id"]]


def test_a_busy_volume_stays_available_with_the_reason(sqlite_db):
    class Busy(MemoryDriver):
        def delete_volume(self, volume):
            raise exception.VolumeIsBusy(volume_name=volume["name"], reason="it has snapshots")

    mgr = manager.VolumeManager(host="v1", volume_driver=Busy())
    row = volume(host=None)
    mgr.create_volume(ADMIN, row["id"])
    db.volume_update(ADMIN, row["id"], {"status": "deleting"})
    mgr.delete_volume(ADMIN, row["id"])
    row = db.volume_get(ADMIN, row["id"])
    assert row["status"] == "available" and "it has snapshots" in row["fault"]
    assert row["name"] in mgr.driver.exports


def test_attached_volumes_are_not_deleted(sqlite_db):
    mgr = manager.VolumeManager(host="v1", volume_driver=MemoryDriver())
    row = volume(host=None)
    mgr.create_volume(ADMIN, row["id"])
    db.volume_update(ADMIN, row["id"], {"status": "deleting", "instance_id": None})
    instance = db.instance_create(ADMIN, {"project_id": "p", "user_id": "u"})
    db.volume_attached(ADMIN, row["id"], instance["id"], "/dev/vdb")
    mgr.delete_volume(ADMIN, row["id"])
    assert db.volume_get(ADMIN, row["id"])["status"] == "in-use"
    assert row["name"] in mgr.driver.volumes
