"""What the volume integration tests share: the check for root and tools, and running a command."""

from __future__ import annotations

import os
import shutil
import subprocess

from tests.fixtures.libvirtd import skip_or_fail


def require(*tools: str) -> None:
    """Root and these programs, else skip (fail under NOVA_TEST_REQUIRE_SERVICES)."""
    if os.geteuid() != 0:
        skip_or_fail("volume tests need root (loop devices, LVM, network namespaces)")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        skip_or_fail(f"missing {', '.join(missing)} (.ci/run installs tgt, libiscsi-bin, qemu-block-extra, lvm2)")


def run(*cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    env = dict(os.environ, LVM_SUPPRESS_FD_WARNINGS="1")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()}")
    return result
