"""The quick start as a newcomer runs it: ``tools/quickstart.sh``, then the
"Try this" block it prints, pasted into bash exactly as printed.

The bare-machine path (a fresh .venv and pip install) is too slow for CI, so the
script runs with ``--no-install`` on the Python that runs the tests; ports are
free ones so the test can run beside other clouds.
"""

from __future__ import annotations

import json
import os
import signal
import shutil
import subprocess
import sys

import pytest

from tests.fixtures.daemons import ROOT, free_port, wait_for


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


@pytest.fixture
def quickstart(tmp_path):
    state = tmp_path / "state"
    log_path = tmp_path / "quickstart.log"
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [os.path.join(ROOT, "tools", "quickstart.sh"), "--no-install", f"--state_path={state}",
             f"--ec2_port={free_port()}", f"--s3_port={free_port()}", "--metadata_port=0",
             f"--osapi_port={free_port()}", f"--identity_port={free_port()}",
             f"--image_api_port={free_port()}", "--network_api_port=0"],
            stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path), env=env, start_new_session=True)
    try:
        wait_for(lambda: "Stop with Ctrl-C" in log_path.read_text() or proc.poll() is not None, timeout=40,
                 what="the quick start's banner")
        assert proc.poll() is None, log_path.read_text()
        yield log_path, env
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def test_the_printed_commands_work_as_printed(quickstart, tmp_path):
    log_path, env = quickstart
    block = try_this_block(log_path.read_text())
    setup = [line for line in block if line.startswith((". ", "source "))]
    assert setup and setup[-1].startswith("source ")
    work = tmp_path / "user"
    work.mkdir()

    def bash(*lines: str, timeout: float = 60) -> str:
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(lines)], cwd=str(work), env=env,
                                capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{lines}\n{result.stdout}\n{result.stderr}\n{log_path.read_text()[-3000:]}"
        return result.stdout

    bash(*block)

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
