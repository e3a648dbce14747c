"""The README's first command: the whole cloud in one process."""

import os
import re
import shutil
import signal
import subprocess

from tests.fixtures.daemons import ROOT, Cloud, wait_for

# these tests need nova-combined's EC2 side only: leave 8774, 5000 and 9292 to whoever else runs
NO_OPENSTACK_PORTS = ["--osapi_port=0", "--identity_port=0", "--image_api_port=0", "--network_api_port=0"]


def test_quickstart_runs_every_service_and_writes_credentials(tmp_path):
    log_path = tmp_path / "combined.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([os.path.join(ROOT, "tools", "quickstart.sh"), "--no-install", f"--state_path={tmp_path}",
                                 "--report_interval=1", *NO_OPENSTACK_PORTS], stdout=log, stderr=subprocess.STDOUT,
                                cwd=str(tmp_path), start_new_session=True)
    try:
        wait_for(lambda: "nova-combined is running." in log_path.read_text(), timeout=60, what="banner")
        banner = log_path.read_text()
        assert f"source {tmp_path}/novarc" in banner
        novarc = (tmp_path / "novarc").read_text()
        assert 'EC2_ACCESS_KEY="' in novarc and ':admin"' not in novarc  # the admin project's own pair
        # The flagfile it wrote lets nova-manage reach the same database.
        cloud = Cloud(tmp_path, rabbit_url=None, flagfile=str(tmp_path / "nova.conf"))
        # nova-volume runs only when nova-combined could start its own tgtd (root, tgt installed).
        wanted = {"nova-compute", "nova-network", "nova-scheduler"}
        if os.geteuid() == 0 and shutil.which("tgtd"):
            wanted.add("nova-volume")
            assert "iSCSI on 127.0.0.1:3260" in banner
        else:
            assert "volumes  : none" in banner
        states = wait_for(lambda: s if len(s := cloud.service_states()) == len(wanted) else None, timeout=30,
                          what=f"{len(wanted)} services")
        assert set(states.values()) == {":-)"}
        assert {binary for _, binary in states} == wanted
        assert "admin" in cloud.manage("user", "list").stdout
        # A first network exists, so instances get addresses.
        assert len(cloud.manage("network", "list").stdout.splitlines()) == 2
        tgtd_pid = re.search(r"tgtd pid (\d+)", banner)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "Traceback" not in log_path.read_text()
        if tgtd_pid:  # nova-combined's tgtd goes with it
            wait_for(lambda: not os.path.exists(f"/proc/{tgtd_pid.group(1)}"), timeout=10, what="tgtd gone")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_second_start_keeps_the_existing_admin(tmp_path):
    log_path = tmp_path / "combined.log"
    for attempt in range(2):
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([os.path.join(ROOT, "bin", "nova-combined"), f"--state_path={tmp_path}",
                                     *NO_OPENSTACK_PORTS],
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(lambda: "nova-combined is running." in log_path.read_text(), timeout=60, what="banner")
            if attempt == 0:
                first_rc = (tmp_path / "novarc").read_text()
            else:
                assert (tmp_path / "novarc").read_text() == first_rc
                # The default image and the floating-IP pool are made once, not again.
                assert log_path.read_text().count("image    : ami-00000001") == 1
                assert "Registered" not in log_path.read_text()
                assert "Created the floating-IP pool" not in log_path.read_text()
            os.kill(proc.pid, signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
