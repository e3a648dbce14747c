"""Listing benchmark: DescribeInstances at 100 / 1,000 / 10,000 instances, and DescribeImages,
DescribeAddresses and DescribeSecurityGroups at their sizes, nova-api against moto_server.

  python bench/listing_bench.py [--what instances,images,addresses,groups] [--sizes 100,1000,10000]
                                [--other_sizes 1000] [--repeat 5] [--page 1000]
                                [--sql_connection postgresql://...] [--moto_max 1000] [--no-moto]

Starts nova-api alone (EC2 API, in-memory transport) on a fresh SQLite file
(or the empty database ``--sql_connection`` names) and moto_server.  nova's
rows are written straight into its database in bulk: instances each with a
fixed and a floating address, two security groups and two tags; images
(public, with a tag); floating addresses of the project (unassociated, with a
tag); security groups each with a CIDR rule and a rule naming the previous
group.  moto's are made by its API (RunInstances, RegisterImage,
AllocateAddress, CreateSecurityGroup).  ``--what`` picks the listings:
instances at ``--sizes``, the others at ``--other_sizes``.  At each size it
times, with raw SigV4-signed POSTs (the response is read, not parsed, so
boto3's XML parsing is not measured): the Describe call of all rows, and
(for instances, images and groups, which page) the first page of ``--page``
(``MaxResults``); then prints the median wall time, the server's CPU time per
request (from /proc: what a loaded machine distorts least), the nova/moto
ratios of both and the rows nova listed.  moto lists its own public AMIs
too, so its DescribeImages asks for ``Owner=self``; nova's DescribeAddresses
also shows the instances' addresses when instances were grown first.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import ipaddress
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.credentials  # noqa: E402

VERSION = "2016-11-15"
CIDR = "10.128.0.0/15"  # room for 10,000+ fixed addresses
FLOATING = "172.20.0.0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[1]} exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {timeout}s")


class Ec2Caller:
    """Signs EC2 query requests with SigV4 and returns the raw response body."""

    def __init__(self, port: int, path: str, region: str, access: str, secret: str) -> None:
        self.port, self.path, self.region = port, path, region
        self.credentials = botocore.credentials.Credentials(access, secret)

    def call(self, action: str, **params: str) -> bytes:
        body = "&".join([f"Action={action}", f"Version={VERSION}", *(f"{k}={v}" for k, v in params.items())])
        request = botocore.awsrequest.AWSRequest(
            "POST", f"http://127.0.0.1:{self.port}{self.path}", data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        botocore.auth.SigV4Auth(self.credentials, "ec2", self.region).add_auth(request)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            connection.request("POST", self.path, body=body.encode(), headers=dict(request.headers.items()))
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise SystemExit(f"{action} on port {self.port}: HTTP {response.status}: {data[:500]!r}")
        return data


class NovaSide:
    """nova-api on its own database, filled by direct inserts."""

    def __init__(self, state: str, sql_connection: str | None) -> None:
        self.state = state
        self.flagfile = os.path.join(state, "nova.conf")
        self.port = free_port()
        with open(self.flagfile, "w") as handle:
            handle.write("\n".join([
                f"--state_path={state}",
                f"--sql_connection={sql_connection or 'sqlite:///' + os.path.join(state, 'nova.sqlite')}",
                "--fake_rabbit", "--ec2_listen=127.0.0.1", f"--ec2_port={self.port}", "--metadata_port=0",
                "--osapi_port=0", "--identity_port=0", "--image_api_port=0", "--network_api_port=0",
            ]) + "\n")
        from nova import context, flags
        from nova.db import migration

        flags.parse_args(["listing_bench", f"--flagfile={self.flagfile}"], use_default_flagfile=False)
        migration.db_sync()
        self.admin = context.get_admin_context()
        self.count = 0
        self.proc: subprocess.Popen | None = None

    def prepare(self) -> None:
        """The user, project, key pair, groups, image and network the instances hang off."""
        from nova.auth.manager import AuthManager
        from nova.db import api as db

        auth = AuthManager()
        auth.create_user("bench", "AK-BENCH", "SK-BENCH")
        auth.create_project("bench", "bench")
        auth.create_ec2_credentials("bench", "bench", "AK-BENCH-P", "SK-BENCH-P")
        self.flavor = db.instance_type_get_by_name(self.admin, "m1.tiny")["id"]
        self.groups = [db.security_group_create(self.admin, {"name": name, "description": name, "user_id": "bench",
                                                             "project_id": "bench"})["id"] for name in ("web", "ssh")]
        self.image = db.image_create(self.admin, {"name": "bench", "project_id": "bench", "type": "machine",
                                                  "state": "available", "is_public": True})["id"]
        self.network = db.network_create_safe(self.admin, {"label": "bench", "cidr": CIDR, "bridge": "br100"})["id"]

    def grow(self, size: int) -> None:
        """Add instances, with their addresses, group links and tags, until there are ``size``."""
        import sqlalchemy

        from nova.db import api as db
        from nova.db.sqlalchemy import models, session

        new = range(self.count, size)
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        engine = session.get_engine()
        with engine.begin() as connection:
            connection.execute(models.Instance.__table__.insert(), [
                {"uuid": str(uuid.uuid4()), "project_id": "bench", "user_id": "bench", "image_id": str(self.image),
                 "reservation_id": f"r-{n // 100:08x}", "instance_type_id": self.flavor, "vm_state": "active",
                 "power_state": 1, "host": "compute-1", "hostname": f"server-{n}", "launch_index": n % 100,
                 "key_name": "bench-key", "deleted": False, "created_at": now}
                for n in new])
            ids = connection.execute(sqlalchemy.select(models.Instance.id).order_by(models.Instance.id)
                                     .offset(self.count)).scalars().all()
        hosts = ipaddress.ip_network(CIDR).hosts()
        for _skip in range(self.count + 1):
            next(hosts)
        db.fixed_ip_bulk_create(self.admin, [{"address": str(next(hosts)), "network_id": self.network,
                                              "instance_id": i, "allocated": True} for i in ids])
        with engine.begin() as connection:
            fixed = dict(connection.execute(sqlalchemy.select(models.FixedIp.instance_id, models.FixedIp.id)
                                            .where(models.FixedIp.instance_id.in_(ids))).all())
            first = ipaddress.ip_address(FLOATING) + self.count
            connection.execute(models.FloatingIp.__table__.insert(), [
                {"address": str(first + n), "project_id": "bench", "host": "net-1", "fixed_ip_id": fixed[i],
                 "deleted": False} for n, i in enumerate(ids)])
            connection.execute(models.SecurityGroupInstanceAssociation.__table__.insert(), [
                {"instance_id": i, "security_group_id": g, "deleted": False} for i in ids for g in self.groups])
            connection.execute(models.Tag.__table__.insert(), [
                {"resource_type": "instance", "resource_id": i, "key": key, "value": f"{key}-{i}",
                 "project_id": "bench", "deleted": False} for i in ids for key in ("Name", "role")])
        self.count = size

    def grow_other(self, what: str, size: int) -> None:
        """Add images, floating addresses or security groups of the project, each tagged, until there are
        ``size`` of them (the bench image and the instances' groups count)."""
        import json

        import sqlalchemy

        from nova.db.sqlalchemy import models, session

        table = {"images": models.Image, "addresses": models.FloatingIp, "groups": models.SecurityGroup}[what]
        engine = session.get_engine()
        with engine.begin() as connection:
            have = connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(table).where(
                table.project_id == "bench", table.deleted == sqlalchemy.false())).scalar()
            new = range(have, size)
            if not new:
                return
            if what == "images":
                rows = [{"name": f"image-{n}", "project_id": "bench", "type": "machine", "state": "available",
                         "is_public": True, "disk_format": "ami", "container_format": "ami",
                         "properties": json.dumps({"image_location": f"bucket/image-{n}.manifest.xml"})}
                        for n in new]
            elif what == "addresses":
                first = ipaddress.ip_address("172.24.0.0")
                rows = [{"address": str(first + n), "project_id": "bench", "host": "net-1"} for n in new]
            else:
                rows = [{"name": f"group-{n}", "description": f"group {n}", "user_id": "bench",
                         "project_id": "bench"} for n in new]
            now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
            connection.execute(table.__table__.insert(), [dict(r, deleted=False, created_at=now) for r in rows])
            ids = connection.execute(sqlalchemy.select(table.id).where(table.project_id == "bench")
                                     .order_by(table.id).offset(have)).scalars().all()
            kind = {"images": "image", "addresses": "elastic-ip", "groups": "security-group"}[what]
            connection.execute(models.Tag.__table__.insert(), [
                {"resource_type": kind, "resource_id": i, "key": "Name", "value": f"{what}-{i}",
                 "project_id": "bench", "deleted": False} for i in ids])
            if what == "groups":
                rule = models.SecurityGroupIngressRule
                connection.execute(rule.__table__.insert(), [
                    {"parent_group_id": i, "protocol": "tcp", "from_port": 22, "to_port": 22,
                     "cidr": "10.0.0.0/8", "group_id": None, "deleted": False} for i in ids] + [
                    {"parent_group_id": i, "protocol": "tcp", "from_port": 80, "to_port": 80,
                     "cidr": None, "group_id": i - 1, "deleted": False} for i in ids])

    def start(self) -> Ec2Caller:
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "bin", "nova-api"),
                                      f"--flagfile={self.flagfile}"],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.state, "api.log"), "wb"),
                                     start_new_session=True)
        wait_port(self.port, self.proc)
        return Ec2Caller(self.port, "/services/Cloud", "nova", "AK-BENCH-P", "SK-BENCH-P")


