"""Boot/delete load on a cloud that looks like production, driven through the EC2 API.

    python bench/cloud_bench.py [--clients 1,10,50] [--seconds 30 | --cycles N] [--rounds 1] [--computes 2]
                                [--api-workers 2] [--api-pool 5] [--postgres-url URL] [--rabbit-url URL]
                                [--profile DIR] [--keep]

Starts nova-api, nova-scheduler (simple), nova-network (FlatManager,
--fake_network) and ``--computes`` nova-compute daemons (fake driver) as
separate processes from one flagfile (nova-api with ``--api-workers``
worker processes), on a fresh PostgreSQL database of the
server at ``--postgres-url`` and a private virtual host of the RabbitMQ broker
at ``--rabbit-url`` (both removed at the end).  For each client count, that
many threads each repeat RunInstances -> running -> TerminateInstances -> gone
through nova-api's EC2 API, for ``--seconds`` (or ``--cycles`` cycles in all).
``--rounds N`` runs the levels in turn N times and compares their medians
(the machine's speed drifts by more than a client count changes it).

The clients sign their requests themselves (Signature Version 2, one
keep-alive HTTP connection each) and one watcher thread reads the states of
every client's instance from the database every ``--watch-interval``
seconds, so waiting does not load nova-api and the bench costs little CPU
(its own CPU seconds are printed too).

Printed per level: boot latency (RunInstances sent -> vm_state active) and
delete latency (TerminateInstances sent -> row deleted) p50/p95/p99,
boot+delete cycles per second, errors; CPU seconds of each daemon (from
/proc/PID/stat, nova-api's worker processes included) and per 1,000 boots, and those of the PostgreSQL backends
of the bench's database and of the (local) RabbitMQ node; SQL statements each daemon sent per
cycle (nova's --sql_statement_count_dir counter; PostgreSQL's
pg_stat_statements needs a server restart to load, which a shared server
does not get).  ``--profile DIR`` runs every daemon under cProfile and
leaves DIR/<daemon>.prof (see bench/profile/README).
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime
import hashlib
import hmac
import http.client
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin")
DEFAULT_RABBIT = os.environ.get("NOVA_TEST_RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672//")
DEFAULT_POSTGRES = os.environ.get("NOVA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CLK_TCK = os.sysconf("SC_CLK_TCK")
EC2_PATH = "/services/Cloud"
ACCESS, SECRET, PROJECT = "bench-access", "bench-secret", "bench"


# -- the services the cloud runs on ------------------------------------------------------------------------

def postgres_connect(url: str, database: str | None = None):
    parsed = urllib.parse.urlparse(url)
    conn = psycopg2.connect(host=parsed.hostname or "127.0.0.1", port=parsed.port or 5432,
                            user=urllib.parse.unquote(parsed.username or "postgres"),
                            password=urllib.parse.unquote(parsed.password or "") or None,
                            dbname=database or parsed.path.lstrip("/") or "postgres")
    conn.autocommit = True
    return conn


def database_url(url: str, database: str) -> str:
    parsed = urllib.parse.urlparse(url)
    return urllib.parse.urlunparse(parsed._replace(path="/" + database))


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def rabbit_flags(url: str, vhost: str) -> list[str]:
    parsed = urllib.parse.urlparse(url)
    return ["--nofake_rabbit", f"--rabbit_host={parsed.hostname or '127.0.0.1'}",
            f"--rabbit_port={parsed.port or 5672}",
            f"--rabbit_userid={urllib.parse.unquote(parsed.username or 'guest')}",
            f"--rabbit_password={urllib.parse.unquote(parsed.password or 'guest')}",
            f"--rabbit_virtual_host={vhost}"]


def vacuum(url: str, database: str) -> None:
    """VACUUM ANALYZE the cloud's database, so each level starts as autovacuum would leave it.

    Each cycle leaves dead row versions (about 6 in instances, 2 in fixed_ips)
    and autovacuum visits a database at most once a minute: without this, a
    level run after another pays for the dead rows its predecessor left
    (index scans wade through them), and the order of the levels decides
    their comparison."""
    conn = postgres_connect(url, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    finally:
        conn.close()


def server_max_connections(url: str) -> int:
    """The connections the PostgreSQL server accepts from ordinary users (max_connections less those
    reserved for superusers)."""
    conn = postgres_connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_setting('max_connections')::int"
                           " - current_setting('superuser_reserved_connections')::int")
            return cursor.fetchone()[0]
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def network_size(clients: int) -> int:
    """Addresses for every client's instance (and one being freed), a power of two of at least 256."""
    size = 256
    while size < 4 * clients + 16:
        size *= 2
    return size


# -- the daemons -------------------------------------------------------------------------------------------

