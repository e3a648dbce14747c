"""OpenStack compute API v2.1 against the EC2 API for the same work, measured in the same run.

    python bench/osapi_bench.py [--instances 1000] [--lists 10] [--launches 4]

One process serves nova-api's EC2 and OpenStack compute pipelines (eventlet.wsgi, port 0) on a
temporary SQLite database, with nova-scheduler, nova-network (--fake_network) and nova-compute
(fake driver) as Services on the in-memory transport.  ``--instances`` rows (each with a fixed
address and a security group) are written with the db functions for one project; then it times
``GET /servers/detail`` against DescribeInstances over all of them, and a launch until running
(``POST /servers`` polled with ``GET /servers/{id}`` until ACTIVE, against RunInstances polled with
DescribeInstances until running) in a second project, and prints medians and the osapi/EC2 ratios.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nova  # noqa: E402,F401  (quiets eventlet's deprecation notice)
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import io  # noqa: E402
import ipaddress  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable  # noqa: E402

import boto3  # noqa: E402
import botocore.config  # noqa: E402
import urllib3  # noqa: E402

from nova import context, flags, rpc, service, wsgi  # noqa: E402
from nova.auth import manager  # noqa: E402
from nova.db import api as db  # noqa: E402
from nova.db import migration  # noqa: E402
from nova.image import get_default_image_service  # noqa: E402

FLAGS = flags.FLAGS
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN = context.get_admin_context()
CONFIG = botocore.config.Config(retries={"max_attempts": 1}, read_timeout=300)
HTTP = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(300))


def configure(state_path: str) -> None:
    flags.parse_args([sys.argv[0]], use_default_flagfile=False)
    settings = {
        "state_path": state_path, "sql_connection": f"sqlite:///{state_path}/nova.sqlite", "fake_rabbit": True,
        "connection_type": "fake", "network_manager": "nova.network.manager.FlatManager", "fake_network": True,
        "root_helper": "", "api_paste_config": os.path.join(ROOT, "etc", "nova", "api-paste.ini"),
        "quota_instances": -1, "quota_cores": -1, "quota_ram": -1, "report_interval": 5, "periodic_interval": 5,
    }
    for name, value in settings.items():
        setattr(FLAGS, name, value)


def populate(count: int, image_id: int) -> None:
    """``count`` active instances of proj-a, each with a fixed address and a security group."""
    flavor = db.instance_type_get_by_name(ADMIN, "m1.tiny")
    group = db.security_group_create(ADMIN, {"name": "web", "description": "d", "user_id": "alice",
                                             "project_id": "proj-a"})
    network = db.network_create_safe(ADMIN, {"label": "bench", "cidr": "10.40.0.0/20", "bridge": "br-bench"})
    instances = [db.instance_create(ADMIN, {
        "project_id": "proj-a", "user_id": "alice", "reservation_id": f"r-bench-{n // 50}",
        "image_id": str(image_id), "instance_type_id": flavor["id"], "vm_state": "active", "power_state": 1,
        "host": "compute-1", "hostname": f"host-{n}", "display_name": f"vm-{n}", "launch_index": n % 50,
    }) for n in range(count)]
    hosts = ipaddress.ip_network("10.40.0.0/20").hosts()
    db.fixed_ip_bulk_create(ADMIN, [{"address": str(next(hosts)), "network_id": network["id"],
                                     "instance_id": i["id"], "allocated": True} for i in instances])
    for instance in instances:
        db.instance_add_security_group(ADMIN, instance["id"], group["id"])


def timed(call: Callable[[], Any], samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def until(predicate: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("a server did not become running in time")
        eventlet.sleep(0.02)


def osapi_get(port: int, token: str, path: str) -> Any:
    response = HTTP.request("GET", f"http://127.0.0.1:{port}/v2.1{path}", headers={"X-Auth-Token": token})
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status} {response.data[:300]!r}")
    return json.loads(response.data)


def osapi_launch(port: int, token: str, image_id: int) -> None:
    body = json.dumps({"server": {"name": "bench", "imageRef": str(image_id), "flavorRef": "1"}}).encode()
    response = HTTP.request("POST", f"http://127.0.0.1:{port}/v2.1/servers", body=body,
                            headers={"X-Auth-Token": token, "Content-Type": "application/json"})
    if response.status != 202:
        raise SystemExit(f"POST /servers: {response.status} {response.data[:300]!r}")
    server_id = json.loads(response.data)["server"]["id"]
    until(lambda: osapi_get(port, token, f"/servers/{server_id}")["server"]["status"] == "ACTIVE")


def ec2_launch(client: Any, ami: str) -> None:
    instance_id = client.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                                       InstanceType="m1.tiny")["Instances"][0]["InstanceId"]

    def running() -> bool:
        found = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        return found["State"]["Name"] == "running"

    until(running)


def line(what: str, osapi: list[float], ec2: list[float]) -> None:
    o, e = statistics.median(osapi), statistics.median(ec2)
    print(f"{what:<34} {o * 1000:>10.1f} {e * 1000:>10.1f} {o / e:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=1000, help="instances in the listed project")
    parser.add_argument("--lists", type=int, default=10, help="timed listings per API")
    parser.add_argument("--launches", type=int, default=4, help="timed launches per API")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    running: list[Any] = []
    servers: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="nova-osapi-bench-") as state_path:
        configure(state_path)
        try:
            migration.db_sync()
            from nova.cmd import manage

            manage.run(["network", "create", "10.0.0.0/20", "1", "4096"])
            auth = manager.AuthManager()
            for user, project in (("alice", "proj-a"), ("bob", "proj-b")):
                auth.create_user(user, f"AK-{user}", f"SK-{user}")
                auth.create_project(project, user)
            images = get_default_image_service()
            image = images.create(ADMIN, {"name": "bench", "is_public": True})
            images.store(ADMIN, image["id"], io.BytesIO(b"\0" * 1024))
            populate(args.instances, image["id"])
            for topic in ("scheduler", "network", "compute"):
                running.append(service.Service.create(binary=f"nova-{topic}", topic=topic))
            for svc in running:
                svc.start()
            servers = [wsgi.Server(name, wsgi.load_paste_app(name), "127.0.0.1", 0)
                       for name in ("ec2", "osapi_compute")]
            for server in servers:
                server.start()
            ec2_port, os_port = servers[0].port, servers[1].port
            tokens = {user: auth.create_token(user, project) for user, project in
                      (("alice", "proj-a"), ("bob", "proj-b"))}
            ec2 = {user: boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{ec2_port}/services/Cloud",
                                      region_name="nova", aws_access_key_id=f"AK-{user}",
                                      aws_secret_access_key=f"SK-{user}", config=CONFIG) for user in tokens}
            ami = "ami-%08x" % image["id"]

            listed = len(osapi_get(os_port, tokens["alice"], "/servers/detail")["servers"])
            described = sum(len(r["Instances"]) for r in ec2["alice"].describe_instances()["Reservations"])
            if listed != args.instances or described != args.instances:
                raise SystemExit(f"listed {listed} servers and described {described} instances, "
                                 f"not {args.instances}")
            os_list = timed(lambda: osapi_get(os_port, tokens["alice"], "/servers/detail"), args.lists)
            ec2_list = timed(lambda: ec2["alice"].describe_instances(), args.lists)
            osapi_launch(os_port, tokens["bob"], image["id"])  # warm both paths once
            ec2_launch(ec2["bob"], ami)
            os_boot = timed(lambda: osapi_launch(os_port, tokens["bob"], image["id"]), args.launches)
            ec2_boot = timed(lambda: ec2_launch(ec2["bob"], ami), args.launches)

            print(f"{'median, ms':<34} {'osapi':>10} {'ec2':>10} {'os/ec2':>8}")
            line(f"list {args.instances} servers (detail)", os_list, ec2_list)
            line("launch until running", os_boot, ec2_boot)
        finally:
            for server in servers:
                server.stop()
            for svc in running:
                svc.kill()
            rpc.cleanup()


if __name__ == "__main__":
    main()
