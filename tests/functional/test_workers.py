"""nova-api (``--api_workers=2``) and nova-objectstore (``--s3_workers=2``) as processes with workers.

nova-api runs on RabbitMQ, driven by boto3.

Two workers serve the EC2 port, each with its own broker connections and reply
queue: AllocateAddress is an RPC call to nova-network, so a reply delivered to
the wrong process would time out.  A worker killed with SIGKILL is replaced;
SIGTERM to the first process stops them all once the request in hand is answered.
"""

import concurrent.futures
import os
import signal
import socket
import time

import boto3
import botocore.config
import pytest

from nova import context
from nova.db import api as db
from tests.fixtures.daemons import ROOT, Cloud, free_port, listening, wait_for

pytestmark = pytest.mark.timeout(120)
CONFIG = botocore.config.Config(retries={"max_attempts": 1}, max_pool_connections=4)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return sorted(int(child) for child in handle.read().split())
    except FileNotFoundError:
        return []


def _established_per_pid(port: int, pids: list[int]) -> dict[int, int]:
    """How many accepted connections on ``port`` each process holds open (from /proc: who served them)."""
    inodes = set()
    with open("/proc/net/tcp") as handle:
        for line in list(handle)[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
                inodes.add(f"socket:[{fields[9]}]")
    held = {}
    for pid in pids:
        count = 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                count += os.readlink(f"/proc/{pid}/fd/{fd}") in inodes
            except OSError:
                continue
        held[pid] = count
    return held


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return "zombie" in handle.read()
    except FileNotFoundError:
        return True


def test_two_workers_serve_rpc_calls_are_replaced_and_stop_together(cloud, tmp_path):
    port = free_port()
    with open(cloud.flagfile, "a") as handle:
        handle.write("\n".join(["--network_manager=nova.network.manager.FlatManager", "--root_helper=",
                                "--quota_floating_ips=-1", f"--ec2_port={port}", "--ec2_listen=127.0.0.1",
                                "--metadata_port=0", "--graceful_shutdown_timeout=5",
                                f"--api_paste_config={os.path.join(ROOT, 'etc', 'nova', 'api-paste.ini')}"]) + "\n")
    cloud.sync_db()
    network = cloud.start("nova-network", "--host=net")
    api = cloud.start("nova-api", "--host=api", "--api_workers=2")
    # while they start: a user and nova-network's floating IPs, in this process (what nova-manage would do)
    cloud.create_users(("alice", "proj"))
    db.floating_ip_bulk_create(context.get_admin_context(), "net", [f"203.0.113.{n}" for n in range(1, 63)])
    wait_for(lambda: listening(port) or api.proc.poll() is not None, 30, what="nova-api listening")
    wait_for(lambda: len(_children(api.pid)) == 2, 10, what="two workers")
    wait_for(lambda: cloud.services_up(("net", "nova-network")), 30, what="nova-network up")
    workers = _children(api.pid)

    session = boto3.session.Session()  # one session: its clients share the loaded service model

    def client():
        return session.client("ec2", endpoint_url=f"http://127.0.0.1:{port}", region_name="nova",
                            aws_access_key_id="AK-alice-proj", aws_secret_access_key="SK-alice-proj", config=CONFIG)

    def allocate(ec2):
        return [ec2.allocate_address()["PublicIp"] for _ in range(2)]

    addresses, clients = [], []
    for _ in range(3):  # until both workers have served (the kernel picks which one accepts)
        batch = [client() for _ in range(8)]
        with concurrent.futures.ThreadPoolExecutor(len(batch)) as pool:
            addresses += [ip for ips in pool.map(allocate, batch) for ip in ips]
        clients += batch
        served = _established_per_pid(port, [api.pid, *workers])  # the clients' keep-alive connections
        if all(served[pid] for pid in workers):
            break
    print(f"connections held per process (first process {api.pid}): {served}")
    assert len(set(addresses)) == len(addresses) == 2 * len(clients)  # each RPC call got its own reply
    assert served[api.pid] == 0 and sum(served.values()) >= len(clients)
    assert all(served[pid] > 0 for pid in workers), served

    os.kill(workers[0], signal.SIGKILL)
    wait_for(lambda: len(_children(api.pid)) == 2 and workers[0] not in _children(api.pid), 10,
             what="a new worker")
    replaced = _children(api.pid)
    print(f"worker {workers[0]} killed; workers now {replaced}")
    fresh = [client() for _ in range(4)]
    with concurrent.futures.ThreadPoolExecutor(len(fresh)) as pool:
        more = [ip for ips in pool.map(allocate, fresh) for ip in ips]
    assert len(set(addresses + more)) == len(addresses) + 8
    assert {a["PublicIp"] for a in fresh[0].describe_addresses()["Addresses"]} == set(addresses + more)

    # A request in hand when SIGTERM comes is finished: its RPC call waits for a paused nova-network.
    os.kill(network.pid, signal.SIGSTOP)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(fresh[1].allocate_address)
            time.sleep(0.5)
            started = time.monotonic()
            api.signal(signal.SIGTERM)
            time.sleep(0.5)
            assert api.proc.poll() is None and not in_flight.done()
            os.kill(network.pid, signal.SIGCONT)
            assert in_flight.result(timeout=10)["PublicIp"] not in addresses + more
    finally:
        os.kill(network.pid, signal.SIGCONT)
    assert api.proc.wait(timeout=15) == 0
    wait_for(lambda: all(_gone(pid) for pid in replaced), 5, what="the workers to stop")
    assert time.monotonic() - started < 5
    log = api.log()
    assert f"worker {workers[0]} was killed by SIGKILL" in log and "Traceback" not in log, log


def test_objectstore_workers_are_replaced_too(tmp_path):
    cloud = Cloud(tmp_path, rabbit_url=None)
    try:
        cloud.sync_db()
        cloud.create_users(("alice", "proj"))
        port = free_port()
        store = cloud.start("nova-objectstore", f"--s3_port={port}", "--s3_listen=127.0.0.1", "--s3_workers=2")
        wait_for(lambda: listening(port) or store.proc.poll() is not None, 30, what="nova-objectstore listening")
        wait_for(lambda: len(_children(store.pid)) == 2, 10, what="two workers")
        workers = _children(store.pid)
        session = boto3.session.Session()

        def client():
            return session.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="nova",
                                  aws_access_key_id="AK-alice-proj", aws_secret_access_key="SK-alice-proj",
                                  config=CONFIG)

        s3 = client()
        s3.create_bucket(Bucket="kept")
        s3.put_object(Bucket="kept", Key="k", Body=b"before")
        os.kill(workers[1], signal.SIGKILL)
        wait_for(lambda: len(_children(store.pid)) == 2 and workers[1] not in _children(store.pid), 10,
                 what="a new worker")
        for _ in range(4):  # new connections, some of them to the new worker
            assert client().get_object(Bucket="kept", Key="k")["Body"].read() == b"before"
        replaced = _children(store.pid)
        store.signal(signal.SIGTERM)
        assert store.proc.wait(timeout=15) == 0
        wait_for(lambda: all(_gone(pid) for pid in replaced), 5, what="the workers to stop")
        log = store.log()
        assert f"worker {workers[1]} was killed by SIGKILL" in log and "Traceback" not in log, log
    finally:
        cloud.cleanup()


