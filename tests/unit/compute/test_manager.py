"""ComputeManager on the fake driver: the state machine, crash recovery, the compute node."""

import pytest

from nova import context, exception, flags
from nova.compute import manager as compute_manager
from nova.compute import states
from nova.db import api as db
from nova.db.sqlalchemy import session
from nova.virt import fake
from tests.fixtures.sql import counting_statements
from tests.unit.compute.fakes import make_image, user_context

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()
NIC = {"address": "10.0.0.3", "mac_address": "02:16:3e:00:00:03", "bridge": "br100", "network_id": 1}


class FakeNetworkAPI:
    def __init__(self):
        self.allocated, self.released, self.fail = [], [], None

    def allocate_for_instance(self, ctxt, instance_id, host):
        if self.fail:
            raise self.fail
        self.allocated.append((instance_id, host))
        return [dict(NIC)]

    def deallocate_for_instance(self, ctxt, instance_id):
        self.released.append(instance_id)


@pytest.fixture
def compute(sqlite_db):
    manager = compute_manager.ComputeManager(host="host-a", compute_driver=fake.FakeDriver())
    manager.network_api = FakeNetworkAPI()
    return manager


def building(ctxt, **values):
    image = make_image(ctxt)
    defaults = {"image_id": str(image["id"]), "vm_state": states.BUILDING, "task_state": states.SCHEDULING,
                "memory_mb": 512, "vcpus": 1, "local_gb": 0, "host": "host-a"}
    return db.instance_create(ctxt, dict(defaults, **values))


def test_run_instance_spawns_with_the_nics_and_goes_active(compute):
    ctxt = user_context()
    instance = building(ctxt)
    compute.run_instance(ctxt, instance["id"])
    row = db.instance_get(ctxt, instance["id"])
    assert (row["vm_state"], row["task_state"], row["power_state"]) == (states.ACTIVE, None, states.RUNNING)
    assert row["host"] == row["launched_on"] == "host-a" and row["launched_at"] is not None
    assert row["availability_zone"] == "nova"
    assert compute.network_api.allocated == [(instance["id"], "host-a")]
    assert compute.driver.domains[row["name"]].network_info == [NIC]
    assert compute.firewall.instance_filter_exists(row)


def test_network_failure_leaves_error_with_the_reason(compute):
    ctxt = user_context()
    instance = building(ctxt)
    compute.network_api.fail = exception.NoValidHost(reason="no network host")
    compute.run_instance(ctxt, instance["id"])
    row = db.instance_get(ctxt, instance["id"])
    assert row["vm_state"] == states.ERROR and row["task_state"] is None
    assert "network allocation failed" in row["fault"]
    assert compute.driver.list_instances() == []


def test_spawn_failure_leaves_error_and_no_domain(compute, monkeypatch):
    ctxt = user_context()
    instance = building(ctxt)

    def broken(*args):
        raise exception.VirtDriverError(reason="disk full")

    monkeypatch.setattr(compute.driver, "spawn", broken)
    compute.run_instance(ctxt, instance["id"])
    row = db.instance_get(ctxt, instance["id"])
    assert row["vm_state"] == states.ERROR and "spawn failed: Hypervisor error: disk full" == row["fault"]
    assert not compute.firewall.instance_filter_exists(row)


def test_run_instance_ignores_instances_no_longer_building(compute):
    ctxt = user_context()
    instance = building(ctxt, vm_state=states.ERROR, task_state=None)
    compute.run_instance(ctxt, instance["id"])
    assert compute.driver.list_instances() == []
    compute.run_instance(ctxt, 4242)  # deleted before it was built: nothing to do


def test_terminate_releases_everything(compute):
    ctxt = user_context()
    instance = building(ctxt)
    compute.run_instance(ctxt, instance["id"])
    compute.terminate_instance(ctxt, instance["id"])
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get(ctxt, instance["id"])
    deleted = db.instance_get(context.get_admin_context(read_deleted=True), instance["id"])
    assert deleted["vm_state"] == states.DELETED and deleted["terminated_at"] is not None
    assert compute.driver.list_instances() == []
    assert compute.network_api.released == [instance["id"]]
    assert not compute.firewall.instance_filter_exists(deleted)


@pytest.mark.parametrize("method,vm_state,power", [
    ("stop_instance", states.STOPPED, states.SHUTOFF),
    ("pause_instance", states.PAUSED, states.PAUSED_POWER),
    ("suspend_instance", states.SUSPENDED, states.SUSPENDED_POWER),
    ("rescue_instance", states.RESCUED, states.RUNNING),
    ("reboot_instance", states.ACTIVE, states.RUNNING),
])
def test_actions_move_the_state_machine(compute, method, vm_state, power):
    ctxt = user_context()
    instance = building(ctxt)
    compute.run_instance(ctxt, instance["id"])
    db.instance_update(ctxt, instance["id"], {"task_state": "doing-it"})
    getattr(compute, method)(ctxt, instance["id"])
    row = db.instance_get(ctxt, instance["id"])
    assert (row["vm_state"], row["task_state"], row["power_state"]) == (vm_state, None, power)


