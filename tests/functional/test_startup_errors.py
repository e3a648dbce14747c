"""A daemon that cannot start says why in one line and exits non-zero."""

import os
import subprocess
import sys

from tests.fixtures.daemons import BIN, Cloud


def _run(binary, *args, timeout=60):
    result = subprocess.run([sys.executable, os.path.join(BIN, binary), *args],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{binary}: error: ")]
    assert len(lines) == 1, result.stderr
    return result.returncode, lines[0]


def test_unknown_flag(tmp_path):
    status, line = _run("nova-compute", "--no_such_flag=1", f"--state_path={tmp_path}")
    assert status == 2 and "--no_such_flag" in line


def test_bad_flag_value(tmp_path):
    status, line = _run("nova-network", "--report_interval=soon", f"--state_path={tmp_path}")
    assert status == 2 and "report_interval" in line


def test_unknown_flag_inside_flagfile(tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("--sql_conection=sqlite://\n")
    status, line = _run("nova-volume", f"--flagfile={conf}")
    assert status == 2 and "--sql_conection" in line and "sql_connection" in line


def test_unsynced_database(tmp_path):
    cloud = Cloud(tmp_path, rabbit_url=None)
    _, line = _run("nova-compute", f"--flagfile={cloud.flagfile}")
    assert "nova-manage db sync" in line


def test_unreachable_database_server(tmp_path):
    _, line = _run("nova-scheduler", f"--state_path={tmp_path}", "--sql_max_retries=1",
                   "--sql_connection=postgresql://nova@127.0.0.1:1/nova")
    assert "127.0.0.1" in line


def test_unreachable_broker(tmp_path):
    cloud = Cloud(tmp_path, rabbit_url="amqp://guest:secretpw@127.0.0.1:1//")
    cloud.manage("db", "sync")
    _, line = _run("nova-compute", f"--flagfile={cloud.flagfile}", "--rabbit_max_retries=1")
    assert "127.0.0.1:1" in line
    assert "secretpw" not in line
