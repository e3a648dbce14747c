"""nova-compute x2, nova-scheduler and nova-network as processes on RabbitMQ; compute.API from this process.

Instances spread over both hosts with the simple scheduler and reach active;
terminating frees the hosts; a disabled host gets nothing; no capacity means
error with a reason; a compute killed with SIGKILL mid-spawn and restarted
leaves the instance in error (its fake domain died with the process), never
stuck in building.
"""

from __future__ import annotations

import pytest

from nova import context, flags, quota, rpc
from nova.compute import api as compute_api
from nova.compute import states
from nova.db import api as db
from tests.fixtures import services
from tests.fixtures.daemons import wait_for
from tests.fixtures.database import use_database
from tests.unit.compute.fakes import make_image

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()
EXTRA_FLAGS = [
    "--scheduler_driver=nova.scheduler.simple.SimpleScheduler",
    "--max_cores=6",
    "--fake_network",
    "--network_manager=nova.network.manager.FlatManager",
    "--root_helper=",
]


@pytest.fixture
def cloud_api(cloud, rabbit_vhost, tmp_path):
    """The cloud's flagfile plus scheduling flags; this process talks to it as a client."""
    with open(cloud.flagfile, "a") as handle:
        handle.write("\n".join(EXTRA_FLAGS) + "\n")
    cloud.sync_db()
    cloud.manage("network", "create", "10.0.0.0/24", "1", "256")
    use_database(f"sqlite:///{tmp_path}/nova.sqlite")
    for name, value in services.rabbit_flags(rabbit_vhost).items():
        setattr(FLAGS, name, value)
    rpc.cleanup()
    yield compute_api.API()
    rpc.cleanup()


def start_services(cloud, *computes: tuple[str, ...]) -> dict[str, object]:
    daemons = {"scheduler": cloud.start("nova-scheduler", "--host=sched"),
               "network": cloud.start("nova-network", "--host=net")}
    for host, *args in computes:
        daemons[host] = cloud.start("nova-compute", f"--host={host}", *args)
    wanted = {("sched", "nova-scheduler"), ("net", "nova-network")} | {(h[0], "nova-compute") for h in computes}
    wait_for(lambda: cloud.services_up(*wanted), timeout=60, what=f"services up: {sorted(wanted)}")
    return daemons


def settled(ids, vm_states=(states.ACTIVE, states.ERROR)):
    rows = db.instance_get_all_by_filters(ADMIN, {"instance_ids": list(ids)})
    if len(rows) == len(ids) and all(r["vm_state"] in vm_states and r["task_state"] is None for r in rows):
        return rows
    return None


def test_instances_spread_over_two_hosts_and_terminate_frees_them(cloud, cloud_api):
    start_services(cloud, ("c1",), ("c2",))
    quota.set_project_quota(ADMIN, "proj-a", "instances", 20)
    user = context.RequestContext("alice", "proj-a")
    image = make_image(user)
    reservation, instances = cloud_api.create(user, "m1.tiny", image["id"], min_count=10, max_count=10)
    ids = [i["id"] for i in instances]
    rows = wait_for(lambda: settled(ids), timeout=60, what="10 instances settled")
    assert {r["vm_state"] for r in rows} == {states.ACTIVE}, [r["fault"] for r in rows]
    assert {r["power_state"] for r in rows} == {states.RUNNING}
    by_host = {h: sum(1 for r in rows if r["host"] == h) for h in ("c1", "c2")}
    assert by_host == {"c1": 5, "c2": 5}
    assert "running" in cloud_api.get_console_output(user, ids[0])
    listing = cloud.manage("vm", "list").stdout
    assert listing.count("active") == 10 and "c1" in listing and "c2" in listing

    # One more core fits (both hosts hold 5 of max_cores 6); eight never do: error with the reason.
    _, [one_more] = cloud_api.create(user, "m1.small", image["id"])
    _, [huge] = cloud_api.create(user, "m1.xlarge", image["id"])
    rows = wait_for(lambda: settled([one_more["id"], huge["id"]]), timeout=30, what="two more settled")
    by_id = {r["id"]: r for r in rows}
    assert by_id[one_more["id"]]["vm_state"] == states.ACTIVE
    assert by_id[huge["id"]]["vm_state"] == states.ERROR
    assert "No valid host" in by_id[huge["id"]]["fault"] and "at capacity" in by_id[huge["id"]]["fault"]

    for instance_id in ids + [one_more["id"], huge["id"]]:
        cloud_api.delete(user, instance_id)
    wait_for(lambda: cloud_api.get_all(user) == [], timeout=60, what="all terminated")
    assert db.instance_usage_by_host(ADMIN) == {}
    wait_for(lambda: all(n["vcpus_used"] == 0 and n["memory_mb_used"] == 0
                         for n in db.compute_node_get_all(ADMIN).values())
             and len(db.compute_node_get_all(ADMIN)) == 2, timeout=30, what="compute nodes report nothing used")


def test_a_disabled_host_gets_no_instances(cloud, cloud_api):
    start_services(cloud, ("c1",), ("c2",))
    cloud.manage("service", "disable", "c2", "nova-compute")
    user = context.RequestContext("alice", "proj-a")
    _, instances = cloud_api.create(user, "m1.tiny", make_image(user)["id"], max_count=4)
    rows = wait_for(lambda: settled([i["id"] for i in instances]), timeout=60, what="4 settled")
    assert [r["host"] for r in rows] == ["c1"] * 4 and {r["vm_state"] for r in rows} == {states.ACTIVE}


def test_sigkill_during_spawn_then_restart_never_leaves_building(cloud, cloud_api):
    daemons = start_services(cloud, ("k1", "--fake_spawn_delay=30"))
    user = context.RequestContext("alice", "proj-a")
    _, [instance] = cloud_api.create(user, "m1.tiny", make_image(user)["id"])
    wait_for(lambda: db.instance_get(ADMIN, instance["id"])["task_state"] == states.SPAWNING, timeout=30,
             what="spawn under way")
    daemons["k1"].kill()
    assert db.instance_get(ADMIN, instance["id"])["vm_state"] == states.BUILDING
    cloud.start("nova-compute", "--host=k1")
    [row] = wait_for(lambda: settled([instance["id"]]), timeout=60, what="instance settled after restart")
    # The fake domain died with the process: the database says error, with the reason, as the driver does.
    assert row["vm_state"] == states.ERROR and "stopped while the instance was spawning" in row["fault"]
    assert row["power_state"] == states.NOSTATE
    # It can still be deleted.
    cloud_api.delete(user, instance["id"])
    wait_for(lambda: cloud_api.get_all(user) == [], timeout=30, what="error instance deleted")
