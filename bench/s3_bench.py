"""nova-objectstore against moto_server and plain file copies, measured in the same run.

    python bench/s3_bench.py [--size-mib 1024] [--small 4000] [--clients 1,32] [--dir DIR]
                             [--only nova|moto] [--workers 2] [--large-runs 1] [--nova-flag=--FLAG=VALUE ...]

Measured, for each server (its own process on loopback):

* one large object: a single PUT of ``--size-mib`` MiB, then a GET of it into
  a file.  The PUT carries what an SDK sends over plain HTTP: the body's
  SHA-256 in ``x-amz-content-sha256`` (SigV4 signed payload) and its CRC32
  in ``x-amz-checksum-crc32``, so the server computes MD5 (the ETag),
  SHA-256 and CRC32 of every byte.  The baseline is a plain copy of the same
  file on the same disk, fsynced (as the objectstore fsyncs objects);
* 4 KiB objects: PUT then GET operations per second with 1 and 32 clients
  (``--clients``), each client a keep-alive connection sending requests one
  after the other, ``--small`` operations in all per phase.  The baseline is
  a write + fsync + rename (PUT) and an open + read (GET) per object, in one
  thread.

The client is built not to be the bottleneck (boto3 manages ~300 requests/s
on one core): requests are SigV4-signed with ``UNSIGNED-PAYLOAD`` (large PUT:
the real SHA-256) by this script *before* the timed loop, then sent over
``http.client`` keep-alive connections by several client processes (at most
four, each running the connections as threads); the large body is sent with
1 MiB writes and read back with 1 MiB ``readinto``.  Also printed: peak
resident memory of each server, which stays far below the object size
because objects are streamed, each server's CPU per request (all its
processes) and the client processes' own CPU per request: on a 2-core
machine both share the cores, so requests per second are bounded by their
sum.  And the speed of MD5 alone on one core: a single PUT cannot be stored
faster by any S3 server (its ETag is the body's MD5, which cannot be split
across cores), whatever the file copy reaches.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import hmac
import http.client
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1024 * 1024
BUCKET = "bench-bucket"
UNSIGNED = "UNSIGNED-PAYLOAD"
REGION = "us-east-1"


# -- servers ---------------------------------------------------------------------------------------------------
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


def start_nova(workdir: str, extra_flags: list[str]) -> tuple[subprocess.Popen, int, tuple[str, str]]:
    flagfile = os.path.join(workdir, "nova.conf")
    with open(flagfile, "w") as handle:
        handle.write(f"--state_path={workdir}\n--sql_connection=sqlite:///{workdir}/nova.sqlite\n--fake_rabbit\n")
    manage = [sys.executable, os.path.join(ROOT, "bin", "nova-manage"), f"--flagfile={flagfile}"]
    for args in (["db", "sync"], ["user", "create", "bench", "bench-key", "bench-secret"],
                 ["project", "create", "bench", "bench"],
                 ["credentials", "create", "bench", "bench", "bench-pair", "bench-pair-secret"]):
        subprocess.run(manage + args, check=True, capture_output=True, timeout=120)
    port = free_port()
    log = open(os.path.join(workdir, "objectstore.log"), "wb")
    command = [sys.executable, os.path.join(ROOT, "bin", "nova-objectstore"), f"--flagfile={flagfile}",
               f"--s3_port={port}", "--s3_listen=127.0.0.1", *extra_flags]
    if os.environ.get("S3_BENCH_PROFILE"):  # see bench/profile/s3.md: CPU time per function, saved at exit
        command[1:2] = ["-c", _PROFILE_WRAPPER, os.environ["S3_BENCH_PROFILE"], command[1]]
    if os.environ.get("S3_BENCH_STRACE"):  # see bench/profile/s3.md: system calls counted, all processes
        command = ["strace", "-f", "-c", "-o", os.environ["S3_BENCH_STRACE"], *command]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    wait_listening(port, proc)
    return proc, port, ("bench-pair", "bench-pair-secret")


_PROFILE_WRAPPER = """
import cProfile, runpy, sys, time
out, script = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
profile = cProfile.Profile(time.process_time)
profile.enable()
try:
    runpy.run_path(script, run_name="__main__")
finally:
    profile.disable()
    profile.dump_stats(out)
