"""Scheduler drivers and SchedulerManager.run_instance: live, enabled hosts only; errors with reasons."""

import datetime

import pytest

from nova import context, exception, flags, utils
from nova.compute import states
from nova.db import api as db
from nova.scheduler import chance, manager, simple
from tests.fixtures.rpc import FakeManagerBase, wait_for
from tests.fixtures.sql import counting_statements

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()


def add_host(host, disabled=False, stale=False, zone="nova", memory_mb=None):
    service = db.service_create(ADMIN, {"host": host, "binary": "nova-compute", "topic": "compute",
                                        "disabled": disabled, "availability_zone": zone})
    db.service_heartbeat(ADMIN, service["id"])
    if stale:
        old = utils.utcnow() - datetime.timedelta(seconds=FLAGS.service_down_time + 5)
        db.service_update(ADMIN, service["id"], {"updated_at": old, "created_at": old})
    if memory_mb is not None:
        db.compute_node_create(ADMIN, {"service_id": service["id"], "vcpus": 16, "memory_mb": memory_mb,
                                       "local_gb": 100})
    return service


def instance(host=None, vcpus=1, memory_mb=512, vm_state=states.BUILDING):
    return db.instance_create(ADMIN, {"project_id": "p", "user_id": "u", "vcpus": vcpus, "memory_mb": memory_mb,
                                      "local_gb": 0, "vm_state": vm_state, "task_state": states.SCHEDULING,
                                      "host": host})


def test_chance_picks_only_live_enabled_hosts(sqlite_db):
    add_host("up-1")
    add_host("off", disabled=True)
    add_host("dead", stale=True)
    user = context.RequestContext("u", "p")
    assert {chance.ChanceScheduler().schedule(user, "compute") for _ in range(20)} == {"up-1"}


def test_no_host_at_all_is_no_valid_host(sqlite_db):
    add_host("dead", stale=True)
    with pytest.raises(exception.NoValidHost, match="no compute host is up"):
        chance.ChanceScheduler().schedule(ADMIN, "compute")


def test_simple_picks_the_least_loaded_and_honours_max_cores(sqlite_db):
    FLAGS.max_cores = 4
    add_host("a")
    add_host("b")
    instance(host="a", vcpus=2)
    instance(host="b", vcpus=3)
    instance(host="b", vcpus=4, vm_state=states.ERROR)  # error instances hold nothing
    driver = simple.SimpleScheduler()
    assert driver.schedule_run_instance(ADMIN, "compute", instance(vcpus=2)["id"]) == "a"
    with pytest.raises(exception.NoValidHost, match="at capacity"):
        driver.schedule_run_instance(ADMIN, "compute", instance(vcpus=3)["id"])


def test_simple_respects_the_memory_the_node_reports(sqlite_db):
    add_host("small", memory_mb=1024)
    add_host("big", memory_mb=8192)
    instance(host="big", vcpus=1, memory_mb=4096)
    # "small" is less loaded but has no room for 2 GB.
    assert simple.SimpleScheduler().schedule_run_instance(ADMIN, "compute", instance(memory_mb=2048)["id"]) == "big"


def test_forced_host_is_for_admins_and_must_be_alive(sqlite_db):
    add_host("a")
    add_host("b", disabled=True)
    driver = simple.SimpleScheduler()
    target = instance()
    assert driver.schedule_run_instance(ADMIN, "compute", target["id"], forced_host="a") == "a"
    with pytest.raises(exception.NoValidHost, match="host b is down, disabled"):
        driver.schedule_run_instance(ADMIN, "compute", target["id"], forced_host="b")
    with pytest.raises(exception.NotAuthorized):
        driver.schedule_run_instance(context.RequestContext("u", "p"), "compute", target["id"], forced_host="a")


def test_availability_zone_limits_the_hosts(sqlite_db):
    add_host("east-1", zone="east")
    add_host("west-1", zone="west")
    driver = simple.SimpleScheduler()
    assert driver.schedule_run_instance(ADMIN, "compute", instance()["id"], availability_zone="west") == "west-1"
    with pytest.raises(exception.NoValidHost, match="in zone north"):
        driver.schedule_run_instance(ADMIN, "compute", instance()["id"], availability_zone="north")


class RecordingCompute(FakeManagerBase):
    def __init__(self, host=None):
        super().__init__(host)
        self.ran = []

    def run_instance(self, ctxt, instance_id):
        self.ran.append(instance_id)


