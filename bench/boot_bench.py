"""Boot throughput: compute.API -> scheduler -> nova-compute (fake driver) -> active, over RabbitMQ.

    python bench/boot_bench.py [--instances N] [--concurrency 1,10,50] [--rabbit-url URL] [--sql-connection URL]

One process runs nova-scheduler (simple), nova-network (FlatManager,
--fake_network) and two nova-compute services (fake driver) as real Services
on a private RabbitMQ virtual host; clients in green threads call
compute.API.create for one instance at a time and poll the database until it
is active.  For each concurrency level it prints request -> running latency
(p50, p95) and boots per second, next to the RPC call round trip measured in
the same run against the same broker, and their ratio.  N instances (default
1000) are split across the levels.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nova  # noqa: E402,F401  (quiets eventlet's deprecation notice)
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import uuid  # noqa: E402

from nova import context, flags, rpc, service  # noqa: E402
from nova.compute import api as compute_api  # noqa: E402
from nova.compute import states  # noqa: E402
from nova.db import api as db  # noqa: E402
from nova.db import migration  # noqa: E402
from nova.image import get_default_image_service  # noqa: E402

FLAGS = flags.FLAGS
DEFAULT_URL = os.environ.get("NOVA_TEST_RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672//")
ADMIN = context.get_admin_context()


class EchoManager:
    def __init__(self, host=None):
        self.host = host

    def init_host(self):
        pass

    def periodic_tasks(self, ctxt=None):
        pass

    def echo(self, ctxt, value):
        return value


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def make_vhost(base_url):
    vhost = f"nova-bench-{uuid.uuid4().hex[:8]}"
    user = urllib.parse.unquote(urllib.parse.urlparse(base_url).username or "guest")
    for args in (("add_vhost", vhost), ("set_permissions", "-p", vhost, user, ".*", ".*", ".*")):
        subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)
    return vhost


def configure(args, state_path, vhost):
    parsed = urllib.parse.urlparse(args.rabbit_url)
    flags.parse_args([sys.argv[0]], use_default_flagfile=False)
    settings = {
        "state_path": state_path,
        "sql_connection": args.sql_connection or f"sqlite:///{state_path}/nova.sqlite",
        "fake_rabbit": False,
        "rabbit_host": parsed.hostname or "127.0.0.1",
        "rabbit_port": parsed.port or 5672,
        "rabbit_userid": urllib.parse.unquote(parsed.username or "guest"),
        "rabbit_password": urllib.parse.unquote(parsed.password or "guest"),
        "rabbit_virtual_host": vhost,
        "connection_type": "fake",
        "scheduler_driver": "nova.scheduler.simple.SimpleScheduler",
        "network_manager": "nova.network.manager.FlatManager",
        "fake_network": True,
        "root_helper": "",
        "max_cores": 1_000_000,
        "fake_memory_mb": 100_000_000,
        "quota_instances": -1,
        "quota_cores": -1,
        "quota_ram": -1,
        "periodic_interval": 5,
        "report_interval": 5,
    }
    for name, value in settings.items():
        setattr(FLAGS, name, value)


def rpc_round_trip(samples):
    ctxt = context.get_admin_context()
    for _ in range(20):
        rpc.call(ctxt, "bench_echo", {"method": "echo", "args": {"value": 1}}, timeout=10)
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        rpc.call(ctxt, "bench_echo", {"method": "echo", "args": {"value": 1}}, timeout=10)
        times.append(time.perf_counter() - start)
    return times


def boot_level(api, user, image_id, count, concurrency):
    latencies, failures = [], []
    remaining = list(range(count))

    def client():
        while remaining:
            remaining.pop()
            start = time.perf_counter()
            _, [instance] = api.create(user, "m1.tiny", image_id)
            deadline = start + 60
            while True:
                row = db.instance_get(ADMIN, instance["id"])
                if row["vm_state"] == states.ACTIVE:
                    latencies.append(time.perf_counter() - start)
                    break
                if row["vm_state"] == states.ERROR or time.perf_counter() > deadline:
                    failures.append((instance["id"], row["vm_state"], row["fault"]))
                    break
                eventlet.sleep(0.005)

    started = time.perf_counter()
    pool = [eventlet.spawn(client) for _ in range(concurrency)]
    for thread in pool:
        thread.wait()
    return latencies, failures, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=1000, help="instances booted in all (split across levels)")
    parser.add_argument("--concurrency", default="1,10,50", help="comma-separated client counts")
    parser.add_argument("--rabbit-url", default=DEFAULT_URL)
    parser.add_argument("--sql-connection", default=None, help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    logging.basicConfig(level=logging.WARNING)

    vhost = make_vhost(args.rabbit_url)
    running = []
    try:
        with tempfile.TemporaryDirectory(prefix="nova-boot-bench-") as state_path:
            configure(args, state_path, vhost)
            migration.db_sync()
            from nova.cmd import manage

            manage.run(["network", "create", "10.0.0.0/16", "1", "65536"])
            for topic, host in (("scheduler", "sched"), ("network", "net"), ("compute", "b1"), ("compute", "b2")):
                running.append(service.Service.create(binary=f"nova-{topic}", topic=topic, host=host))
            for svc in running:
                svc.start()
            echo = rpc.Server("bench_echo", "bench", rpc.Dispatcher(EchoManager(), base=EchoManager.__bases__[0]))
            echo.start(timeout=30)
            user = context.RequestContext("bench", "bench")
            images = get_default_image_service()
            image = images.create(user, {"name": "bench"})
            images.store(user, image["id"], io.BytesIO(b"\0" * 1024))
            api = compute_api.API()

            rtt = rpc_round_trip(200)
            rtt_p50, rtt_p95 = statistics.median(rtt), percentile(rtt, 0.95)
            print(f"RPC call round trip: p50 {rtt_p50 * 1000:.2f} ms, p95 {rtt_p95 * 1000:.2f} ms")
            per_level = max(1, args.instances // len(levels))
            print(f"{'clients':>7} {'boots':>6} {'p50 ms':>8} {'p95 ms':>8} {'boots/s':>8} "
                  f"{'p50/rtt':>8} {'p95/rtt':>8} failed")
            for concurrency in levels:
                latencies, failures, wall = boot_level(api, user, image["id"], per_level, concurrency)
                if latencies:
                    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
                    print(f"{concurrency:>7} {len(latencies):>6} {p50 * 1000:>8.1f} {p95 * 1000:>8.1f} "
                          f"{len(latencies) / wall:>8.1f} {p50 / rtt_p50:>8.1f} {p95 / rtt_p50:>8.1f} "
                          f"{len(failures)}")
                else:
                    print(f"{concurrency:>7} no instance became active; first failure: {failures[:1]}")
            hosts = db.instance_usage_by_host(ADMIN)
            print("instances per host:", {h: u["instances"] for h, u in sorted(hosts.items())})
            echo.stop(timeout=1)
    finally:
        for svc in running:
            svc.stop(timeout=5)
        rpc.cleanup()
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=60)


if __name__ == "__main__":
    main()
