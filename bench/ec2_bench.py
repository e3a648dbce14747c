"""EC2 API benchmark: nova-api against moto_server, measured in the same run.

  python bench/ec2_bench.py [--instances 1000] [--describe 20] [--launches 10] [--api_fill 1000]
                            [--budget 60]

Starts nova-combined (scheduler, compute with the fake driver, network with
--fake_network, api) on SQLite and the in-memory transport, and moto_server;
fills both with ``--instances`` instances, then times DescribeInstances
(all of them) and RunInstances followed by boto3's ``instance_running``
waiter, and prints requests per second, median latency and nova/moto ratios.

nova's first ``--api_fill`` instances are made by RunInstances; the rest are
written straight into its database, copies of the first one (same project,
image, flavor, key and group, each with a free fixed address of the network
and a host no compute serves, so no periodic task touches them): making
10,000 through the fake driver took about 45 minutes on a 2-core machine,
and what is measured is the listing, not the fill.  moto's are all made by
its API.  Each timing stops after ``--describe`` (or ``--launches``) calls
or once ``--budget`` seconds were spent on it, whichever comes first (at
least two calls): moto lists 10,000 instances in about a minute.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import nova  # noqa: E402,F401  (quiets eventlet's notice; the image registration below imports it)
import eventlet  # noqa: E402

eventlet.monkey_patch()

import boto3  # noqa: E402
import botocore.config  # noqa: E402
CONFIG = botocore.config.Config(retries={"max_attempts": 1}, read_timeout=300)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port} after {timeout}s")


def novarc(path: str) -> dict[str, str]:
    env = {}
    for line in open(path):
        if line.startswith("export "):
            name, _, value = line[7:].strip().partition("=")
            env[name] = value.strip('"')
    return env


def network_flags(instances: int) -> list[str]:
    """The one network nova-combined creates, big enough for ``instances`` (and its reserved addresses)."""
    size = 256
    while size < instances + 16:
        size *= 2
    return [f"--fixed_range=10.0.0.0/{32 - (size.bit_length() - 1)}", f"--network_size={size}"]


def start_nova(state: str, port: int, instances: int) -> tuple[subprocess.Popen, object, str]:
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "bin", "nova-combined"), f"--state_path={state}",
                             "--combined_services=scheduler,compute,network,api", "--nocombined_tgtd",
                             "--connection_type=fake",
                             "--fake_network", "--network_manager=nova.network.manager.FlatManager",
                             *network_flags(instances),
                             "--root_helper=", "--ec2_host=127.0.0.1", f"--ec2_port={port}", "--metadata_port=0",
                             # EC2 only: no clash on 8774, 5000, 9292 and 9696 with other clouds on this host
                             "--osapi_port=0", "--identity_port=0", "--image_api_port=0", "--network_api_port=0",
                             "--quota_instances=-1", "--quota_cores=-1", "--quota_ram=-1",
                             "--max_cores=1000000", "--fake_memory_mb=100000000"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(state, "nova.log"), "wb"),
                            start_new_session=True)
    wait_port(port)
    env = novarc(os.path.join(state, "novarc"))
    client = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{port}/services/Cloud", region_name="nova",
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], config=CONFIG)
    return proc, client, env["AWS_ACCESS_KEY_ID"].partition(":")[2]


def nova_image(state: str) -> str:
    """Register an image straight into nova's image service (no objectstore needed)."""
    import io

    from nova import context, flags
    from nova.image import local

    flags.parse_args(["bench", f"--state_path={state}"])
    service = local.LocalImageService()
    admin = context.get_admin_context()
    image = service.create(admin, {"name": "bench", "is_public": True})
    service.store(admin, image["id"], io.BytesIO(b"\0" * 4096))
    return "ami-%08x" % image["id"]


def wait_running(client, ids: list[str], timeout: float = 600, delay: float = 1) -> None:
    """Until every instance runs; stops at once with the reason when one cannot (boto3's waiter would poll an
    instance nova put in error until its timeout)."""
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending:
        for page in client.get_paginator("describe_instances").paginate(InstanceIds=sorted(pending)):
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    state = instance["State"]["Name"]
                    if state == "running":
                        pending.discard(instance["InstanceId"])
                    elif state not in ("pending",):
                        reason = instance.get("StateReason", {}).get("Message", "")
                        raise SystemExit(f"instance {instance['InstanceId']} is {state}, not running: {reason}")
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"{len(pending)} instance(s) not running after {timeout}s")
        if pending:
            time.sleep(delay)


def fill(client, image_id: str, count: int) -> None:
    left = count
    while left:
        batch = min(left, 100)
        ids = [i["InstanceId"] for i in client.run_instances(ImageId=image_id, MinCount=batch,
                                                             MaxCount=batch)["Instances"]]
        wait_running(client, ids)
        left -= batch