def test_stop_then_start_and_console(compute):
    ctxt = user_context()
    instance = building(ctxt)
    compute.run_instance(ctxt, instance["id"])
    compute.stop_instance(ctxt, instance["id"])
    compute.start_instance(ctxt, instance["id"])
    row = db.instance_get(ctxt, instance["id"])
    assert (row["vm_state"], row["power_state"]) == (states.ACTIVE, states.RUNNING)
    assert f"{row['name']} running" in compute.get_console_output(ctxt, instance["id"])


def test_snapshot_fills_the_image(compute):
    from nova.image import get_default_image_service

    ctxt = user_context()
    instance = building(ctxt)
    compute.run_instance(ctxt, instance["id"])
    images = get_default_image_service()
    image = images.create(ctxt, {"name": "snap", "state": "saving"})
    compute.snapshot_instance(ctxt, instance["id"], image["id"])
    assert images.show(ctxt, image["id"])["state"] == "available"


def test_init_host_reconciles_after_a_crash(compute):
    ctxt = user_context()
    mid_spawn = building(ctxt, task_state=states.SPAWNING)
    spawned = building(ctxt, task_state=states.SPAWNING)
    queued = building(ctxt)
    deleting = building(ctxt, vm_state=states.ACTIVE, task_state=states.DELETING)
    vanished = building(ctxt, vm_state=states.ACTIVE, task_state=None)
    stopping = building(ctxt, vm_state=states.ACTIVE, task_state=states.STOPPING)
    for row in (spawned, deleting, stopping):
        compute.driver.spawn(ctxt, db.instance_get(ctxt, row["id"]), [])
    compute.driver.domains["instance-stranger"] = fake.FakeDomain("instance-stranger", {"memory_mb": 1,
                                                                                      "vcpus": 1}, [])
    compute.init_host()
    get = lambda row: db.instance_get(ctxt, row["id"])  # noqa: E731
    assert get(mid_spawn)["vm_state"] == states.ERROR and "stopped while" in get(mid_spawn)["fault"]
    assert get(spawned)["vm_state"] == states.ACTIVE
    assert (get(queued)["vm_state"], get(queued)["task_state"]) == (states.BUILDING, states.SCHEDULING)
    with pytest.raises(exception.InstanceNotFound):
        get(deleting)
    assert get(vanished)["vm_state"] == states.ERROR and "domain is gone" in get(vanished)["fault"]
    assert (get(stopping)["vm_state"], get(stopping)["task_state"]) == (states.ACTIVE, None)
    assert compute.unknown_domains == ["instance-stranger"]
    assert "instance-stranger" in compute.driver.list_instances()


def test_power_sync_follows_the_driver(compute):
    ctxt = user_context()
    instance = building(ctxt)
    compute.run_instance(ctxt, instance["id"])
    row = db.instance_get(ctxt, instance["id"])
    compute.driver.domains[row["name"]].state = states.SHUTOFF  # the guest powered itself off
    compute.periodic_tasks(ADMIN)
    row = db.instance_get(ctxt, instance["id"])
    assert (row["vm_state"], row["power_state"]) == (states.STOPPED, states.SHUTOFF)
    del compute.driver.domains[row["name"]]
    compute._sync_power_states(ADMIN)
    assert db.instance_get(ctxt, instance["id"])["vm_state"] == states.ERROR


def test_a_guest_that_shuts_itself_down_with_behaviour_terminate_is_terminated(compute):
    ctxt = user_context()
    doomed = building(ctxt, shutdown_behavior="terminate", disable_api_termination=True)
    kept = building(ctxt, shutdown_behavior="terminate")
    for row in (doomed, kept):
        compute.run_instance(ctxt, row["id"])
    compute.stop_instance(ctxt, kept["id"])  # stopped through the API: stays, stopped
    doomed = db.instance_get(ctxt, doomed["id"])
    compute.driver.domains[doomed["name"]].state = states.SHUTDOWN  # "poweroff" inside the guest
    compute.periodic_tasks(ADMIN)
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get(ctxt, doomed["id"])
    assert doomed["name"] not in compute.driver.list_instances()
    assert doomed["id"] in compute.network_api.released
    kept = db.instance_get(ctxt, kept["id"])
    assert (kept["vm_state"], kept["power_state"]) == (states.STOPPED, states.SHUTOFF)
    assert kept["name"] in compute.driver.list_instances()