def test_manager_records_the_host_and_casts_to_it(sqlite_db, memory_rpc):
    FLAGS.scheduler_driver = "nova.scheduler.simple.SimpleScheduler"
    add_host("host-a")
    compute = RecordingCompute("host-a")
    topic = memory_rpc.topic("compute")
    memory_rpc.server(topic, compute, host="host-a")
    db.service_update(ADMIN, db.service_get_by_args(ADMIN, "host-a", "nova-compute")["id"], {"topic": topic})
    scheduler = manager.SchedulerManager(host="test-host")
    target = instance()
    assert scheduler.run_instance(context.RequestContext("u", "p"), topic, target["id"]) == "host-a"
    row = db.instance_get(ADMIN, target["id"])
    assert row["host"] == "host-a" and row["scheduled_at"] is not None
    wait_for(lambda: compute.ran == [target["id"]])
    # A duplicate request does not place it twice.
    assert scheduler.run_instance(ADMIN, topic, target["id"]) == "host-a"


def test_manager_puts_unplaceable_instances_in_error_with_the_reason(sqlite_db, memory_rpc):
    add_host("dead", stale=True)
    scheduler = manager.SchedulerManager(host="test-host")
    target = instance()
    assert scheduler.run_instance(ADMIN, "compute", target["id"]) is None
    row = db.instance_get(ADMIN, target["id"])
    assert (row["vm_state"], row["task_state"]) == (states.ERROR, None)
    assert "No valid host was found" in row["fault"]


def test_simple_weighs_only_live_enabled_hosts_of_the_zone(sqlite_db):
    # The emptiest hosts are each out for one reason: the busy one in the zone wins.
    add_host("off", disabled=True)
    add_host("dead", stale=True)
    add_host("elsewhere", zone="other")
    add_host("b")
    instance(host="b", vcpus=3)
    target = instance()
    assert simple.SimpleScheduler().schedule_run_instance(ADMIN, "compute", target["id"],
                                                          availability_zone="nova") == "b"
    with pytest.raises(exception.NoValidHost, match="in zone nowhere"):
        simple.SimpleScheduler().schedule_run_instance(ADMIN, "compute", target["id"],
                                                       availability_zone="nowhere")


def test_instances_no_scheduler_placed_in_time_end_in_error(sqlite_db):
    scheduler = manager.SchedulerManager(host="test-host")
    old = utils.utcnow() - datetime.timedelta(seconds=FLAGS.instance_build_timeout + 5)
    lost, fresh, placed = instance(), instance(), instance(host="h1")
    for row in (lost, placed):
        db.instance_update(ADMIN, row["id"], {"created_at": old})
    scheduler._fail_unplaced_instances(ADMIN)
    row = db.instance_get(ADMIN, lost["id"])
    assert (row["vm_state"], row["task_state"]) == (states.ERROR, None)
    assert "no scheduler placed it" in row["fault"]
    assert db.instance_get(ADMIN, fresh["id"])["vm_state"] == states.BUILDING
    assert db.instance_get(ADMIN, placed["id"])["vm_state"] == states.BUILDING


def test_simple_counts_its_own_placements_not_yet_recorded(sqlite_db):
    """Placements run without a lock: one whose host is not in the database yet still takes room."""
    FLAGS.max_cores = 2
    add_host("a")
    add_host("b")
    driver = simple.SimpleScheduler()
    first, second = instance(vcpus=2), instance(vcpus=2)
    hosts = {driver.schedule_run_instance(ADMIN, "compute", first["id"]),
             driver.schedule_run_instance(ADMIN, "compute", second["id"])}
    assert hosts == {"a", "b"}
    with pytest.raises(exception.NoValidHost, match="at capacity"):
        driver.schedule_run_instance(ADMIN, "compute", instance(vcpus=2)["id"])


def test_simple_drops_a_claim_once_the_database_shows_it(sqlite_db):
    FLAGS.max_cores = 2
    add_host("a")
    driver = simple.SimpleScheduler()
    placed = instance(vcpus=1)
    assert driver.schedule_run_instance(ADMIN, "compute", placed["id"]) == "a"
    db.instance_update(ADMIN, placed["id"], {"host": "a"})
    driver.placed(placed["id"])
    # counted once (from the database), not twice: one more core still fits
    assert driver.schedule_run_instance(ADMIN, "compute", instance(vcpus=1)["id"]) == "a"
    assert len(driver.claims) == 1  # only the unrecorded second one is kept


