"""CPU and SQL statements of each back-end message, measured in one process on PostgreSQL.

    python bench/backend_bench.py [--instances 200] [--postgres-url URL] [--profile FILE]

Calls, in one process and without RPC, what the back-end daemons do for each
boot+delete cycle of ``bench/cloud_bench.py``: the scheduler's
``run_instance`` (its cast to the compute host goes to the in-memory
transport, which nobody reads), nova-network's (FlatManager)
``allocate_for_instance`` and ``deallocate_for_instance``, nova-compute's
(fake driver) ``run_instance`` and ``terminate_instance`` (with a stand-in
network API that returns the NIC nova-network gave).  Prints, per message,
the CPU milliseconds of this process (``time.process_time``, which includes
the database driver's work but not the server's) and the SQL statements sent.
``--profile FILE`` writes a cProfile of the timed loop only (no start-up).
A fresh database is made on the server and dropped at the end.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import cProfile  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from nova import context, flags  # noqa: E402
from nova.compute import states  # noqa: E402
from nova.db import api as db  # noqa: E402
from nova.db import migration  # noqa: E402
from nova.db.sqlalchemy import session  # noqa: E402

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()


class _Network:
    """nova-compute's network API, answered in process by the network manager under test."""

    def __init__(self, nics: dict[int, list[dict]]) -> None:
        self.nics = nics

    def allocate_for_instance(self, ctxt, instance_id, host):
        return self.nics[instance_id]

    def deallocate_for_instance(self, ctxt, instance_id):
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--postgres-url", default=os.environ.get("NOVA_TEST_POSTGRES_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--profile", metavar="FILE")
    args = parser.parse_args()

    flags.parse_args([sys.argv[0], "--fake_rabbit", "--connection_type=fake", "--fake_network", "--root_helper=",
                      "--scheduler_driver=nova.scheduler.simple.SimpleScheduler", "--max_cores=1000000",
                      "--service_down_time=86400", "--fake_memory_mb=100000000",
                      "--network_manager=nova.network.manager.FlatManager"], use_default_flagfile=False)
    name = f"nova_backend_bench_{uuid.uuid4().hex[:8]}"
    admin_url = session.normalize_url(args.postgres_url)
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    try:
        FLAGS.sql_connection = admin_url.set(database=name).render_as_string(hide_password=False)
        session.reset()
        migration.db_sync()
        return _run(args)
    finally:
        session.reset()
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _run(args: argparse.Namespace) -> int:
    from nova.compute import manager as compute_manager
    from nova.network import manager as network_manager
    from nova.scheduler import manager as scheduler_manager
    from nova.virt import fake

    size = 1 << max(8, (args.instances + 8).bit_length())
    net = network_manager.FlatManager(host="net")
    net.create_networks(ADMIN, f"10.0.0.0/{32 - size.bit_length() + 1}", 1, size)
    for host in ("c1", "c2"):
        service = db.service_create(ADMIN, {"host": host, "binary": "nova-compute", "topic": "compute",
                                            "report_count": 0, "availability_zone": "nova"})
        db.service_heartbeat(ADMIN, service["id"])
    scheduler = scheduler_manager.SchedulerManager(host="ctl")
    nics: dict[int, list[dict]] = {}
    compute = compute_manager.ComputeManager(host="c1", compute_driver=fake.FakeDriver())
    compute.network_api = _Network(nics)
    user = context.RequestContext("bench-user", "bench-project")
    group = db.security_group_create(user, {"name": "default", "description": "default", "project_id":
                                            "bench-project", "user_id": "bench-user"})

    def new_instance():
        [row] = db.instance_create_many(user, [{"vcpus": 1, "memory_mb": 512, "local_gb": 0,
                                                "vm_state": states.BUILDING, "task_state": states.SCHEDULING,
                                                "image_id": "1"}], [group["id"]])
        return row["id"]

    phases = ("schedule", "allocate", "run_instance", "deallocate", "terminate_instance")
    cpu = dict.fromkeys(phases, 0.0)
    statements = dict.fromkeys(phases, 0)
    counter = [0]

    def count(*_args):
        counter[0] += 1

    def timed(phase, func, *fargs):
        start_cpu, start_count = time.process_time(), counter[0]
        result = func(*fargs)
        cpu[phase] += time.process_time() - start_cpu
        statements[phase] += counter[0] - start_count
        return result

    # db.instance_set came with the change this bench measured; instance_update lets it run on the tree before.
    set_values = getattr(db, "instance_set", None) or db.instance_update

    def cycle(instance_id, ctxt):
        timed("schedule", scheduler.run_instance, ctxt, "compute", instance_id)
        set_values(ADMIN, instance_id, {"host": "c1"})  # the compute host it goes to, whichever it was
        nics[instance_id] = timed("allocate", net.allocate_for_instance, ctxt, instance_id, "c1")
        timed("run_instance", compute.run_instance, ctxt, instance_id)
        set_values(ADMIN, instance_id, {"task_state": states.DELETING})
        timed("deallocate", net.deallocate_for_instance, ctxt, instance_id)
        timed("terminate_instance", compute.terminate_instance, ctxt, instance_id)

    for _ in range(10):  # warm-up: statement caches, first connections
        cycle(new_instance(), user)
    cpu.update(dict.fromkeys(phases, 0.0))
    statements.update(dict.fromkeys(phases, 0))
    ids = [new_instance() for _ in range(args.instances)]
    event.listen(session.get_engine(), "before_cursor_execute", count)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    for instance_id in ids:
        cycle(instance_id, user)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    n = len(ids)
    print(f"{n} cycles; per message: CPU ms of this process (driver included), SQL statements")
    print(f"{'message':<22}{'CPU ms':>10}{'statements':>12}")
    for phase in phases:
        print(f"{phase:<22}{cpu[phase] * 1000 / n:>10.2f}{statements[phase] / n:>12.1f}")
    print(f"{'all':<22}{sum(cpu.values()) * 1000 / n:>10.2f}{sum(statements.values()) / n:>12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
