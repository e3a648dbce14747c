"""A cloud on a three-node RabbitMQ cluster keeps every request through a node outage and daemon restarts.

nova-api, nova-scheduler, nova-network and nova-compute (fake driver) run as
processes from one flagfile listing the three nodes (``--rabbit_hosts``, so
topic queues are quorum queues).  boto3 clients send a steady, bounded load of
RunInstances and TerminateInstances while

- the node every daemon is connected to (the first one listed) stops: every
  accepted request ends in a defined state, no request is refused, no daemon
  restarts, and an instance launched right after the stop runs within 10 s;
- each daemon in turn gets SIGTERM and is started again: nothing is lost.

Load: 66 RunInstances plus 32 TerminateInstances (of every other instance,
three launches later) spread over 30 s in the first test; in the second, one
RunInstances a second (every other one terminated) from the first restart
until 2 s after the last.
"""

from __future__ import annotations

import datetime
import queue
import sqlite3
import threading
import time

import botocore.exceptions
import pytest

from tests.fixtures.daemons import Cloud, Daemon, wait_for
from tests.functional.test_ec2 import Ec2Cloud

FINAL = {"running", "error", "terminated"}


@pytest.fixture(scope="module")
def cluster_cloud(rabbit_cluster, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("cluster-cloud")
    cloud = Cloud(tmp_path, rabbit_cluster.nodes[0].url)
    with open(cloud.flagfile, "a") as handle:
        handle.write("\n".join([
            f"--rabbit_hosts={rabbit_cluster.hosts_flag}",
            "--quota_instances=-1", "--quota_cores=-1", "--quota_ram=-1",
            "--scheduler_driver=nova.scheduler.chance.ChanceScheduler",
            # nova's default: a restarting nova-compute still counts as up, its queue keeps the launches
            "--service_down_time=60",
        ]) + "\n")
    try:
        yield Ec2Cloud(cloud, tmp_path)
    finally:
        cloud.cleanup()


class Load:
    """``runs`` RunInstances over ``seconds``; every other instance is terminated three launches later.

    Four worker threads (one boto3 client each) send the requests at their
    scheduled times.  A request that gets no answer or a 5xx (nova-api
    restarting) is sent again until accepted; each such refusal is counted.
    """

    LAG = 3

    def __init__(self, ec2: Ec2Cloud, runs: int, seconds: float) -> None:
        self.ec2 = ec2
        self.interval = seconds / runs
        self.runs: dict[int, str] = {}
        self.terminated: set[str] = set()
        self.refused: list[str] = []
        self.failed: list[str] = []
        self.sent = 0
        self._queue: queue.Queue = queue.Queue()
        self._plan = []
        for index in range(runs):
            self._plan.append((index * self.interval, ("run", index)))
            if index >= self.LAG and (index - self.LAG) % 2 == 0:
                self._plan.append((index * self.interval + self.interval / 2, ("terminate", index - self.LAG)))
        self._lock = threading.Lock()
        self._finishing = False
        self._threads = [threading.Thread(target=self._schedule, daemon=True)]
        self._threads += [threading.Thread(target=self._work, args=(ec2.client("alice"),), daemon=True)
                          for _ in range(4)]

    @property
    def requests(self) -> int:
        return len(self._plan)

    def start(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def join(self, timeout: float = 120) -> None:
        for thread in self._threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in self._threads), "load did not finish"

    def finish(self) -> None:
        """Send nothing more than what is due now (and the terminations of what was launched)."""
        self._finishing = True

    def _schedule(self) -> None:
        start = time.monotonic()
        sent = []
        for offset, op in self._plan:
            if self._finishing and (op[0] == "run" or op[1] not in sent):
                continue
            time.sleep(max(start + offset - time.monotonic(), 0))
            if self._finishing and op[0] == "run":
                continue
            sent.append(op[1])
            self._queue.put(op)
        self._plan = [(offset, op) for offset, op in self._plan if op[1] in sent]
        for _ in range(4):
            self._queue.put(None)

    def _work(self, client) -> None:
        while (op := self._queue.get()) is not None:
            kind, index = op
            try:
                if kind == "run":
                    self._send(client, f"run {index}", lambda: self._run(client, index))
                else:
                    instance_id = wait_for(lambda: self.runs.get(index), timeout=60, interval=0.1,
                                           what=f"launch {index}")
                    self._send(client, f"terminate {instance_id}",
                               lambda: client.terminate_instances(InstanceIds=[instance_id]))
                    with self._lock:
                        self.terminated.add(instance_id)
            except Exception as exc:  # noqa: BLE001 - reported by the test
                with self._lock:
                    self.failed.append(f"{kind} {index}: {exc}")

    def _run(self, client, index: int) -> None:
        reply = client.run_instances(ImageId=self.ec2.image_id, MinCount=1, MaxCount=1, InstanceType="m1.tiny")
        with self._lock:
            self.runs[index] = reply["Instances"][0]["InstanceId"]

    def _send(self, client, what: str, request) -> None:
        deadline = time.monotonic() + 60
        while True:
            with self._lock:
                self.sent += 1
            try:
                request()
                return
            except botocore.exceptions.ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if status < 500 or time.monotonic() > deadline:
                    raise
                reason = f"{what}: HTTP {status} {exc.response.get('Error', {}).get('Message', '')}"
            except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
                if time.monotonic() > deadline:
                    raise
                reason = f"{what}: {type(exc).__name__}"
            with self._lock:
                self.refused.append(reason)
            time.sleep(0.5)


def _states(client, instance_ids) -> dict[str, str]:
    states = {}
    ids = sorted(instance_ids)
    for start in range(0, len(ids), 50):
        reservations = client.describe_instances(InstanceIds=ids[start:start + 50])["Reservations"]
        states.update({i["InstanceId"]: i["State"]["Name"] for r in reservations for i in r["Instances"]})
    return states


def _settled(ec2: Ec2Cloud, load: Load, timeout: float = 90) -> dict[str, str]:
    """Wait until every instance the load launched is running, in error or terminated; returns the states."""
    client = ec2.client("alice")

    def done():
        states = _states(client, load.runs.values())
        for instance_id, state in states.items():
            wanted = {"terminated"} if instance_id in load.terminated else {"running", "error"}
            if state not in wanted:
                return None
        return states if len(states) == len(load.runs) else None

    try:
        return wait_for(done, timeout=timeout, interval=1, what="every instance in a final state")
    except AssertionError:
        states = _states(client, load.runs.values())
        stuck = {i: s for i, s in states.items() if s not in FINAL or (i in load.terminated) != (s == "terminated")}
        raise AssertionError(f"not settled after {timeout}s: {stuck}") from None


def _check(ec2: Ec2Cloud, load: Load, label: str) -> dict[str, int]:
    assert load.failed == [], load.failed
    states = _settled(ec2, load)
    # Nothing the load did not ask for exists either (a launch whose answer was lost would show here).
    listed = ec2.client("alice").describe_instances()["Reservations"]
    extra = {i["InstanceId"]: i["State"]["Name"] for r in listed for i in r["Instances"]
             if i["InstanceId"] not in states}
    assert all(state in FINAL for state in extra.values()), extra
    counts = {name: sum(1 for s in states.values() if s == name) for name in sorted(FINAL)}
    print(f"\n{label}: {load.requests} requests ({load.sent} sent, {len(load.refused)} refused and sent again), "
          f"{len(load.runs)} launched, {len(load.terminated)} terminated; final states {counts}; "
          f"{len(extra)} not asked for")
    counts["faults"] = _faults(ec2, [i for i, s in states.items() if s == "error"])
    return counts


def _faults(ec2: Ec2Cloud, instance_ids: list[str]) -> list[str]:
    """Why these instances are in error (the ``fault`` column, read from the cloud's SQLite file)."""
    if not instance_ids:
        return []
    numbers = ",".join(str(int(i.split("-")[1], 16)) for i in instance_ids)
    with sqlite3.connect(ec2.cloud.sqlite_path) as conn:
        rows = conn.execute(f"SELECT id, fault, launched_at FROM instances WHERE id IN ({numbers})")
        return [f"instance {row[0]}: {row[1]} (launched at {row[2]})" for row in rows]


def _daemons(ec2: Ec2Cloud) -> list[Daemon]:
    return [d for d in ec2.cloud.daemons if d.proc.poll() is None]


def _time_a_launch(ec2: Ec2Cloud, before_launch=lambda: None) -> float:
    """Seconds from ``before_launch()`` until an instance launched just after it runs."""
    client = ec2.client("alice")
    start = time.monotonic()
    before_launch()
    reply = client.run_instances(ImageId=ec2.image_id, MinCount=1, MaxCount=1, InstanceType="m1.tiny")
    probe = reply["Instances"][0]["InstanceId"]
    state = wait_for(lambda: (s := _states(client, [probe])[probe]) in ("running", "error") and s, timeout=60,
                     interval=0.1, what="the probe instance")
    assert state == "running"
    return time.monotonic() - start


def _reconnected(daemons: list[Daemon], since: float) -> float:
    """Seconds from ``since`` (time.time()) until the last daemon consumed again, read from their logs."""
    last = since
    for daemon in daemons:
        for line in daemon.log().splitlines():
            if "consuming again from" in line:
                stamp = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                if stamp >= since:
                    last = max(last, stamp)
    return last - since


@pytest.mark.timeout(400)
def test_stopping_the_node_the_daemons_use_loses_nothing(cluster_cloud, rabbit_cluster):
    ec2 = cluster_cloud
    daemons = _daemons(ec2)
    pids = {d.binary: d.pid for d in daemons}
    node = rabbit_cluster.node_holding([pids["nova-compute"], pids["nova-scheduler"]])
    assert node is rabbit_cluster.nodes[0], "the daemons connect to the first node listed"

    load = Load(ec2, runs=66, seconds=30).start()
    time.sleep(3)
    usual = _time_a_launch(ec2)
    stopped_at = time.time()
    probe = _time_a_launch(ec2, node.terminate)
    node.wait_stopped()
    reconnected = _reconnected(daemons, stopped_at)
    print(f"\nnode {node.name} stopped: every daemon consumed again {reconnected:.1f}s later; an instance "
          f"launched right after the stop ran {probe:.1f}s later (one launched just before: {usual:.1f}s)")
    load.join()
    counts = _check(ec2, load, "node stop")

    assert reconnected < 10
    assert probe < usual + 10
    assert load.refused == [], "a node stop is invisible to API clients"
    assert counts["error"] == 0, counts["faults"]
    assert {d.binary: d.pid for d in _daemons(ec2)} == pids, "no daemon restarted"
    # They all moved to another node of the cluster.
    moved = rabbit_cluster.node_holding(list(pids.values()))
    assert moved is not None and moved is not node


@pytest.mark.timeout(400)
def test_restarting_each_daemon_in_turn_loses_nothing(cluster_cloud):
    ec2 = cluster_cloud
    load = Load(ec2, runs=120, seconds=120).start()
    for binary in ("nova-scheduler", "nova-compute", "nova-network", "nova-api"):
        time.sleep(1)
        [daemon] = [d for d in _daemons(ec2) if d.binary == binary]
        assert daemon.stop() == 0, f"{binary} exit status"
        again = ec2.cloud.start(binary, *daemon.proc.args[3:])
        if binary == "nova-api":
            wait_for(ec2._listening, timeout=60, what="nova-api listening again")
        else:
            wait_for(lambda: "RPC server consuming" in again.log(), timeout=60, what=f"{binary} consuming again")
    time.sleep(2)
    load.finish()
    load.join()
    counts = _check(ec2, load, "daemon restarts")
    # The fake driver's domains live in nova-compute's memory: those running when it restarted are gone, and
    # nova-compute says so (error, "its domain is gone"), after they had run.  Any other error is a failure.
    lost = [fault for fault in counts["faults"] if "its domain is gone" not in fault or "launched at None" in fault]
    assert lost == []
    assert len(_daemons(ec2)) == 4
    assert all("Traceback" not in d.log() for d in _daemons(ec2)), [d.log_path for d in _daemons(ec2)]