def test_compute_node_reports_capacity_and_use(compute):
    service = db.service_create(ADMIN, {"host": "host-a", "binary": "nova-compute", "topic": "compute"})
    ctxt = user_context()
    for _ in range(2):
        compute.run_instance(ctxt, building(ctxt, vcpus=2, memory_mb=1024, local_gb=10)["id"])
    building(ctxt, vm_state=states.ERROR, vcpus=8)  # holds nothing
    compute._update_available_resource(ADMIN)
    node = db.compute_node_get_by_service(ADMIN, service["id"])
    assert (node["vcpus"], node["memory_mb"], node["local_gb"]) == (16, 32768, 1000)
    assert (node["vcpus_used"], node["memory_mb_used"], node["local_gb_used"]) == (4, 2048, 20)
    assert node["hypervisor_type"] == "fake"
    compute._update_available_resource(ADMIN)
    assert db.compute_node_get_by_host(ADMIN, "host-a")["id"] == node["id"]


def test_capabilities_come_from_the_driver(compute):
    caps = compute.service_capabilities()
    assert caps["vcpus"] == 16 and caps["memory_mb"] == 32768 and caps["hypervisor_type"] == "fake"


def test_builds_abandoned_half_way_are_settled_after_the_build_timeout(compute):
    """A database outage failed a build's next write: the periodic task settles it as after a crash."""
    import datetime

    from nova import utils

    ctxt = user_context()
    old = utils.utcnow() - datetime.timedelta(seconds=FLAGS.instance_build_timeout + 5)
    dead, spawned, fresh = (building(ctxt, task_state=states.NETWORKING), building(ctxt, task_state=states.SPAWNING),
                            building(ctxt, task_state=states.SPAWNING))
    compute.driver.spawn(ctxt, db.instance_get(ctxt, spawned["id"]), [])
    for row in (dead, spawned):
        db.instance_update(ADMIN, row["id"], {"updated_at": old})
    compute._check_build_timeouts(ADMIN)
    get = lambda row: db.instance_get(ctxt, row["id"])  # noqa: E731
    assert (get(dead)["vm_state"], get(dead)["task_state"]) == (states.ERROR, None)
    assert "stopped while it was networking and did not resume" in get(dead)["fault"]
    assert (get(spawned)["vm_state"], get(spawned)["task_state"]) == (states.ACTIVE, None)
    assert (get(fresh)["vm_state"], get(fresh)["task_state"]) == (states.BUILDING, states.SPAWNING)


def test_an_operation_that_fails_leaves_the_instance_free_for_the_build_timeout(compute):
    with pytest.raises(exception.DBConnectionError):
        with compute._instance_lock(7):
            assert compute._busy(7)
            raise exception.DBConnectionError(reason="connection refused")
    assert not compute._busy(7) and 7 not in compute._locks


def test_run_and_terminate_cost_five_statements_each(compute):
    # run: the instance (row, flavor, groups, whether volumes name it), networking, the group refresh,
    # spawning, active.  terminate: the instance, the final state with the soft deletes (three), the group
    # refresh.  A re-read of a row in hand, a per-step read-modify-write or a volume listing for an
    # instance without volumes would add to these.  (On PostgreSQL the group refresh's read rides on the
    # spawning write and on the delete, which is one statement: 4 and 2.)
    from nova.network import manager as network_manager

    compute.network_manager = network_manager.FlatManager(host="host-a")  # no bridges to read NICs for
    ctxt = user_context()
    group = db.security_group_create(ctxt, {"name": "web", "description": "web", "project_id": ctxt.project_id,
                                            "user_id": ctxt.user_id})
    instances = [building(ctxt) for _ in range(2)]
    for instance in instances:
        db.instance_add_security_group(ADMIN, instance["id"], group["id"])
    compute.run_instance(ctxt, instances[0]["id"])  # warm-up
    compute.terminate_instance(ctxt, instances[0]["id"])
    target = instances[1]["id"]
    postgresql = session.get_engine().dialect.name == "postgresql"
    with counting_statements() as statements:
        compute.run_instance(ctxt, target)
    assert len(statements) == (4 if postgresql else 5), "\n".join(s[:60] for s in statements)
    assert db.instance_get(ctxt, target)["vm_state"] == states.ACTIVE
    with counting_statements() as statements:
        compute.terminate_instance(ctxt, target)
    assert len(statements) == (2 if postgresql else 5), statements
    gone = db.instance_get(context.get_admin_context(read_deleted=True), target)
    assert (gone["vm_state"], gone["deleted"], gone["power_state"]) == (states.DELETED, True, states.NOSTATE)
    assert compute.network_api.released == [instances[0]["id"], target]
    assert compute.driver.list_instances() == []
