"""Network namespaces for nova-network tests: a "network host", "instances"
and an "outside", wired with veths; plus tiny TCP servers that report the
peer address, run inside a namespace.  Everything is removed afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import sys
import time
import uuid
from typing import Iterator

import pytest

PEER_SERVER = r"""
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2]))); srv.listen(16)
print("ready", flush=True)
while True:
    conn, peer = srv.accept()
    conn.sendall(peer[0].encode()); conn.close()
"""

PEER_CLIENT = r"""
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    print(s.recv(100).decode())
except OSError as exc:
    print("ERROR", exc)
"""

UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "$router" dev "$interface"
    echo "$ip $hostname $domain $router" > "$0.lease"
    ;;
esac
exit 0
"""


def run(*cmd: str, check: bool = True, timeout: float = 30, input: str | None = None) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def require_root_tools(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespace tests need root")
    missing = [t for t in ("ip", *tools) if shutil.which(t) is None]
    if missing:
        message = f"missing tools: {', '.join(missing)} (see .ci/run)"
        if os.environ.get("NOVA_TEST_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)


class Topology:
    """Namespaces of one test; names are short and unique (interface names max 15 chars)."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:5]
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen] = []

    def ns(self, role: str) -> str:
        name = f"nv{role}-{self.tag}"
        run("ip", "netns", "add", name)
        self.namespaces.append(name)
        self.exec(name, "ip", "link", "set", "lo", "up")
        return name

    def exec(self, ns: str, *cmd: str, check: bool = True, timeout: float = 30) -> str:
        return run("ip", "netns", "exec", ns, *cmd, check=check, timeout=timeout)

    def veth(self, ns_a: str, name_a: str, ns_b: str, name_b: str) -> None:
        run("ip", "link", "add", name_a, "netns", ns_a, "type", "veth", "peer", "name", name_b, "netns", ns_b)
        self.exec(ns_a, "ip", "link", "set", name_a, "up")
        self.exec(ns_b, "ip", "link", "set", name_b, "up")

    def address(self, ns: str, dev: str, cidr: str) -> None:
        self.exec(ns, "ip", "addr", "add", cidr, "dev", dev)

    def plug_instance(self, net_ns: str, bridge: str, mac: str, index: int = 0) -> str:
        """An "instance": a namespace whose eth0 (with ``mac``) is on ``bridge`` of the network host."""
        vm = self.ns(f"v{index}")
        host_side = f"vn{index}-{self.tag}"
        self.veth(vm, "eth0", net_ns, host_side)
        self.exec(vm, "ip", "link", "set", "eth0", "address", mac)
        self.exec(net_ns, "ip", "link", "set", host_side, "master", bridge)
        return vm

    def dhcp(self, vm: str, script_dir: str) -> list[str]:
        """busybox udhcpc in ``vm``; returns [ip, hostname, domain, router] of the lease."""
        script = os.path.join(script_dir, f"udhcpc-{vm}.sh")
        with open(script, "w") as handle:
            handle.write(UDHCPC_SCRIPT)
        os.chmod(script, 0o755)
        self.exec(vm, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", "5", "-T", "1", "-s", script,
                  timeout=30)
        with open(script + ".lease") as handle:
            return handle.read().split()

    def peer_server(self, ns: str, address: str, port: int) -> subprocess.Popen:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", PEER_SERVER, address, str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        return proc

    def connect(self, ns: str, address: str, port: int, timeout: float = 2.0) -> str:
        """What a server reports as our address, or 'ERROR ...'."""
        return self.exec(ns, sys.executable, "-c", PEER_CLIENT, address, str(port), str(timeout),
                         timeout=timeout + 10).strip()

    def start(self, ns: str, *cmd: str) -> subprocess.Popen:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        return proc

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        for ns in self.namespaces:
            pids = run("ip", "netns", "pids", ns, check=False).split()
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            for _ in range(50):
                if not run("ip", "netns", "pids", ns, check=False).split():
                    break
                time.sleep(0.05)
            run("ip", "netns", "del", ns, check=False)


CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


@contextlib.contextmanager
def inside(ns: str) -> Iterator[None]:
    """Run the block with this thread in namespace ``ns``: sockets made here stay
    in it, so this process can serve inside a namespace.  Nothing inside may
    yield to another greenthread (they share the OS thread)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def iptables_lines(topo: Topology, ns: str) -> list[str]:
    """iptables-save of the namespace without comments, each rule prefixed with its table ("nat:-A ...")."""
    lines, table = [], ""
    for line in topo.exec(ns, "iptables-save").splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith("-A"):
            lines.append(f"{table}:{line}")
    return lines