class MotoSide:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_port(self.port, self.proc)
        self.caller = Ec2Caller(self.port, "/", "us-east-1", "testing", "testing")
        import re
        images = self.caller.call("DescribeImages")
        self.image = re.search(rb"<imageId>(ami-[0-9a-f]+)</imageId>", images).group(1).decode()
        self.count = 0

    def grow(self, size: int) -> None:
        while self.count < size:
            batch = min(size - self.count, 500)
            self.caller.call("RunInstances", ImageId=self.image, MinCount=str(batch), MaxCount=str(batch))
            self.count += batch


    def grow_other(self, what: str, size: int) -> None:
        """RegisterImage, AllocateAddress or CreateSecurityGroup until ``size`` of them were made."""
        made = getattr(self, f"{what}_made", 0)
        for n in range(made, size):
            if what == "images":
                self.caller.call("RegisterImage", Name=f"image-{n}", RootDeviceName="/dev/sda1",
                                 ImageLocation=f"bucket/image-{n}.manifest.xml")
            elif what == "addresses":
                self.caller.call("AllocateAddress")
            else:
                self.caller.call("CreateSecurityGroup", GroupName=f"group-{n}", GroupDescription=f"group-{n}")
        setattr(self, f"{what}_made", max(made, size))


# What each listing calls, the element counted per row, whether it pages, and moto's own parameters.
LISTINGS = {
    "instances": ("DescribeInstances", b"<instanceId>", True, {}),
    "images": ("DescribeImages", b"<imageId>", True, {"Owner.1": "self"}),
    "addresses": ("DescribeAddresses", b"<publicIp>", False, {}),
    "groups": ("DescribeSecurityGroups", b"<groupDescription>", True, {}),
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (/proc/PID/stat), which a loaded machine
    inflates far less than wall time."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(call, repeat: int, pid: int) -> tuple[float, float]:
    """(median wall seconds, mean CPU seconds of the server ``pid``) of ``repeat`` calls."""
    cpu = cpu_seconds(pid)
    wall = median_time(call, repeat)
    return wall, (cpu_seconds(pid) - cpu) / repeat


def median_time(call, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", default="instances",
                        help="comma-separated listings among " + ",".join(LISTINGS))
    parser.add_argument("--sizes", default="100,1000,10000", help="instance counts")
    parser.add_argument("--other_sizes", default="1000", help="image, address and group counts")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--sql_connection", help="an empty database for nova (default: a new SQLite file)")
    parser.add_argument("--no-moto", action="store_true", help="time nova alone")
    parser.add_argument("--moto_max", type=int, default=None,
                        help="time moto_server only up to this size (a 10,000-instance DescribeInstances takes it "
                             "minutes on a loaded machine)")
    args = parser.parse_args()
    kinds = [w for w in args.what.split(",") if w]
    unknown = sorted(set(kinds) - set(LISTINGS))
    if unknown:
        parser.error(f"unknown listing(s) {', '.join(unknown)}; choose among {', '.join(LISTINGS)}")
    nova = NovaSide(tempfile.mkdtemp(prefix="listing-bench-"), args.sql_connection)
    moto = None
    try:
        nova.prepare()
        nova_caller = nova.start()
        moto = None if args.no_moto else MotoSide()
        print(f"{'size':>6} {'what':30} {'nova ms':>9} {'nova cpu':>9} {'moto ms':>9} {'moto cpu':>9} "
              f"{'wall n/m':>9} {'cpu n/m':>9} {'KiB':>7} {'rows':>6}")
        for what in kinds:
            action, element, pages, moto_params = LISTINGS[what]
            for size in sorted(int(n) for n in (args.sizes if what == "instances" else args.other_sizes).split(",")):
                with_moto = moto is not None and (args.moto_max is None or size <= args.moto_max)
                if what == "instances":
                    nova.grow(size)
                    if with_moto:
                        moto.grow(size)
                else:
                    nova.grow_other(what, size)
                    if with_moto:
                        moto.grow_other(what, size)
                cases = [(f"{action} all", {})]
                if pages and size > args.page:
                    cases.append((f"first page of {args.page}", {"MaxResults": str(args.page)}))
                for name, params in cases:
                    body = nova_caller.call(action, **params)
                    rows = body.count(element)
                    if what == "instances":
                        assert rows == min(size, int(params.get("MaxResults", size))), name
                    else:
                        assert rows >= min(size, int(params.get("MaxResults", size))), (name, rows)
                    nova_time, nova_cpu = timed(lambda: nova_caller.call(action, **params), args.repeat,
                                                nova.proc.pid)
                    line = f"{size:6d} {name:30} {nova_time * 1000:9.1f} {nova_cpu * 1000:9.1f}"
                    if with_moto:
                        mine = dict(moto_params, **params)
                        moto.caller.call(action, **mine)
                        moto_time, moto_cpu = timed(lambda: moto.caller.call(action, **mine), args.repeat,
                                                    moto.proc.pid)
                        line += (f" {moto_time * 1000:9.1f} {moto_cpu * 1000:9.1f} {nova_time / moto_time:9.2f}"
                                 f" {nova_cpu / max(moto_cpu, 1e-9):9.2f}")
                    else:
                        line += f" {'-':>9} {'-':>9} {'-':>9} {'-':>9}"
                    print(f"{line} {len(body) / 1024:7.0f} {rows:6d}", flush=True)
    finally:
        stop(nova.proc)
        if moto:
            stop(moto.proc)


if __name__ == "__main__":
    main()
