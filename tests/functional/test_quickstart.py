"""The quick start as a newcomer runs it: ``tools/quickstart.sh``, then the
"Try this" block it prints, pasted into bash exactly as printed.

The bare-machine path (a fresh .venv and pip install) is too slow for CI, so the
script runs with ``--no-install`` on the Python that runs the tests; ports are
free ones so the test can run beside other clouds.  With ``--libvirt`` the block
boots the real guest and logs in to it over SSH through its floating IP; that
cloud has a namespace, addresses and ranges of its own.
"""

from __future__ import annotations

import json
import os
import re
import signal
import shutil
import subprocess
import sys
import tempfile

import pytest

from nova.network import netns_link
from nova.virt.libvirt import local_daemon
from tests.fixtures.daemons import ROOT, free_port, wait_for
from tests.fixtures.libvirtd import require_qemu


def try_this_block(output: str) -> list[str]:
    """The commands under "Try this", as printed (two-space indent removed)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Try this"))
    block = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        assert line.startswith("  "), line
        block.append(line[2:])
    return block


def start_quickstart(args: list[str], tmp_path, env: dict[str, str], timeout: float = 90) -> tuple:
    """tools/quickstart.sh --no-install ARGS in the background, once its banner is printed."""
    log_path = tmp_path / "quickstart.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([os.path.join(ROOT, "tools", "quickstart.sh"), "--no-install", *args],
                                stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path), env=env,
                                start_new_session=True)
    try:
        wait_for(lambda: "Stop with Ctrl-C" in log_path.read_text() or proc.poll() is not None, timeout=timeout,
                 what="the quick start's banner")
    except AssertionError:
        stop_quickstart(proc)
        raise
    if proc.poll() is not None:
        raise AssertionError(log_path.read_text())
    return proc, log_path


def stop_quickstart(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def tgtd_port() -> int:
    """A tgtadm control port (a socket name, 1..32767) no other cloud of this machine is likely to use."""
    return free_port() % 30000 + 1


def user_env() -> dict[str, str]:
    return dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


@pytest.fixture
def quickstart(tmp_path):
    env = user_env()
    proc, log_path = start_quickstart(
        [f"--state_path={tmp_path / 'state'}", f"--ec2_port={free_port()}", f"--s3_port={free_port()}",
         "--metadata_port=0", f"--osapi_port={free_port()}", f"--identity_port={free_port()}",
         f"--image_api_port={free_port()}", "--network_api_port=0", f"--combined_tgtd_control_port={tgtd_port()}"],
        tmp_path, env)
    try:
        yield log_path, env
    finally:
        stop_quickstart(proc)


def run_block(lines: list[str], cwd, env: dict[str, str], log_path, timeout: float = 60) -> str:
    """``lines`` in one bash (-euo pipefail), as a user pastes them; returns what they printed."""
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(lines)], cwd=str(cwd), env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{lines}\n{result.stdout}\n{result.stderr}\n{log_path.read_text()[-3000:]}"
    return result.stdout


def test_the_printed_commands_work_as_printed(quickstart, tmp_path):
    log_path, env = quickstart
    block = try_this_block(log_path.read_text())
    setup = [line for line in block if line.startswith((". ", "source "))]
    assert setup and setup[-1].startswith("source ")
    work = tmp_path / "user"
    work.mkdir()

    def bash(*lines: str, timeout: float = 60) -> str:
        return run_block(list(lines), work, env, log_path, timeout)

    bash(*block, timeout=300)

    def aws_json(*args: str) -> dict:
        return json.loads(bash(*setup, "aws " + " ".join(args) + " --output json"))

    assert [k["KeyName"] for k in aws_json("ec2", "describe-key-pairs")["KeyPairs"]] == ["mykey"]
    assert (work / "mykey.pem").read_text().startswith("-----BEGIN")
    [reservation] = aws_json("ec2", "describe-instances")["Reservations"]
    [instance] = reservation["Instances"]
    assert instance["State"]["Name"] == "running"
    [address] = aws_json("ec2", "describe-addresses")["Addresses"]
    assert address["InstanceId"] == instance["InstanceId"]
    if os.geteuid() == 0 and shutil.which("tgtd"):  # nova-combined ran its own tgtd and nova-volume
        assert any("create-volume" in line for line in block)
        [volume] = aws_json("ec2", "describe-volumes")["Volumes"]
        assert volume["State"] == "in-use" and volume["Attachments"][0]["InstanceId"] == instance["InstanceId"]
    assert bash(*setup, "aws s3 cp s3://mybucket/hello.txt -") == "hello from nova\n"
    assert "openstack server list" in block
    [server] = json.loads(bash(*setup, "openstack server list -f json"))
    assert server["Status"] == "ACTIVE"
    log = log_path.read_text()
    assert "Traceback" not in log
    assert "Creating bridge" not in log.replace("fake_network (nothing is run): Creating bridge", "")


@pytest.fixture
def real_quickstart(tmp_path):
    """``tools/quickstart.sh --libvirt``: its own namespace, link, ranges and ports; removed afterwards."""
    require_qemu()
    if shutil.which("tgtd") is None:
        pytest.skip("tgt is not installed (.ci/run installs it)")
    netns = f"nvq-{os.getpid():x}"
    # dnsmasq reads the state folder as nobody: not under pytest's private tmp_path
    state = tempfile.mkdtemp(prefix="nova-quickstart-")
    env = user_env()
    if os.environ.get("NOVA_TEST_GUEST_CACHE"):
        env["GUEST_CACHE"] = os.environ["NOVA_TEST_GUEST_CACHE"]
    proc = None
    try:
        proc, log_path = start_quickstart(
            ["--libvirt", f"--state_path={state}", f"--combined_netns={netns}", "--combined_link_range=198.19.78.0/30",
             "--fixed_range=10.84.0.0/24", "--combined_floating_range=203.0.113.80/28", f"--ec2_port={free_port()}",
             f"--s3_port={free_port()}", f"--metadata_port={free_port()}", "--osapi_port=0", "--identity_port=0",
             "--image_api_port=0", "--network_api_port=0", f"--combined_tgtd_control_port={tgtd_port()}"],
            tmp_path, env, timeout=240)
        yield proc, log_path, env, state
    finally:
        if proc is not None and proc.poll() is None:
            local_daemon.remove_domains()  # this test's guest, while its libvirtd still runs
            stop_quickstart(proc, timeout=60)
        netns_link.remove(netns)
        shutil.rmtree(state, ignore_errors=True)


@pytest.mark.timeout(720)
def test_with_libvirt_the_printed_commands_log_in_to_a_real_guest(real_quickstart, tmp_path):
    proc, log_path, env, state = real_quickstart
    banner = log_path.read_text()
    assert "started by nova-combined" in banner, banner
    block = try_this_block(banner)
    setup = [line for line in block if line.startswith((". ", "source "))]
    work = tmp_path / "user"
    work.mkdir()
    printed = run_block(block, work, env, log_path, timeout=480)

    instance = json.loads(run_block([*setup, "aws ec2 describe-instances --output json"], work, env,
                                    log_path))["Reservations"][0]["Instances"][0]
    console = run_block([*setup, f"aws ec2 get-console-output --instance-id {instance['InstanceId']} --output text"],
                        work, env, log_path)
    [hostname] = set(re.findall(r"^NOVA-GUEST uname-n=(\S+?)\r?$", console, re.M))
    assert hostname in printed.splitlines(), printed  # the line ssh ... hostname printed
    [volume] = json.loads(run_block([*setup, "aws ec2 describe-volumes --output json"], work, env,
                                    log_path))["Volumes"]
    assert volume["State"] == "in-use" and volume["Attachments"][0]["InstanceId"] == instance["InstanceId"]

    # What nova-combined started stops with it: libvirtd, virtlogd, dnsmasq, tgtd.
    started = [int(pid) for pid in re.findall(r"(?:libvirtd|tgtd) pid (\d+)", banner)]
    with open(os.path.join(state, "networks", "nova-br100.pid")) as handle:
        started.append(int(handle.read()))
    local_daemon.remove_domains()
    stop_quickstart(proc, timeout=60)
    assert proc.returncode == 0, log_path.read_text()[-3000:]
    for pid in started:  # dnsmasq gets SIGTERM and exits on its own
        wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=10, what=f"pid {pid} gone")
    assert "Traceback" not in log_path.read_text()
