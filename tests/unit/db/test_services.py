"""Services, heartbeats and compute nodes through nova.db.api."""

import datetime

import eventlet
import pytest

from nova import context, exception, utils
from nova.db import api as db


@pytest.fixture
def admin():
    return context.get_admin_context()


def make_service(ctxt, host="host1", binary="nova-compute", topic="compute", **extra):
    return db.service_create(ctxt, {"host": host, "binary": binary, "topic": topic, **extra})


def test_service_create_and_lookups(db_url, admin):
    service = make_service(admin, availability_zone="zone1")
    assert service["report_count"] == 0 and service["disabled"] is False
    assert service["created_at"] is not None and service["deleted"] is False

    assert db.service_get(admin, service["id"])["availability_zone"] == "zone1"
    assert db.service_get_by_args(admin, "host1", "nova-compute")["id"] == service["id"]
    with pytest.raises(exception.ServiceNotFound):
        db.service_get_by_args(admin, "host1", "nova-volume")
    with pytest.raises(exception.ServiceNotFound):
        db.service_get(admin, service["id"] + 1000)


def test_service_listings(db_url, admin):
    compute1 = make_service(admin, "host1")
    compute2 = make_service(admin, "host2", disabled=True)
    volume = make_service(admin, "host1", "nova-volume", "volume")

    assert [s["id"] for s in db.service_get_all(admin)] == [compute1["id"], compute2["id"], volume["id"]]
    assert [s["id"] for s in db.service_get_all(admin, disabled=True)] == [compute2["id"]]
    assert [s["id"] for s in db.service_get_all(admin, disabled=False)] == [compute1["id"], volume["id"]]
    assert [s["id"] for s in db.service_get_all_by_topic(admin, "compute")] == [compute1["id"]]
    assert [s["id"] for s in db.service_get_all_by_host(admin, "host1")] == [compute1["id"], volume["id"]]


def test_service_update_and_soft_destroy(db_url, admin):
    service = make_service(admin)
    updated = db.service_update(admin, service["id"], {"disabled": True})
    assert updated["disabled"] is True and updated["updated_at"] is not None

    db.service_destroy(admin, service["id"])
    with pytest.raises(exception.ServiceNotFound):
        db.service_get(admin, service["id"])
    assert db.service_get_all(admin) == []
    with pytest.raises(exception.ServiceNotFound):
        db.service_destroy(admin, service["id"])

    deleted = db.service_get(context.get_admin_context(read_deleted=True), service["id"])
    assert deleted["deleted"] is True and deleted["deleted_at"] is not None


def test_services_need_an_admin_context(db_url):
    with pytest.raises(exception.AdminRequired):
        db.service_get_all(context.RequestContext("alice", "proj"))


def test_heartbeat_counts_and_stamps(db_url, admin):
    service = make_service(admin)
    before = utils.utcnow() - datetime.timedelta(seconds=1)
    beat = db.service_heartbeat(admin, service["id"])
    assert beat["report_count"] == 1
    assert beat["updated_at"] is not None and beat["updated_at"] >= before.replace(microsecond=0)
    assert db.service_heartbeat(admin, service["id"])["report_count"] == 2
    assert db.service_get(admin, service["id"])["report_count"] == 2


def test_concurrent_heartbeats_all_count(db_url, admin):
    service = make_service(admin)
    pool = eventlet.GreenPool(20)
    counts = list(pool.imap(lambda _i: db.service_heartbeat(admin, service["id"])["report_count"], range(20)))
    assert sorted(counts) == list(range(1, 21))
    assert db.service_get(admin, service["id"])["report_count"] == 20


def test_heartbeat_of_a_deleted_service_raises_not_found(db_url, admin):
    service = make_service(admin)
    db.service_destroy(admin, service["id"])
    with pytest.raises(exception.ServiceNotFound):
        db.service_heartbeat(admin, service["id"])


def test_compute_node_create_get_update(db_url, admin):
    service = make_service(admin)
    node = db.compute_node_create(admin, {"service_id": service["id"], "vcpus": 4, "memory_mb": 8192,
                                          "local_gb": 100, "vcpus_used": 0, "memory_mb_used": 512,
                                          "local_gb_used": 0, "hypervisor_type": "fake",
                                          "hypervisor_version": 1, "cpu_info": "{}"})
    assert db.compute_node_get_by_service(admin, service["id"])["id"] == node["id"]
    db.compute_node_update(admin, node["id"], {"vcpus_used": 2})
    assert db.compute_node_get_by_service(admin, service["id"])["vcpus_used"] == 2

    db.service_destroy(admin, service["id"])
    with pytest.raises(exception.NotFound):
        db.compute_node_get_by_service(admin, service["id"])


def test_compute_node_of_an_unknown_service_is_refused(db_url, admin):
    with pytest.raises(exception.InvalidInput):
        db.compute_node_create(admin, {"service_id": 12345, "vcpus": 1})