def process_cpu_seconds(pid: int, reaped: bool = False) -> float | None:
    """User + system CPU time of a process so far (with ``reaped``: and of the children it has waited for),
    None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return None
    return sum(int(field) for field in fields[11:15 if reaped else 13]) / CLK_TCK


def children(pid: int) -> list[int]:
    """The processes ``pid`` forked that still run (nova-api's workers)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a daemon: its own, its running workers' and those of the workers it has reaped."""
    return (process_cpu_seconds(pid, reaped=True) or 0.0) + sum(process_cpu_seconds(child) or 0.0
                                                               for child in children(pid))


def machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far, over every core (/proc/stat; iowait counts
    as idle): what a level left free shows whether its clients waited for a CPU or for something else."""
    with open("/proc/stat") as handle:
        fields = [int(field) for field in handle.readline().split()[1:9]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / CLK_TCK, sum(fields) / CLK_TCK


def rabbitmq_pid() -> int | None:
    """The local RabbitMQ node's Erlang VM (beam.smp), when the broker runs on this machine."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().strip() == "beam.smp":
                        return int(entry)
            except OSError:
                continue
    return None


SERVERS = ("postgres", "rabbitmq")  # ServerCpu's samples that count as the cloud's (its "watcher" does not)


class ServerCpu:
    """CPU seconds the servers spent for the bench: the PostgreSQL backends of its database, and the
    RabbitMQ node (the whole node: shared with anyone else using the broker); and apart, the backend
    serving the bench's own watcher (the bench's cost, not the cloud's).

    Backends are found in pg_stat_activity at each sample; one that came and went between two
    samples is missed (the daemons' pools keep theirs open, so few do).
    """

    def __init__(self, postgres_url: str, database: str, watcher: int) -> None:
        self.conn = postgres_connect(postgres_url, database)
        self.database = database
        self.watcher = watcher
        self.exclude = {watcher, self.conn.get_backend_pid()}
        self.rabbit = rabbitmq_pid()

    def sample(self) -> dict[str, dict[int, float]]:
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,))
            pids = [row[0] for row in cursor.fetchall() if row[0] not in self.exclude]
        backends = {pid: cpu for pid in pids if (cpu := process_cpu_seconds(pid)) is not None}
        rabbit = process_cpu_seconds(self.rabbit) if self.rabbit else None
        watcher = process_cpu_seconds(self.watcher)
        return {"postgres": backends, "rabbitmq": {0: rabbit} if rabbit is not None else {},
                "watcher": {0: watcher} if watcher is not None else {}}

    @staticmethod
    def spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
        return {name: sum(cpu - before[name].get(pid, 0.0) for pid, cpu in after[name].items())
                for name in after}


class Daemon:
    def __init__(self, name: str, binary: str, flagfile: str, state: str, extra: list[str],
                 profile_dir: str | None) -> None:
        self.name = name
        self.log_path = os.path.join(state, f"{name}.log")
        prefix = [sys.executable]
        if profile_dir:
            prefix += ["-m", "cProfile", "-o", os.path.join(profile_dir, f"{name}.prof")]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([*prefix, os.path.join(BIN, binary), f"--flagfile={flagfile}", *extra],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the daemon so far, its worker processes included."""
        return tree_cpu_seconds(self.proc.pid)

    def worker_cpu_seconds(self) -> dict[int, float]:
        """CPU seconds of each running worker process (nova-api's), by pid."""
        return {child: cpu for child in children(self.proc.pid)
                if (cpu := process_cpu_seconds(child)) is not None}

    def statements(self, count_dir: str) -> int:
        """SQL statements the daemon and its running workers have sent (one counter file per process)."""
        total = 0
        for pid in [self.proc.pid, *children(self.proc.pid)]:
            try:
                with open(os.path.join(count_dir, str(pid)), "rb") as handle:
                    total += int.from_bytes(handle.read(8), "little")
            except FileNotFoundError:
                pass
        return total

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def manage(flagfile: str, *args: str) -> str:
    result = subprocess.run([sys.executable, os.path.join(BIN, "nova-manage"), f"--flagfile={flagfile}", *args],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"nova-manage {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def wait_until(predicate, timeout: float, what: str, daemons: list[Daemon]) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        dead = [d.name for d in daemons if not d.alive()]
        if dead:
            raise SystemExit(f"{', '.join(dead)} exited while waiting for {what}; see the logs in the state dir")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


# -- an EC2 client that costs little -----------------------------------------------------------------------

class EC2Error(Exception):
    pass


_UNRESERVED = "-_.~"
_INSTANCE_ID = re.compile(r"<instanceId>(i-[0-9a-f]+)</instanceId>")
_ERROR = re.compile(r"<Code>([^<]*)</Code>\s*<Message>([^<]*)</Message>", re.S)


class EC2Client:
    """Query API requests signed with Signature Version 2 over one keep-alive connection."""

    def __init__(self, port: int, access: str, secret: str, path: str = EC2_PATH,
                 headers: dict[str, str] | None = None) -> None:
        self.host = f"127.0.0.1:{port}"
        self.port = port
        self.access = access
        self.secret = secret.encode()
        self.path = path
        self.headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": self.host, **(headers or {})}
        self.conn: http.client.HTTPConnection | None = None

    def _body(self, action: str, params: dict[str, str]) -> str:
        params = dict(params, Action=action, Version="2011-01-01", AWSAccessKeyId=self.access,
                      SignatureMethod="HmacSHA256", SignatureVersion="2",
                      Timestamp=datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"))
        query = "&".join(f"{urllib.parse.quote(k, safe=_UNRESERVED)}={urllib.parse.quote(str(v), safe=_UNRESERVED)}"
                         for k, v in sorted(params.items()))
        to_sign = f"POST\n{self.host}\n{self.path}\n{query}"
        signature = base64.b64encode(hmac.new(self.secret, to_sign.encode(), hashlib.sha256).digest()).decode()
        return f"{query}&Signature={urllib.parse.quote(signature, safe=_UNRESERVED)}"

    def call(self, action: str, **params: str) -> str:
        body = self._body(action, params)
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request("POST", self.path, body, self.headers)
                response = self.conn.getresponse()
                text = response.read().decode(errors="replace")
            except (http.client.HTTPException, OSError) as exc:
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise EC2Error(f"{action}: {type(exc).__name__}: {exc}") from None
                continue
            if response.status != 200:
                match = _ERROR.search(text)
                raise EC2Error(f"{action}: HTTP {response.status} " +
                               (f"{match.group(1)}: {match.group(2)}" if match else text[:200]))
            return text
        raise AssertionError("unreachable")


# moto_server tells EC2 from its other services by the credential scope; it checks no signature.
MOTO_HEADERS = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, "
                                 "SignedHeaders=host, Signature=0"}
_STATE = re.compile(r"<instanceState>\s*<code>\d+</code>\s*<name>([a-z-]+)</name>")


def moto_client(port: int) -> EC2Client:
    return EC2Client(port, "testing", "testing", path="/", headers=MOTO_HEADERS)


class DescribePoller:
    """Waits by DescribeInstances on the client's own connection (moto: no database to read)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.queries = 0

    def wait_for(self, ec2: EC2Client, ec2_id: str, instance_id: int, goal: str,
                 timeout: float) -> tuple[bool, str]:
        wanted = {"active": "running", "deleted": "terminated"}[goal]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.queries += 1
            match = _STATE.search(ec2.call("DescribeInstances", **{"InstanceId.1": ec2_id}))
            if match and match.group(1) == wanted:
                return True, ""
            time.sleep(self.interval)
        return False, f"not {wanted} within {timeout}s"


# -- watching instance states in the database --------------------------------------------------------------

class Watcher(threading.Thread):
    """One thread reads the state of every awaited instance with one query per interval."""

    def __init__(self, postgres_url: str, database: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.conn = postgres_connect(postgres_url, database)
        self.interval = interval
        self.lock = threading.Lock()
        self.waiting: dict[int, tuple[str, threading.Event, list]] = {}
        self.stopping = False
        self.queries = 0

    def wait_for(self, _ec2: EC2Client, _ec2_id: str, instance_id: int, goal: str,
                 timeout: float) -> tuple[bool, str]:
        return self.wait(instance_id, goal, timeout)

    def wait(self, instance_id: int, goal: str, timeout: float) -> tuple[bool, str]:
        """Wait for ``goal`` ("active" or "deleted"); (True, "") or (False, why)."""
        event, result = threading.Event(), []
        with self.lock:
            self.waiting[instance_id] = (goal, event, result)
        if not event.wait(timeout):
            with self.lock:
                self.waiting.pop(instance_id, None)
            return False, f"not {goal} within {timeout}s"
        return result[0]

    def run(self) -> None:
        cursor = self.conn.cursor()
        while not self.stopping:
            time.sleep(self.interval)
            with self.lock:
                ids = list(self.waiting)
            if not ids:
                continue
            cursor.execute("SELECT id, vm_state, deleted, fault FROM instances WHERE id = ANY(%s)", (ids,))
            self.queries += 1
            rows = {row[0]: row[1:] for row in cursor.fetchall()}
            for instance_id in ids:
                vm_state, deleted, fault = rows.get(instance_id, (None, True, None))
                with self.lock:
                    entry = self.waiting.get(instance_id)
                    if entry is None:
                        continue
                    goal, event, result = entry
                    if goal == "active" and vm_state == "active" and not deleted:
                        result.append((True, ""))
                    elif goal == "deleted" and deleted:
                        result.append((True, ""))
                    elif vm_state == "error":
                        result.append((False, f"instance {instance_id} in error: {fault}"))
                    elif goal == "active" and deleted:
                        result.append((False, f"instance {instance_id} deleted while booting"))
                    else:
                        continue
                    del self.waiting[instance_id]
                event.set()


# -- one level of load --------------------------------------------------------------------------------------

class Level:
    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.boots: list[float] = []
        # The part of each boot spent in RunInstances (sent -> response read), the rest is the back end's.
        self.run_calls: list[float] = []
        self.deletes: list[float] = []
        self.cycles = 0
        self.errors: collections.Counter[str] = collections.Counter()
        self.wall = 0.0
        self.lock = threading.Lock()

    def error(self, message: str) -> None:
        with self.lock:
            self.errors[re.sub(r"\d+", "N", message)[:160]] += 1


def client_loop(level: Level, ec2: EC2Client, watcher: Watcher | DescribePoller, image: str, deadline: float,
                budget: list[int], timeout: float) -> None:
    while time.monotonic() < deadline:
        with level.lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        started = time.perf_counter()
        try:
            reply = ec2.call("RunInstances", ImageId=image, MinCount="1", MaxCount="1", InstanceType="m1.tiny")
        except EC2Error as exc:
            level.error(str(exc))
            continue
        responded = time.perf_counter()
        ec2_id = _INSTANCE_ID.search(reply).group(1)
        instance_id = int(ec2_id[2:], 16)
        ok, why = watcher.wait_for(ec2, ec2_id, instance_id, "active", timeout)
        booted = time.perf_counter()
        if not ok:
            level.error(why)
        terminate_sent = time.perf_counter()
        try:
            ec2.call("TerminateInstances", **{"InstanceId.1": ec2_id})
        except EC2Error as exc:
            level.error(str(exc))
            continue
        gone, why_not = watcher.wait_for(ec2, ec2_id, instance_id, "deleted", timeout)
        done = time.perf_counter()
        if not gone:
            level.error(why_not)
            continue
        if ok:
            with level.lock:
                level.boots.append(booted - started)
                level.run_calls.append(responded - started)
                level.deletes.append(done - terminate_sent)
                level.cycles += 1


def run_level(clients: int, port: int, watcher: Watcher | DescribePoller, image: str, seconds: float,
              cycles: int | None, timeout: float, moto: bool = False) -> Level:
    level = Level(clients)
    budget = [cycles if cycles else 1 << 60]
    deadline = time.monotonic() + (seconds if not cycles else 24 * 3600)
    threads = [threading.Thread(target=client_loop, daemon=True,
                                args=(level, moto_client(port) if moto else EC2Client(port, f"{ACCESS}:{PROJECT}",
                                                                                       SECRET),
                                      watcher, image, deadline, budget, timeout))
               for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    level.wall = time.perf_counter() - started
    return level


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the run -----------------------------------------------------------------------------------------------

def api_workers_known() -> bool:
    """True when the nova this bench runs has --api_workers."""
    with open(os.path.join(ROOT, "nova", "flags.py")) as handle:
        return '"api_workers"' in handle.read()


def known_flags() -> str:
    """The flag registry of the nova this bench runs (an older tree may lack the bench's optional flags)."""
    with open(os.path.join(ROOT, "nova", "flag_registry.py")) as handle:
        return handle.read()


def start_cloud(args, state: str, database: str, vhost: str, max_clients: int) -> tuple[list[Daemon], int, str]:
    port = free_port()
    registry = known_flags()
    count_dir = os.path.join(state, "sql-statements")
    size = network_size(max_clients)
    lines = [
        f"--state_path={state}",
        f"--sql_connection={database_url(args.postgres_url, database)}",
        *rabbit_flags(args.rabbit_url, vhost),
        "--connection_type=fake", "--fake_network", "--root_helper=",
        "--network_manager=nova.network.manager.FlatManager",
        "--scheduler_driver=nova.scheduler.simple.SimpleScheduler",
        f"--fixed_range=10.0.0.0/{32 - size.bit_length() + 1}", f"--network_size={size}",
        "--quota_instances=-1", "--quota_cores=-1", "--quota_ram=-1",
        "--max_cores=1000000", "--fake_memory_mb=100000000",
        "--ec2_host=127.0.0.1", f"--ec2_port={port}", "--ec2_listen=127.0.0.1", "--metadata_port=0",
        "--osapi_port=0", "--identity_port=0", "--image_api_port=0", "--network_api_port=0",
        "--report_interval=5", "--periodic_interval=10", "--service_down_time=60",
        "--graceful_shutdown_timeout=10",
        *([f"--sql_statement_count_dir={count_dir}"] if "'sql_statement_count_dir'" in registry else []),
        *args.flag,
    ]
    flagfile = os.path.join(state, "nova.conf")
    with open(flagfile, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    manage(flagfile, "db", "sync")
    manage(flagfile, "user", "admin", "bench", ACCESS, SECRET)
    manage(flagfile, "project", "create", PROJECT, "bench")
    manage(flagfile, "network", "create", f"10.0.0.0/{32 - size.bit_length() + 1}", "1", str(size))
    disk = os.path.join(state, "bench-disk.img")
    with open(disk, "wb") as handle:
        handle.write(b"\0" * 4096)
    image = re.search(r"ami-[0-9a-f]+", manage(flagfile, "image", "image_register", disk, PROJECT, "bench")).group(0)

    profile_dir = os.path.abspath(args.profile) if args.profile else None
    if profile_dir:
        os.makedirs(profile_dir, exist_ok=True)
    # Each nova-api worker keeps --api-pool connections (default 5, the flag's default) and opens no more:
    # a request beyond them waits in the worker for one.  A pool as wide as the clients (--api-pool 0, which
    # earlier sessions used) gave PostgreSQL 40-50 backends at 50 clients, each planning and caching the
    # same prepared statements, and its CPU per cycle rose 5-15% from 10 to 50 clients; with 5 it did not
    # (doc/benchmarks.rst, "The 10 -> 50 clients comparison").  All the pools together must fit the
    # server's max_connections: past it, a daemon's new connection is refused ("too many clients") and
    # retried after --sql_retry_interval, and the cloud waits with idle cores (each other daemon may open
    # 15, the defaults' 5 + 10).
    workers = args.api_workers if api_workers_known() else 1
    others = (2 + args.computes) * 15 + 3  # scheduler, network, computes; the bench's own connections
    room = max((server_max_connections(args.postgres_url) - others) // workers, 10)
    if args.api_pool:
        kept = width = min(args.api_pool, room)
    else:
        width = min(max(max_clients, 15), 50, room)
        kept = max((width - 10) // workers, 5)
    api_pool = ([f"--sql_max_pool_size={kept}", f"--sql_max_overflow={width - kept}"]
                if "'sql_max_overflow'" in registry else [])
    if api_workers_known():
        api_pool.append(f"--api_workers={workers}")
    daemons = [Daemon("nova-api", "nova-api", flagfile, state, api_pool, profile_dir),
               Daemon("nova-scheduler", "nova-scheduler", flagfile, state, ["--host=ctl"], profile_dir),
               Daemon("nova-network", "nova-network", flagfile, state, ["--host=net"], profile_dir)]
    daemons += [Daemon(f"nova-compute-{n}", "nova-compute", flagfile, state, [f"--host=c{n}"], profile_dir)
                for n in range(1, args.computes + 1)]
    return daemons, port, image


def services_up(postgres_url: str, database: str, computes: int) -> bool:
    conn = postgres_connect(postgres_url, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute('SELECT "binary", count(*) FROM services WHERE NOT deleted GROUP BY "binary"')
            counts = dict(cursor.fetchall())
    except psycopg2.Error:
        return False
    finally:
        conn.close()
    return (counts.get("nova-compute", 0) >= computes and counts.get("nova-scheduler", 0) >= 1
            and counts.get("nova-network", 0) >= 1)


def fmt_ms(values: list[float], fraction: float) -> str:
    return f"{percentile(values, fraction) * 1000:8.0f}" if values else f"{'-':>8}"


def report(levels: list[tuple[Level, dict, dict, float, int]], daemons: list[Daemon], moto: list[Level]) -> None:
    print()
    print(f"{'clients':>7} {'cycles':>6} {'errors':>6} {'boot p50':>8} {'p95':>8} {'p99':>8} "
          f"{'del p50':>8} {'p95':>8} {'p99':>8} {'cycles/s':>8}   (latencies in ms)")
    for level, _cpu, _sql, _own, _polls in levels:
        print(f"{level.clients:>7} {level.cycles:>6} {sum(level.errors.values()):>6} "
              f"{fmt_ms(level.boots, .5)} {fmt_ms(level.boots, .95)} {fmt_ms(level.boots, .99)} "
              f"{fmt_ms(level.deletes, .5)} {fmt_ms(level.deletes, .95)} {fmt_ms(level.deletes, .99)} "
              f"{level.cycles / level.wall:>8.2f}")
    print("\nWhere a boot's time went: RunInstances (sent -> response, nova-api) and the rest (response -> "
          "active: scheduler, compute, network, the watcher's poll); and the mean cycle, which with N clients "
          "that never pause is N / cycles per second (Little's law): a boot is shorter only if the cycle is")
    print(f"{'clients':>7} {'Run p50':>8} {'p95':>8} {'rest p50':>8} {'p95':>8} {'boot avg':>8} {'del avg':>8} "
          f"{'cycle':>8} {'N/rate':>8}")
    for level, _cpu, _sql, _own, _polls in levels:
        if level.cycles:
            rest = [boot - run for boot, run in zip(level.boots, level.run_calls)]
            boot_avg, del_avg = statistics.mean(level.boots), statistics.mean(level.deletes)
            print(f"{level.clients:>7} {fmt_ms(level.run_calls, .5)} {fmt_ms(level.run_calls, .95)} "
                  f"{fmt_ms(rest, .5)} {fmt_ms(rest, .95)} {boot_avg * 1000:8.0f} {del_avg * 1000:8.0f} "
                  f"{(boot_avg + del_avg) * 1000:8.0f} {level.clients * level.wall / level.cycles * 1000:8.0f}")
    if len(levels) > 1:
        base = levels[0][0].cycles / levels[0][0].wall or 1
        print("throughput relative to the first level: " +
              ", ".join(f"{lv.clients} clients x{lv.cycles / lv.wall / base:.2f}" for lv, *_ in levels))
    names = [d.name for d in daemons]
    width = max(len(n) for n in names) + 2
    print("\nCPU seconds per daemon during each level (and the bench itself)")
    print(f"{'clients':>7} " + "".join(f"{n:>{width}}" for n in names) + f"{'bench':>{width}}")
    for level, cpu, _sql, own, _polls in levels:
        print(f"{level.clients:>7} " + "".join(f"{cpu[n]:>{width}.1f}" for n in names) + f"{own:>{width}.1f}")
    print("\nCPU seconds per daemon per 1,000 boots (boot + delete cycles)")
    print(f"{'clients':>7} " + "".join(f"{n:>{width}}" for n in names) + f"{'all':>{width}}")
    for level, cpu, _sql, _own, _polls in levels:
        if level.cycles:
            per = {n: cpu[n] * 1000 / level.cycles for n in names}
            print(f"{level.clients:>7} " + "".join(f"{per[n]:>{width}.0f}" for n in names) +
                  f"{sum(per.values()):>{width}.0f}")
    servers = [n for n in SERVERS if any(n in cpu for _lv, cpu, *_ in levels)]
    if servers:
        print("\nServer CPU seconds per 1,000 boots (postgres: the backends of the bench's database; "
              "rabbitmq: the whole node, shared; watcher: the backend answering the bench's polls, not counted "
              "in the total)")
        print(f"{'clients':>7} " + "".join(f"{n:>{width}}" for n in servers) +
              f"{'daemons+servers':>{width + 4}}{'watcher':>{width}}")
        for level, cpu, _sql, _own, _polls in levels:
            if level.cycles:
                per = {n: cpu.get(n, 0.0) * 1000 / level.cycles for n in servers}
                total = sum(cpu[n] for n in names) * 1000 / level.cycles + sum(per.values())
                print(f"{level.clients:>7} " + "".join(f"{per[n]:>{width}.1f}" for n in servers) +
                      f"{total:>{width + 4}.1f}{cpu.get('watcher', 0.0) * 1000 / level.cycles:>{width}.1f}")
    print("\nThe machine's cores during each level: busy (anyone's work) and idle, in cores; nova-api's "
          "workers' shares of its CPU (a worker holding more connections leaves new ones to the other)")
    for level, cpu, _sql, own, _polls in levels:
        if level.wall and cpu["machine all"]:
            cores = cpu["machine all"] / level.wall
            busy = cpu["machine busy"] / level.wall
            ours = (sum(cpu[n] for n in names) + cpu.get("postgres", 0.0) + cpu.get("rabbitmq", 0.0)
                    + cpu.get("watcher", 0.0) + own) / level.wall
            workers = cpu["api workers"]
            split = "/".join(f"{w * 100 / (sum(workers) or 1):.0f}" for w in workers)
            print(f"{level.clients:>7} clients: {busy:.2f} of {cores:.0f} cores busy ({ours:.2f} daemons, "
                  f"servers, bench and watcher; {busy - ours:.2f} others), {cores - busy:.2f} idle; "
                  f"nova-api workers {split or '-'} %")
    print("\nSQL statements per boot+delete cycle, per daemon (nova's statement counter)")
    print(f"{'clients':>7} " + "".join(f"{n:>{width}}" for n in names) + f"{'all':>{width}}"
          f"{'api/request':>{width}}")
    for level, _cpu, sql, _own, _polls in levels:
        if level.cycles:
            per = {n: sql[n] / level.cycles for n in names}
            print(f"{level.clients:>7} " + "".join(f"{per[n]:>{width}.1f}" for n in names) +
                  f"{sum(per.values()):>{width}.1f}{per['nova-api'] / 2:>{width}.1f}")
    if moto:
        print("\nmoto_server, same clients and cycles, waiting by DescribeInstances every 10 ms")
        print(f"{'clients':>7} {'cycles':>6} {'errors':>6} {'boot p50':>8} {'p95':>8} {'del p50':>8} {'p95':>8} "
              f"{'cycles/s':>8} {'nova/moto cycles/s':>19}")
        for (level, *_), other in zip(levels, moto):
            print(f"{other.clients:>7} {other.cycles:>6} {sum(other.errors.values()):>6} "
                  f"{fmt_ms(other.boots, .5)} {fmt_ms(other.boots, .95)} {fmt_ms(other.deletes, .5)} "
                  f"{fmt_ms(other.deletes, .95)} {other.cycles / other.wall:>8.2f} "
                  f"{(level.cycles / level.wall) / max(other.cycles / other.wall, 1e-9):>19.3f}")
    for level, *_ in levels:
        for message, count in level.errors.most_common(5):
            print(f"errors at {level.clients} clients: {count} x {message}")


def report_rounds(levels: list[tuple[Level, dict, dict, float, int]], names: list[str], per_round: int) -> None:
    """Each client count's cycles/s and machine CPU per cycle in every round, their medians, and each level's
    throughput against the level before it in the same round (neighbours in time, so the drift is small)."""
    rounds = [levels[start:start + per_round] for start in range(0, len(levels), per_round)]
    print(f"\nRounds: the levels ran {len(rounds)} times in turn; cycles/s in each round, the median, the median "
          "CPU per cycle (the machine's busy time; the cloud's: daemons, PostgreSQL backends and RabbitMQ), and "
          "the throughput of each level relative to the level before it in the same round (each round's ratio, "
          "then their median)")
    medians = []
    for index, (first, *_rest) in enumerate(rounds[0]):
        same = [round_levels[index] for round_levels in rounds if index < len(round_levels)]
        rates = [lv.cycles / lv.wall for lv, *_ in same]
        busy = [cpu["machine busy"] * 1000 / lv.cycles for lv, cpu, *_ in same if lv.cycles]
        cloud = [sum(cpu.get(name, 0.0) for name in (*names, *SERVERS)) * 1000 / lv.cycles
                 for lv, cpu, *_ in same if lv.cycles]
        medians.append(statistics.median(rates))
        line = (f"{first.clients:>7} clients: " + " ".join(f"{rate:7.2f}" for rate in rates) +
                f"  median {medians[-1]:7.2f}/s; CPU ms per cycle: machine {statistics.median(busy or [0]):5.1f}, "
                f"cloud {statistics.median(cloud or [0]):5.1f}")
        if index:
            ratios = [lv.cycles / lv.wall / max(prev.cycles / prev.wall, 1e-9)
                      for round_levels in rounds if index < len(round_levels)
                      for (lv, *_), (prev, *_) in [(round_levels[index], round_levels[index - 1])]]
            line += (f"; x{statistics.median(ratios):.3f} of {rounds[0][index - 1][0].clients} clients "
                     f"(rounds: {', '.join(f'x{ratio:.3f}' for ratio in ratios)})")
        print(line)
    print("median throughput relative to the first level: " +
          ", ".join(f"{lv.clients} clients x{rate / (medians[0] or 1):.2f}"
                    for (lv, *_), rate in zip(rounds[0], medians)))


def run_moto(args, levels_wanted: list[int]) -> list[Level]:
    """The same levels against moto_server (started here, stopped at the end)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not listening(port):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("moto_server did not start")
            time.sleep(0.2)
        image = re.search(r"<imageId>(ami-[0-9a-f]+)</imageId>", moto_client(port).call("DescribeImages")).group(1)
        poller = DescribePoller(0.01)
        levels = []
        for clients in levels_wanted:
            level = run_level(clients, port, poller, image, args.seconds, args.cycles, args.timeout, moto=True)
            print(f"moto, {clients} clients: {level.cycles} cycles in {level.wall:.1f}s "
                  f"({level.cycles / level.wall:.2f}/s), {sum(level.errors.values())} errors", flush=True)
            levels.append(level)
        return levels
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,10,50", help="comma-separated client counts, one level each")
    parser.add_argument("--seconds", type=float, default=30, help="length of each level")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the levels this many times in turn (1,10,50,1,10,50...) and compare their medians: "
                        "this machine's speed drifts by 10%% or more over minutes, which a single pass of the "
                        "levels mistakes for an effect of the client count")
    parser.add_argument("--cycles", type=int, default=0, help="boot+delete cycles per level (instead of --seconds)")
    parser.add_argument("--warmup", type=int, default=20, help="cycles run before the first level, not counted")
    parser.add_argument("--computes", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120, help="seconds a boot or a delete may take")
    parser.add_argument("--watch-interval", type=float, default=0.01)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--rabbit-url", default=DEFAULT_RABBIT)
    parser.add_argument("--api-workers", type=int, default=2,
                        help="nova-api processes (--api_workers; CPU and SQL of nova-api count all of them)")
    parser.add_argument("--api-pool", type=int, default=5, metavar="N",
                        help="database connections each nova-api process keeps and uses, no more (0: as many as "
                        "the most clients, within the server's max_connections)")
    parser.add_argument("--profile", metavar="DIR", help="run each daemon under cProfile, writing DIR/<daemon>.prof "
                        "(nova-api then runs one process: forked workers leave no profile)")
    parser.add_argument("--flag", action="append", default=[], help="an extra flagfile line, e.g. --flag=--verbose")
    parser.add_argument("--moto", action="store_true", help="run the same levels against moto_server afterwards")
    parser.add_argument("--keep", action="store_true", help="keep the state directory (logs) at the end")
    args = parser.parse_args()
    if args.profile:
        args.api_workers = 1
    levels_wanted = [int(c) for c in args.clients.split(",")]
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    state = tempfile.mkdtemp(prefix="nova-cloud-bench-")
    tag = uuid.uuid4().hex[:8]
    database, vhost = f"nova_bench_{tag}", f"nova-bench-{tag}"
    admin = postgres_connect(args.postgres_url)
    admin.cursor().execute(f'CREATE DATABASE "{database}"')
    user = urllib.parse.unquote(urllib.parse.urlparse(args.rabbit_url).username or "guest")
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    daemons: list[Daemon] = []
    watcher = server_cpu = None
    try:
        daemons, port, image = start_cloud(args, state, database, vhost, max(levels_wanted))
        wait_until(lambda: listening(port), 120, "nova-api", daemons)
        wait_until(lambda: services_up(args.postgres_url, database, args.computes), 120, "the services", daemons)
        print(f"cloud up: {len(daemons)} daemons ({args.api_workers if api_workers_known() else 1} nova-api "
              f"process(es)) on PostgreSQL database {database}, RabbitMQ vhost {vhost}, state {state}", flush=True)
        watcher = Watcher(args.postgres_url, database, args.watch_interval)
        watcher.start()
        if args.warmup:
            warm = run_level(min(2, max(levels_wanted)), port, watcher, image, 3600, args.warmup, args.timeout)
            print(f"warm-up: {warm.cycles} cycles, {sum(warm.errors.values())} errors", flush=True)
        count_dir = os.path.join(state, "sql-statements")
        server_cpu = ServerCpu(args.postgres_url, database, watcher.conn.get_backend_pid())
        results = []
        for clients in levels_wanted * args.rounds:
            vacuum(args.postgres_url, database)
            cpu0 = {d.name: d.cpu_seconds() for d in daemons}
            sql0 = {d.name: d.statements(count_dir) for d in daemons}
            own0, polls0 = own_cpu(), watcher.queries
            servers0 = server_cpu.sample()
            machine0, workers0 = machine_cpu(), daemons[0].worker_cpu_seconds()
            level = run_level(clients, port, watcher, image, args.seconds, args.cycles, args.timeout)
            machine1, workers1 = machine_cpu(), daemons[0].worker_cpu_seconds()
            cpu = {d.name: d.cpu_seconds() - cpu0[d.name] for d in daemons}
            cpu["machine busy"] = machine1[0] - machine0[0]
            cpu["machine all"] = machine1[1] - machine0[1]
            cpu["api workers"] = sorted((cpu1 - workers0.get(pid, 0.0) for pid, cpu1 in workers1.items()),
                                        reverse=True)
            cpu.update(ServerCpu.spent(servers0, server_cpu.sample()))
            sql = {d.name: d.statements(count_dir) - sql0[d.name] for d in daemons}
            results.append((level, cpu, sql, own_cpu() - own0, watcher.queries - polls0))
            print(f"{clients} clients: {level.cycles} cycles in {level.wall:.1f}s "
                  f"({level.cycles / level.wall:.2f}/s), {sum(level.errors.values())} errors", flush=True)
        moto_levels = run_moto(args, levels_wanted) if args.moto else []
        report(results, daemons, moto_levels)
        if args.rounds > 1:
            report_rounds(results, [d.name for d in daemons], len(levels_wanted))
        return 0 if all(not lv.errors for lv, *_ in results) else 1
    finally:
        if watcher is not None:
            watcher.stopping = True
        for daemon in daemons:
            daemon.stop()
        if watcher is not None:
            watcher.join(timeout=5)
            watcher.conn.close()
        if server_cpu is not None:
            server_cpu.conn.close()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=120)
        if args.keep:
            print(f"state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