"""


def start_moto() -> tuple[subprocess.Popen, int, tuple[str, str]]:
    port = free_port()
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    return proc, port, ("testing", "testing")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and of its processes (workers)."""
    total = 0.0
    for task in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{task}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(c) for c in handle.read().split()]
    except FileNotFoundError:
        return []


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- the client: SigV4 signed ahead of time ---------------------------------------------------------------------
def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(method: str, port: int, path: str, creds: tuple[str, str], payload_hash: str = UNSIGNED,
         extra: dict[str, str] | None = None) -> dict[str, str]:
    """The headers of a SigV4 (header) request to 127.0.0.1:``port``, valid for the next 15 minutes."""
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"host": f"127.0.0.1:{port}", "x-amz-content-sha256": payload_hash, "x-amz-date": stamp,
               **{k.lower(): v for k, v in (extra or {}).items()}}
    names = sorted(headers)
    canonical = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), "",
                           "".join(f"{n}:{headers[n].strip()}\n" for n in names), ";".join(names), payload_hash])
    scope = f"{day}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + creds[1]).encode(), day), REGION), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={creds[0]}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    del headers["host"]  # http.client sends it
    return headers


def _check(response: http.client.HTTPResponse, what: str) -> bytes:
    body = response.read()
    if response.status >= 300:
        raise SystemExit(f"{what}: HTTP {response.status}: {body[:300]!r}")
    return body