def test_placing_an_instance_costs_three_statements(sqlite_db, memory_rpc):
    # The instance, the live hosts with their use, the compare-and-set of the host: no more, however many
    # hosts there are (a per-host or per-read query would make this grow back).
    FLAGS.scheduler_driver = "nova.scheduler.simple.SimpleScheduler"
    for n in range(5):
        add_host(f"host-{n}", memory_mb=8192)
        instance(host=f"host-{n}")
    scheduler = manager.SchedulerManager(host="test-host")
    scheduler.run_instance(ADMIN, "compute", instance()["id"])  # warm-up
    target = instance()
    with counting_statements() as statements:
        assert scheduler.run_instance(ADMIN, "compute", target["id"]) is not None
    assert len(statements) == 3, statements


def test_placing_an_instance_whose_size_came_with_the_request_costs_two_statements(sqlite_db, memory_rpc):
    """nova-api sends the instance's vcpus and memory: the hosts with their use and the compare-and-set."""
    FLAGS.scheduler_driver = "nova.scheduler.simple.SimpleScheduler"
    add_host("host-a", memory_mb=8192)
    add_host("host-b", memory_mb=8192)
    instance(host="host-a")
    scheduler = manager.SchedulerManager(host="test-host")
    target = instance()
    with counting_statements() as statements:
        assert scheduler.run_instance(ADMIN, "compute", target["id"], vcpus=1, memory_mb=512) == "host-b"
    assert len(statements) == 2, statements
    assert db.instance_get(ADMIN, target["id"])["host"] == "host-b"
    # Delivered again, or for an instance deleted or failed meanwhile: the compare-and-set sends nothing on.
    assert scheduler.run_instance(ADMIN, "compute", target["id"], vcpus=1, memory_mb=512) is None
    gone = instance()
    db.instance_destroy(ADMIN, gone["id"])
    assert scheduler.run_instance(ADMIN, "compute", gone["id"], vcpus=1, memory_mb=512) is None
    assert len(scheduler.driver.claims) == 0


def test_an_unplaceable_instance_deleted_meanwhile_is_left_deleted(sqlite_db, memory_rpc):
    add_host("dead", stale=True)
    scheduler = manager.SchedulerManager(host="test-host")
    target = instance()
    db.instance_destroy(ADMIN, target["id"])
    assert scheduler.run_instance(ADMIN, "compute", target["id"], vcpus=1, memory_mb=512) is None
    row = db.instance_get(context.get_admin_context(read_deleted=True), target["id"])
    assert row["deleted"] and row["vm_state"] != states.ERROR


def test_an_instance_deleted_while_placed_is_not_sent_and_frees_its_claim(sqlite_db, memory_rpc, monkeypatch):
    FLAGS.scheduler_driver = "nova.scheduler.simple.SimpleScheduler"
    add_host("host-a")
    scheduler = manager.SchedulerManager(host="test-host")
    target = instance()
    real = scheduler.driver.schedule_run_instance

    def choose_then_lose_it(*args, **kwargs):
        host = real(*args, **kwargs)
        db.instance_destroy(ADMIN, target["id"])  # the user terminated it meanwhile
        return host

    monkeypatch.setattr(scheduler.driver, "schedule_run_instance", choose_then_lose_it)
    sent = []
    monkeypatch.setattr("nova.compute.rpcapi.ComputeAPI.run_instance", lambda *a: sent.append(a))
    assert scheduler.run_instance(ADMIN, "compute", target["id"]) is None
    assert sent == [] and len(scheduler.driver.claims) == 0


def test_simple_counts_a_placement_recorded_during_its_read_once(sqlite_db, monkeypatch):
    """Four instances over two hosts go 2 + 2 even when a host is written while another placement reads."""
    add_host("a")
    add_host("b")
    driver = simple.SimpleScheduler()
    first, second, third, fourth = (instance() for _ in range(4))
    assert driver.schedule_run_instance(ADMIN, "compute", first["id"]) == "a"
    db.instance_update(ADMIN, first["id"], {"host": "a"})
    driver.placed(first["id"])
    assert driver.schedule_run_instance(ADMIN, "compute", second["id"]) == "b"  # claimed, not written yet
    assert driver.schedule_run_instance(ADMIN, "compute", third["id"]) == "a"  # claimed, not written yet
    real = db.compute_host_capacity

    def second_written_meanwhile(*args, **kwargs):
        db.instance_update(ADMIN, second["id"], {"host": "b"})  # the other placement's write lands first
        driver.placed(second["id"])
        return real(*args, **kwargs)

    monkeypatch.setattr(db, "compute_host_capacity", second_written_meanwhile)
    assert driver.schedule_run_instance(ADMIN, "compute", fourth["id"]) == "b"
