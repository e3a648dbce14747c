#!/usr/bin/env python3
"""How fast nova's tools start, against ``python3 -c pass`` measured in the same run.

Times, from outside, the whole process of:

- ``nova-manage --help``;
- ``nova-manage service list`` on a SQLite database this script migrates in a
  temporary directory;
- ``nova-combined`` from launch to its first answer: the first HTTP response
  of its EC2 port (any status; a plain TCP+HTTP answer), then it is stopped.

Each is run several times (``--runs``) and the median printed with its ratio
to the baseline's median.  Not run by the tests: ``python3 bench/startup_bench.py``.

The package is byte-compiled first (``compileall``), so the figures are those of
an installed nova or a checkout that has run once, even where
``PYTHONDONTWRITEBYTECODE`` is set.
"""

from __future__ import annotations

import argparse
import compileall
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_command(argv: list[str], runs: int) -> list[float]:
    """Wall seconds of ``argv`` run to completion, ``runs`` times after one warm-up."""
    times = []
    for i in range(runs + 1):
        start = time.monotonic()
        result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        elapsed = time.monotonic() - start
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.decode(errors='replace')}")
        if i:
            times.append(elapsed)
    return times


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the API accepts requests
    except OSError:
        return False
    return True


def time_combined(workdir: str, runs: int) -> list[float]:
    """Seconds from launching nova-combined until its EC2 port answers HTTP."""
    times = []
    for i in range(runs + 1):
        state = tempfile.mkdtemp(dir=workdir)
        ec2, s3, osapi = _free_port(), _free_port(), _free_port()
        argv = [sys.executable, os.path.join(BIN, "nova-combined"), f"--state_path={state}",
                f"--ec2_port={ec2}", f"--s3_port={s3}", f"--osapi_port={osapi}", "--ec2_listen=127.0.0.1",
                "--s3_listen=127.0.0.1", "--osapi_listen=127.0.0.1", "--fake_network", "--connection_type=fake"]
        with open(os.path.join(state, "combined.log"), "wb") as log:
            start = time.monotonic()
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                while not _answers(ec2):
                    if proc.poll() is not None:
                        raise SystemExit(f"nova-combined exited with {proc.returncode}; see {log.name}")
                    if time.monotonic() - start > 60:
                        raise SystemExit(f"nova-combined did not answer within 60 s; see {log.name}")
                    time.sleep(0.02)
                elapsed = time.monotonic() - start
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if i:
            times.append(elapsed)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each command (default 5)")
    args = parser.parse_args()
    py = sys.executable
    manage = [py, os.path.join(BIN, "nova-manage")]
    compileall.compile_dir(os.path.join(ROOT, "nova"), quiet=1)
    with tempfile.TemporaryDirectory(prefix="nova-bench-") as workdir:
        conf = os.path.join(workdir, "nova.conf")
        with open(conf, "w") as handle:
            handle.write(f"--state_path={workdir}\n--sql_connection=sqlite:///{workdir}/nova.sqlite\n")
        subprocess.run(manage + [f"--flagfile={conf}", "db", "sync"], check=True, stdout=subprocess.DEVNULL)
        results = [
            ("python3 -c pass", time_command([py, "-c", "pass"], args.runs)),
            ("nova-manage --help", time_command(manage + ["--help"], args.runs)),
            ("nova-manage service list", time_command(manage + [f"--flagfile={conf}", "service", "list"], args.runs)),
            ("nova-combined to first answer", time_combined(workdir, args.runs)),
        ]
    base = statistics.median(results[0][1])
    print(f"{'command':<32} {'median s':>9} {'min s':>7} {'max s':>7} {'x baseline':>11}   ({args.runs} runs each)")
    for name, times in results:
        median = statistics.median(times)
        print(f"{name:<32} {median:>9.3f} {min(times):>7.3f} {max(times):>7.3f} {median / base:>11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