def create_bucket(port: int, creds: tuple[str, str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("PUT", f"/{BUCKET}", headers=sign("PUT", port, f"/{BUCKET}", creds, hashlib.sha256(b"").hexdigest()))
    _check(conn.getresponse(), "CreateBucket")
    conn.close()


def large_run(port: int, creds: tuple[str, str], big: str, digests: tuple[str, str], workdir: str, pid: int) -> dict:
    size = os.path.getsize(big)
    sha256_hex, crc32_b64 = digests
    results = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=MIB)
    path = f"/{BUCKET}/big"
    headers = sign("PUT", port, path, creds, sha256_hex, {"x-amz-checksum-crc32": crc32_b64,
                                                          "content-length": str(size)})
    with open(big, "rb") as body:
        cpu = cpu_seconds(pid)
        started = time.perf_counter()
        conn.request("PUT", path, body=body, headers=headers)
        _check(conn.getresponse(), "PUT large")
        results["put_mib_s"] = size / MIB / (time.perf_counter() - started)
        results["cpu_put_gib"] = (cpu_seconds(pid) - cpu) / (size / (1024 * MIB))
    target = os.path.join(workdir, "big.down")
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    received = 0
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    conn.request("GET", path, headers=sign("GET", port, path, creds))
    response = conn.getresponse()
    if response.status != 200:
        raise SystemExit(f"GET large: HTTP {response.status}")
    with open(target, "wb") as out:
        while True:
            count = response.readinto(view)
            if not count:
                break
            out.write(view[:count])
            received += count
    results["get_mib_s"] = size / MIB / (time.perf_counter() - started)
    results["cpu_get_gib"] = (cpu_seconds(pid) - cpu) / (size / (1024 * MIB))
    conn.close()
    if received != size:
        raise SystemExit("downloaded object has the wrong size")
    os.unlink(target)
    return results


def _client_process(port: int, creds: tuple[str, str], method: str, keys: list[list[str]], ready, go, done) -> None:
    """Run one thread per key list, each on its own keep-alive connection, after ``go`` is set."""
    payload = os.urandom(4096)
    plans = [[(f"/{BUCKET}/{k}", sign(method, port, f"/{BUCKET}/{k}", creds, UNSIGNED,
                                       {"content-length": "4096"} if method == "PUT" else None)) for k in thread_keys]
             for thread_keys in keys]
    errors = []

    def run(plan: list[tuple[str, dict[str, str]]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        go.wait()
        try:
            for path, headers in plan:
                conn.request(method, path, body=payload if method == "PUT" else None, headers=headers)
                body = _check(conn.getresponse(), f"{method} {path}")
                if method == "GET" and len(body) != 4096:
                    raise SystemExit(f"GET {path}: {len(body)} bytes")
        except BaseException as exc:  # noqa: BLE001  (reported by the parent)
            errors.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    ready.release()
    go.wait()
    cpu = time.process_time()
    for thread in threads:
        thread.join()
    done.put((errors, time.process_time() - cpu))


def small_run(port: int, creds: tuple[str, str], total: int, clients: int, pid: int) -> dict:
    """PUT then GET ``total`` 4 KiB objects with ``clients`` concurrent keep-alive connections."""
    results = {}
    per_client = [[f"small-{clients}/{c}/{i}" for i in range(total // clients)] for c in range(clients)]
    processes = min(clients, 4)
    ctx = multiprocessing.get_context("fork")
    for method in ("PUT", "GET"):
        ready, go, done = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_client_process, args=(port, creds, method, per_client[p::processes], ready,
                                                           go, done)) for p in range(processes)]
        for proc in procs:
            proc.start()
        for _ in procs:
            ready.acquire()
        time.sleep(0.2)  # connections are open
        cpu = cpu_seconds(pid)
        started = time.perf_counter()
        go.set()
        reports = [done.get() for _ in procs]
        elapsed = time.perf_counter() - started
        errors = [e for report in reports for e in report[0]]
        for proc in procs:
            proc.join()
        if errors:
            raise SystemExit(f"{method} 4 KiB with {clients} clients failed: {errors[:3]}")
        count = sum(len(k) for k in per_client)
        results[f"small_{method.lower()}_{clients}"] = count / elapsed
        results[f"cpu_{method.lower()}_{clients}"] = (cpu_seconds(pid) - cpu) / count * 1000
        results[f"client_cpu_{method.lower()}_{clients}"] = sum(r[1] for r in reports) / count * 1000
    return results


def s3_run(port: int, creds: tuple[str, str], big: str, digests: tuple[str, str], workdir: str, small: int,
           client_counts: list[int], pid: int, large_runs: int = 1) -> dict[str, float]:
    create_bucket(port, creds)
    runs = []
    for number in range(large_runs):  # the same key each time: later PUTs replace the object
        runs.append(large_run(port, creds, big, digests, workdir, pid))
        if large_runs > 1:
            print(f"  large object, run {number + 1}: PUT {runs[-1]['put_mib_s']:.0f} MiB/s, "
                  f"{runs[-1]['cpu_put_gib']:.2f} CPU s per GiB; GET {runs[-1]['get_mib_s']:.0f} MiB/s", flush=True)
    results = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    for clients in client_counts:
        results.update(small_run(port, creds, small, clients, pid))
    return results


# -- the baseline: plain files on the same disk -------------------------------------------------------------------
def file_run(big: str, workdir: str, small: int, client_counts: list[int]) -> dict[str, float]:
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
    put = small / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(small):
        with open(os.path.join(directory, str(i)), "rb") as handle:
            handle.read()
    get = small / (time.perf_counter() - started)
    for clients in client_counts:
        results[f"small_put_{clients}"], results[f"small_get_{clients}"] = put, get
    # The files stay until the working directory goes, after every server ran: on ext4 without a journal (as
    # here) the inode allocator skips inodes freed in the last minutes, so deleting them now would make the
    # next server's file creations pay for this baseline's deletions (bench/profile/s3.md).
    return results


def md5_speed(total_mib: int = 512) -> float:
    """MiB/s of MD5 over 8 MiB chunks in this process (the best of three): the bound on a single PUT."""
    block = os.urandom(8 * MIB)
    best = 0.0
    for _ in range(3):
        digest, started = hashlib.md5(), time.perf_counter()
        for _ in range(total_mib // 8):
            digest.update(block)
        best = max(best, total_mib / (time.perf_counter() - started))
    return best


def make_big(path: str, size_mib: int) -> tuple[str, str]:
    """Write the large file; its SHA-256 (hex) and CRC32 (base64), as a client would send them."""
    sha, crc = hashlib.sha256(), 0
    with open(path, "wb") as handle:
        block = os.urandom(MIB)
        for i in range(size_mib):
            data = block[i % 7:] + block[:i % 7]
            sha.update(data)
            crc = zlib.crc32(data, crc)
            handle.write(data)
    return sha.hexdigest(), base64.b64encode(crc.to_bytes(4, "big")).decode()


def stop(proc: subprocess.Popen) -> None:
    if os.environ.get("S3_BENCH_STRACE"):  # stop the traced server; strace writes its counts once it exits
        for child in _children(proc.pid):
            os.kill(child, 15)
    else:
        proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the large object (default 1 GiB)")
    parser.add_argument("--small", type=int, default=4000, help="4 KiB operations per phase (default 4000)")
    parser.add_argument("--clients", default="1,32", help="concurrent clients for 4 KiB objects (default 1,32)")
    parser.add_argument("--dir", default=None, help="working directory (default: a temporary one)")
    parser.add_argument("--only", choices=("nova", "moto"), help="run one server only (profiling)")
    parser.add_argument("--large-runs", type=int, default=1, help="PUT and GET the large object this many times "
                        "in each server, each printed, the table showing medians (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="nova-objectstore processes (--s3_workers; default "
                        "2: on a 2-core machine one per core, the bench client sharing them)")
    parser.add_argument("--nova-flag", action="append", default=[], help="extra nova-objectstore flag (repeatable)")
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]
    workdir = tempfile.mkdtemp(prefix="s3bench-", dir=args.dir)
    results: dict[str, dict[str, float]] = {}
    extra: dict[str, str] = {}
    try:
        big = os.path.join(workdir, "big.bin")
        digests = make_big(big, args.size_mib)
        print(f"large object: {args.size_mib} MiB; 4 KiB objects: {args.small} per phase, clients {client_counts}; "
              f"dir {workdir}", flush=True)
        results["files"] = file_run(big, workdir, args.small, client_counts)
        md5_mib_s = md5_speed()
        nova_flags = [f"--s3_workers={args.workers}", *args.nova_flag]
        servers = [("nova", lambda: start_nova(os.path.join(workdir, "nova"), nova_flags)), ("moto", start_moto)]
        for name, start in servers:
            if args.only and name != args.only:
                continue
            if name == "nova":
                os.makedirs(os.path.join(workdir, "nova"))
            proc, port, creds = start()
            try:
                cpu = cpu_seconds(proc.pid)
                results[name] = s3_run(port, creds, big, digests, workdir, args.small, client_counts, proc.pid,
                                       args.large_runs)
                extra[name] = f"peak RSS {peak_rss_mib(proc.pid):.0f} MiB, CPU {cpu_seconds(proc.pid) - cpu:.1f} s"
            finally:
                stop(proc)
            print(f"{name} done", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    labels = {"put_mib_s": "PUT 1 object MiB/s", "get_mib_s": "GET 1 object MiB/s"}
    for clients in client_counts:
        labels[f"small_put_{clients}"] = f"PUT 4 KiB/s, {clients} cl"
        labels[f"small_get_{clients}"] = f"GET 4 KiB/s, {clients} cl"
    names = [n for n in ("nova", "moto", "files") if n in results]
    header = "".join(f"{n:>10}" for n in names)
    ratios = [("nova", "moto"), ("nova", "files")] if "nova" in results else []
    ratios = [r for r in ratios if r[1] in results]
    print(f"{'':24}{header}" + "".join(f"{a + '/' + b:>12}" for a, b in ratios))
    for key, label in labels.items():
        line = f"{label:24}" + "".join(f"{results[n][key]:10.1f}" for n in names)
        line += "".join(f"{results[a][key] / results[b][key]:12.2f}" for a, b in ratios)
        print(line)
    for name, text in extra.items():
        print(f"{name}: {text}")
    print(f"MD5 on one core, alone: {md5_mib_s:.0f} MiB/s (a PUT's ETag: no S3 server can store one object "
          "faster)" + "".join(f"; {n} PUT at {results[n]['put_mib_s'] / md5_mib_s:.2f} of it" for n in names
                             if n != "files"))
    for name in ("nova", "moto"):
        if name in results:
            print(f"{name}: server CPU s per GiB: PUT {results[name]['cpu_put_gib']:.2f}, "
                  f"GET {results[name]['cpu_get_gib']:.2f}")
            print(f"{name}: server CPU ms per 4 KiB request: " + ", ".join(
                f"{m} {c} cl {results[name][f'cpu_{m.lower()}_{c}']:.2f}" for c in client_counts for m in ("PUT", "GET")))
            print(f"{name}: bench client CPU ms per 4 KiB request: " + ", ".join(
                f"{m} {c} cl {results[name][f'client_cpu_{m.lower()}_{c}']:.2f}" for c in client_counts
                for m in ("PUT", "GET")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
