"""nova-objectstore against moto_server and plain file copies, measured in the same run.

    python bench/s3_bench.py [--size-mib 1024] [--small 500] [--dir DIR]

Each server runs as its own process on loopback and is driven by boto3
(path-style, SigV4, the transfer manager's default 8 MiB parts and 10
threads).  Measured: PUT and GET throughput of one large object, and
sequential PUT and GET operations per second on 4 KiB objects.  The
baseline is the same work as plain files on the same disk: a copy of the
large file (fsynced, as the objectstore fsyncs), and for each small object a
write, fsync and rename.  Also printed: nova-objectstore's peak resident
memory, which stays far below the object size because objects are streamed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import boto3
import botocore.config
from boto3.s3.transfer import TransferConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on {port} after {timeout}s")


def start_nova(workdir: str) -> tuple[subprocess.Popen, int, tuple[str, str]]:
    flagfile = os.path.join(workdir, "nova.conf")
    with open(flagfile, "w") as handle:
        handle.write(f"--state_path={workdir}\n--sql_connection=sqlite:///{workdir}/nova.sqlite\n--fake_rabbit\n")
    manage = [sys.executable, os.path.join(ROOT, "bin", "nova-manage"), f"--flagfile={flagfile}"]
    for args in (["db", "sync"], ["user", "create", "bench", "bench-key", "bench-secret"],
                 ["project", "create", "bench", "bench"]):
        subprocess.run(manage + args, check=True, capture_output=True, timeout=120)
    port = free_port()
    log = open(os.path.join(workdir, "objectstore.log"), "wb")
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "bin", "nova-objectstore"), f"--flagfile={flagfile}",
                             f"--s3_port={port}", "--s3_listen=127.0.0.1"], stdout=log, stderr=subprocess.STDOUT)
    wait_listening(port, proc)
    return proc, port, ("bench-key:bench", "bench-secret")


def start_moto() -> tuple[subprocess.Popen, int, tuple[str, str]]:
    port = free_port()
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    return proc, port, ("testing", "testing")


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def s3_run(port: int, creds: tuple[str, str], big: str, workdir: str, small: int) -> dict[str, float]:
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id=creds[0], aws_secret_access_key=creds[1],
                          config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                                        max_pool_connections=20))
    client.create_bucket(Bucket="bench-bucket")
    size = os.path.getsize(big)
    transfer = TransferConfig()
    results = {}
    started = time.perf_counter()
    client.upload_file(big, "bench-bucket", "big", Config=transfer)
    results["put_mib_s"] = size / MIB / (time.perf_counter() - started)
    target = os.path.join(workdir, "big.down")
    started = time.perf_counter()
    client.download_file("bench-bucket", "big", target, Config=transfer)
    results["get_mib_s"] = size / MIB / (time.perf_counter() - started)
    if os.path.getsize(target) != size:
        raise SystemExit("downloaded object has the wrong size")
    os.unlink(target)
    payload = os.urandom(4096)
    started = time.perf_counter()
    for i in range(small):
        client.put_object(Bucket="bench-bucket", Key=f"small/{i}", Body=payload)
    results["small_put_ops"] = small / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(small):
        if len(client.get_object(Bucket="bench-bucket", Key=f"small/{i}")["Body"].read()) != 4096:
            raise SystemExit("small object came back wrong")
    results["small_get_ops"] = small / (time.perf_counter() - started)
    return results


def file_run(big: str, workdir: str, small: int) -> dict[str, float]:
    size = os.path.getsize(big)
    results = {}
    copy = os.path.join(workdir, "copy.bin")

    def copy_fsync(src: str, dst: str) -> float:
        started = time.perf_counter()
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout, MIB)
            fout.flush()
            os.fsync(fout.fileno())
        return size / MIB / (time.perf_counter() - started)

    results["put_mib_s"] = copy_fsync(big, copy)
    back = os.path.join(workdir, "copy.back")
    results["get_mib_s"] = copy_fsync(copy, back)
    os.unlink(copy)
    os.unlink(back)
    directory = os.path.join(workdir, "small")
    os.makedirs(directory)
    payload = os.urandom(4096)
    started = time.perf_counter()
    for i in range(small):
        tmp = os.path.join(directory, f".{i}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, os.path.join(directory, str(i)))
    results["small_put_ops"] = small / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(small):
        with open(os.path.join(directory, str(i)), "rb") as handle:
            handle.read()
    results["small_get_ops"] = small / (time.perf_counter() - started)
    shutil.rmtree(directory)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the large object (default 1 GiB)")
    parser.add_argument("--small", type=int, default=500, help="number of 4 KiB objects")
    parser.add_argument("--dir", default=None, help="working directory (default: a temporary one)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="s3bench-", dir=args.dir)
    procs = []
    try:
        big = os.path.join(workdir, "big.bin")
        with open(big, "wb") as handle:
            block = os.urandom(MIB)
            for i in range(args.size_mib):
                handle.write(block[i % 7:] + block[:i % 7])
        print(f"large object: {args.size_mib} MiB; small objects: {args.small} x 4 KiB; dir {workdir}")
        results = {"plain files": file_run(big, workdir, args.small)}
        nova_dir = os.path.join(workdir, "nova")
        os.makedirs(nova_dir)
        nova_proc, port, creds = start_nova(nova_dir)
        procs.append(nova_proc)
        results["nova-objectstore"] = s3_run(port, creds, big, workdir, args.small)
        nova_rss = peak_rss_mib(nova_proc.pid)
        moto_proc, port, creds = start_moto()
        procs.append(moto_proc)
        results["moto_server"] = s3_run(port, creds, big, workdir, args.small)
        moto_rss = peak_rss_mib(moto_proc.pid)
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    labels = {"put_mib_s": "PUT large (MiB/s)", "get_mib_s": "GET large (MiB/s)",
              "small_put_ops": "PUT 4 KiB (ops/s)", "small_get_ops": "GET 4 KiB (ops/s)"}
    print(f"{'':20}{'nova':>12}{'moto':>12}{'files':>12}{'nova/moto':>12}{'nova/files':>12}")
    for key, label in labels.items():
        nova_v, moto_v, file_v = (results[n][key] for n in ("nova-objectstore", "moto_server", "plain files"))
        print(f"{label:20}{nova_v:12.1f}{moto_v:12.1f}{file_v:12.1f}{nova_v / moto_v:12.2f}{nova_v / file_v:12.3f}")
    print(f"peak RSS: nova-objectstore {nova_rss:.0f} MiB, moto_server {moto_rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