def fill_direct(state: str, count: int) -> None:
    """``count`` more running instances written into nova's database as copies of its first one."""
    import datetime
    import uuid

    import sqlalchemy

    from nova.db.sqlalchemy import models, session

    Instance, FixedIp, Assoc = models.Instance, models.FixedIp, models.SecurityGroupInstanceAssociation
    engine = session.get_engine()
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with engine.begin() as connection:
        template = dict(connection.execute(sqlalchemy.select(Instance).order_by(Instance.id).limit(1)).mappings().one())
        groups = connection.execute(sqlalchemy.select(Assoc.security_group_id).where(
            Assoc.instance_id == template["id"], Assoc.deleted == sqlalchemy.false())).scalars().all()
        have = connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(Instance)).scalar()
        for key in ("id", "uuid", "created_at", "updated_at", "deleted_at"):
            template.pop(key, None)
        template.update(host="bench-filled", launched_on="bench-filled", vm_state="active", task_state=None,
                        power_state=1, launched_at=now, created_at=now, deleted=False)
        connection.execute(Instance.__table__.insert(), [
            dict(template, uuid=str(uuid.uuid4()), reservation_id=f"r-fill{(have + n) // 100:06d}",
                 launch_index=(have + n) % 100, hostname=f"server-{have + n}", display_name=f"server-{have + n}")
            for n in range(count)])
        ids = connection.execute(sqlalchemy.select(Instance.id).where(Instance.host == "bench-filled")
                                 .order_by(Instance.id.desc()).limit(count)).scalars().all()
        free = connection.execute(sqlalchemy.select(FixedIp.id).where(
            FixedIp.instance_id.is_(None), FixedIp.reserved == sqlalchemy.false(),
            FixedIp.allocated == sqlalchemy.false(), FixedIp.deleted == sqlalchemy.false())
            .order_by(FixedIp.id).limit(count)).scalars().all()
        if len(free) < count:
            raise SystemExit(f"nova's network has {len(free)} free addresses for {count} instances")
        connection.execute(sqlalchemy.update(FixedIp.__table__).where(
            FixedIp.__table__.c.id == sqlalchemy.bindparam("fixed")).values(
            instance_id=sqlalchemy.bindparam("instance"), allocated=True, leased=True),
            [{"fixed": f, "instance": i} for f, i in zip(free, ids)])
        if groups:
            connection.execute(Assoc.__table__.insert(), [
                {"instance_id": i, "security_group_id": g, "deleted": False} for i in ids for g in groups])


def timed(call, repeat: int, budget: float = float("inf")) -> list[float]:
    """Wall times of ``call``: ``repeat`` of them, fewer (at least two) once ``budget`` seconds are spent."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
        if len(samples) >= 2 and sum(samples) >= budget:
            break
    return samples


def report(name: str, nova: list[float], moto: list[float]) -> None:
    n_med, m_med = statistics.median(nova), statistics.median(moto)
    print(f"{name:34s} nova {1 / n_med:8.2f} req/s  median {n_med * 1000:8.1f} ms ({len(nova)}) | "
          f"moto {1 / m_med:8.2f} req/s  median {m_med * 1000:8.1f} ms ({len(moto)}) | "
          f"nova/moto time x{n_med / m_med:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--describe", type=int, default=20)
    parser.add_argument("--launches", type=int, default=10)
    parser.add_argument("--api_fill", type=int, default=1000,
                        help="nova instances made by RunInstances; the rest are written into its database")
    parser.add_argument("--budget", type=float, default=60, help="seconds after which a timing stops (>= 2 calls)")
    args = parser.parse_args()
    state = tempfile.mkdtemp(prefix="ec2-bench-")
    nova_port, moto_port = free_port(), free_port()
    moto_proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(moto_port)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    nova_proc = None
    try:
        nova_proc, nova, _project = start_nova(state, nova_port, args.instances + args.launches)
        wait_port(moto_port)
        moto = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{moto_port}", region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing", config=CONFIG)
        nova_ami = nova_image(state)
        moto_ami = moto.describe_images()["Images"][0]["ImageId"]
        through_api = min(args.instances, max(args.api_fill, 1))
        print(f"filling both clouds with {args.instances} instances (nova: {through_api} by RunInstances)...",
              flush=True)
        started = time.monotonic()
        fill(nova, nova_ami, through_api)
        if args.instances > through_api:
            fill_direct(state, args.instances - through_api)
        nova_filled = time.monotonic()
        fill(moto, moto_ami, args.instances)
        print(f"filled in {nova_filled - started:.0f} s (nova) and {time.monotonic() - nova_filled:.0f} s (moto)",
              flush=True)

        def describe(client):
            def call():
                count = sum(len(r["Instances"]) for r in client.describe_instances()["Reservations"])
                assert count == args.instances, count
            return call

        report(f"DescribeInstances ({args.instances})", timed(describe(nova), args.describe, args.budget),
               timed(describe(moto), args.describe, args.budget))

        def launch(client, image_id):
            def run():
                instance_id = client.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
                wait_running(client, [instance_id], timeout=120, delay=0.2)
            return run

        report("RunInstances + wait running", timed(launch(nova, nova_ami), args.launches, args.budget),
               timed(launch(moto, moto_ami), args.launches, args.budget))
    finally:
        for proc in (nova_proc, moto_proc):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
