"""A tgtd of the test's own, in a network namespace, and a userspace iSCSI initiator (qemu-io).

tgtd listens on ``<ip>:3260`` inside the namespace and takes tgtadm
commands on its own control port (``tgtd --control-port N``, ``tgtadm -C N``:
a unix socket, so tgtadm reaches it from any namespace), so several run side
by side.  It ignores SIGTERM while targets exist: ``stop`` deletes them, asks
it to exit (``--op delete --mode system``) and kills it by PID only if it is
still there.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import time

from nova.volume import tgt
from tests.integration.volume.tools import run

SOCKET_DIR = "/var/run/tgtd"


def _free_control_port() -> int:
    while True:
        port = random.randint(2000, 32000)  # tgtd takes 0..32767
        if not os.path.exists(os.path.join(SOCKET_DIR, f"socket.{port}")):
            return port


class Tgtd:
    """One tgtd in namespace ``ns`` serving ``ip``:3260."""

    def __init__(self, ns: str, ip: str, log_path: str) -> None:
        self.ns, self.ip, self.log_path = ns, ip, log_path
        self.control_port = _free_control_port()
        self.proc: subprocess.Popen | None = None

    def tgtadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run("tgtadm", "-C", str(self.control_port), "--lld", "iscsi", *args, check=check)

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, "tgtd", "-f", "--iscsi",
                                          f"portal={self.ip}:3260", "--control-port", str(self.control_port)],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while self.tgtadm("--op", "show", "--mode", "target", check=False).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"tgtd did not start: {open(self.log_path).read()[-2000:]}")
            time.sleep(0.02)

    def targets(self) -> dict[int, tgt.Target]:
        return tgt.parse_targets(self.tgtadm("--op", "show", "--mode", "target").stdout)

    def crash(self) -> None:
        """Kill tgtd at once (SIGKILL): its targets are gone, as after a crash or a restart."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._remove_socket()
            return
        for target in self.targets().values():
            for acl in target.acls:
                self.tgtadm("--op", "unbind", "--mode", "target", "--tid", str(target.tid), "-I", acl, check=False)
            self.tgtadm("--op", "delete", "--mode", "target", "--tid", str(target.tid), "--force", check=False)
        self.tgtadm("--op", "delete", "--mode", "system", check=False)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._remove_socket()

    def _remove_socket(self) -> None:
        for name in (f"socket.{self.control_port}", f"socket.{self.control_port}.lock"):
            try:
                os.unlink(os.path.join(SOCKET_DIR, name))
            except FileNotFoundError:
                pass


def iscsi_url(connection_info: dict) -> str:
    """The ``iscsi://`` URL of QEMU and libiscsi for a driver's connection info."""
    data = connection_info["data"]
    auth = f"{data['auth_username']}%{data['auth_password']}@" if data["auth_method"] == "CHAP" else ""
    return f"iscsi://{auth}{data['target_portal']}/{data['target_iqn']}/{data['target_lun']}"


def qemu_io(ns: str, url: str, command: str, read_only: bool = False) -> subprocess.CompletedProcess:
    """qemu-io in namespace ``ns`` against ``url``; the result, whatever its exit code."""
    return run("ip", "netns", "exec", ns, "qemu-io", *(["-r"] if read_only else []), "-c", command, url,
               check=False, timeout=30)


def read_bytes(ns: str, url: str, offset: int, length: int) -> bytes:
    """``length`` (<= 16 per line, any total) bytes at ``offset`` read over iSCSI; AssertionError when refused."""
    result = qemu_io(ns, url, f"read -v {offset} {length}", read_only=True)
    if result.returncode != 0 or "read " not in result.stdout:
        raise AssertionError(f"iSCSI read failed: {(result.stderr or result.stdout).strip()}")
    data = bytearray()
    for line in result.stdout.splitlines():
        match = re.match(r"[0-9a-f]{8}:\s+((?:[0-9a-f]{2} )*[0-9a-f]{2})", line)
        if match:
            data += bytes.fromhex(match.group(1))
    return bytes(data)