def test_a_burst_of_connections_is_shared_by_the_workers(tmp_path):
    """40 connections opened at once: each of two workers holds about half (the kernel wakes both for each,
    and the first to run would take every connection queued), and a replaced worker takes the next ones."""
    cloud = Cloud(tmp_path, rabbit_url=None)
    sockets = []
    try:
        cloud.sync_db()
        port = free_port()
        # a worker leaves a connection to a less loaded one for up to 2 s (a slow machine's idle worker wakes
        # late; by default 0.05 s, then it takes it itself)
        store = cloud.start("nova-objectstore", f"--s3_port={port}", "--s3_listen=127.0.0.1", "--s3_workers=2",
                            "--wsgi_balance_wait=2")
        wait_for(lambda: listening(port) or store.proc.poll() is not None, 30, what="nova-objectstore listening")
        wait_for(lambda: len(_children(store.pid)) == 2, 10, what="two workers")
        workers = _children(store.pid)

        def burst(count):
            opened = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
            sockets.extend(opened)
            wait_for(lambda: sum(_established_per_pid(port, _children(store.pid)).values()) == len(sockets), 10,
                     what=f"{len(sockets)} connections accepted")
            return _established_per_pid(port, _children(store.pid))

        held = burst(40)
        print(f"connections held per worker: {held}")
        assert sorted(held) == sorted(workers) and all(18 <= count <= 22 for count in held.values()), held

        os.kill(workers[0], signal.SIGKILL)  # its 20 connections end with it
        wait_for(lambda: len(_children(store.pid)) == 2 and workers[0] not in _children(store.pid), 10,
                 what="a new worker")
        sockets[:] = [s for s in sockets if _peer_open(s)]
        held = burst(30)
        print(f"after a worker was replaced: {held}")
        new = next(pid for pid in held if pid != workers[1])
        assert 23 <= held[new] <= 27 and 23 <= held[workers[1]] <= 27, held
        store.signal(signal.SIGTERM)
        assert store.proc.wait(timeout=15) == 0
    finally:
        for sock in sockets:
            sock.close()
        cloud.cleanup()


def _peer_open(sock: socket.socket) -> bool:
    """Whether the server end of ``sock`` is still open (a killed worker's connections read EOF)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)
