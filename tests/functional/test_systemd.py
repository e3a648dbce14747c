"""The systemd side of operating nova: the units, tools/install-host, and Type=notify readiness.

``systemd-analyze verify`` must find nothing to say about any unit (their
ExecStart points at the checkout's bin/ here, since /usr/local/bin is only
filled by install-host).  install-host runs in a dry run and in a throwaway
root, never against this machine.  A daemon started with a NOTIFY_SOCKET sends
READY=1 only once its port answers, and STOPPING=1 on SIGTERM.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from tests.fixtures.daemons import BIN, ROOT, Cloud, free_port

UNITS = os.path.join(ROOT, "etc", "nova", "systemd")
INSTALL_HOST = os.path.join(ROOT, "tools", "install-host")
DAEMONS = ("api", "compute", "network", "objectstore", "scheduler", "volume")


def _systemd_analyze():
    path = shutil.which("systemd-analyze")
    if path is None:
        if os.environ.get("NOVA_TEST_REQUIRE_SERVICES"):
            pytest.fail("systemd-analyze is missing (Debian's systemd package) and NOVA_TEST_REQUIRE_SERVICES is set")
        pytest.skip("systemd-analyze is missing (Debian's systemd package)")
    return path


def _unit_fields(path):
    fields = {}
    with open(path) as handle:
        for line in handle:
            if "=" in line and not line.startswith("#"):
                key, _, value = line.strip().partition("=")
                fields.setdefault(key, []).append(value)
    return fields


def _verify(paths, tmp_path):
    """systemd-analyze verify on copies whose ExecStart names the checkout's bin/; returns its output."""
    copies = []
    for path in paths:
        with open(path) as handle:
            text = handle.read().replace("/usr/local/bin/", BIN + "/")
        copy = tmp_path / os.path.basename(path)
        copy.write_text(text)
        copies.append(str(copy))
    result = subprocess.run([_systemd_analyze(), "verify", *copies], capture_output=True, text=True, timeout=60)
    return result.returncode, (result.stdout + result.stderr).strip()


def test_every_daemon_has_a_unit_and_systemd_analyze_finds_nothing_wrong(tmp_path):
    names = sorted(n for n in os.listdir(UNITS) if n.endswith(".service"))
    assert names == [f"nova-{d}.service" for d in DAEMONS]
    status, output = _verify([os.path.join(UNITS, n) for n in names], tmp_path)
    assert (status, output) == (0, "")


def test_units_run_one_flagfile_each_as_nova_where_root_is_not_needed():
    for daemon in DAEMONS:
        fields = _unit_fields(os.path.join(UNITS, f"nova-{daemon}.service"))
        assert fields["ExecStart"] == [f"/usr/local/bin/nova-{daemon} --flagfile=/etc/nova/nova-{daemon}.conf"]
        assert fields["User"] == (["root"] if daemon in ("compute", "network", "volume") else ["nova"])
        assert fields["Type"] == ["notify"] and fields["Restart"] == ["on-failure"]


def test_a_broken_unit_is_reported(tmp_path):
    broken = tmp_path / "broken" / "nova-api.service"
    broken.parent.mkdir()
    with open(os.path.join(UNITS, "nova-api.service")) as handle:
        broken.write_text(handle.read().replace("Type=notify", "Type=notfiy"))
    status, output = _verify([str(broken)], tmp_path)
    assert "notfiy" in output


def _install_host(*args):
    return subprocess.run([sys.executable, INSTALL_HOST, *args], capture_output=True, text=True, timeout=60)


def test_install_host_dry_run_lists_the_steps_and_changes_nothing(tmp_path):
    root = tmp_path / "root"
    result = _install_host("--dry-run", "--root", str(root), "all")
    assert result.returncode == 0, result.stderr
    for daemon in DAEMONS:
        assert f"would write {root}/etc/systemd/system/nova-{daemon}.service" in result.stdout
        assert f"would write {root}/etc/nova/nova-{daemon}.conf" in result.stdout
    assert "useradd --system" in result.stdout and "pip install" in result.stdout
    assert not root.exists()
    # On this machine itself: only printed.
    system = _install_host("--dry-run", "scheduler")
    assert system.returncode == 0 and "would " in system.stdout and "/usr/local/bin/nova-scheduler" in system.stdout


def test_install_host_sets_a_root_up_once_and_keeps_the_operators_flagfiles(tmp_path):
    root = tmp_path / "root"
    first = _install_host("--root", str(root), "compute", "api")
    assert first.returncode == 0, first.stderr
    etc = root / "etc" / "nova"
    assert oct((etc / "nova.conf").stat().st_mode & 0o777) == "0o640"
    assert "--sql_connection=" in (etc / "nova.conf").read_text()
    assert "--flagfile=/etc/nova/nova.conf" in (etc / "nova-compute.conf").read_text()
    assert (etc / "api-paste.ini").exists() and not (etc / "nova-volume.conf").exists()
    assert os.readlink(root / "usr/local/bin/nova-api") == "/opt/nova/bin/nova-api"
    wants = root / "etc/systemd/system/multi-user.target.wants/nova-compute.service"
    assert os.readlink(wants) == "/etc/systemd/system/nova-compute.service"
    assert (root / "var/lib/nova").is_dir() and (root / "var/log/nova").is_dir()
    assert (root / "usr/local/share/doc/nova/README.rst").exists()  # the units' Documentation=
    status, output = _verify(sorted(str(p) for p in (root / "etc/systemd/system").glob("*.service")), tmp_path)
    assert (status, output) == (0, "")

    (etc / "nova.conf").write_text("--sql_connection=mysql+pymysql://nova:secret@db/nova\n")
    again = _install_host("--root", str(root), "compute", "api")
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout
    assert (etc / "nova.conf").read_text() == "--sql_connection=mysql+pymysql://nova:secret@db/nova\n"
    # A unit out of date is replaced; a role added later gets its own files.
    (root / "etc/systemd/system/nova-api.service").write_text("[Service]\n")
    third = _install_host("--root", str(root), "api", "volume")
    assert f"write {root}/etc/systemd/system/nova-api.service" in third.stdout
    assert (etc / "nova-volume.conf").exists()
    assert "Type=notify" in (root / "etc/systemd/system/nova-api.service").read_text()


def test_install_host_refuses_an_unknown_role():
    result = _install_host("--dry-run", "webserver")
    assert result.returncode == 2 and "invalid choice: 'webserver'" in result.stderr


@pytest.mark.parametrize("workers", [1, 2])
def test_a_daemon_tells_systemd_it_is_ready_once_it_serves_and_when_it_stops(tmp_path, monkeypatch, workers):
    """With --s3_workers=2 only the first process speaks to systemd (MAINPID is its pid), once each way."""
    cloud = Cloud(tmp_path, rabbit_url=None)
    cloud.sync_db()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(60)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    port = free_port()
    try:
        daemon = cloud.start("nova-objectstore", "--s3_listen=127.0.0.1", f"--s3_port={port}",
                             f"--s3_workers={workers}")
        message = notify.recv(4096).decode()
        # READY=1 comes once the port answers: a client connecting now is served.
        socket.create_connection(("127.0.0.1", port), 2).close()
        assert message.splitlines() == ["READY=1", f"MAINPID={daemon.pid}"]
        daemon.signal(signal.SIGTERM)
        assert notify.recv(4096).decode() == "STOPPING=1"
        assert daemon.proc.wait(timeout=30) == 0
        notify.settimeout(0.2)
        with pytest.raises(socket.timeout):
            notify.recv(4096)  # nothing from the workers
    finally:
        notify.close()
        cloud.cleanup()


def test_without_notify_socket_nothing_is_sent(tmp_path, monkeypatch):
    from nova import sdnotify

    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.ready() is False
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    assert sdnotify.ready() is False  # a warning, never an exception
    abstract = f"@nova-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + abstract[1:])
        monkeypatch.setenv("NOTIFY_SOCKET", abstract)
        assert sdnotify.stopping() is True
        assert sock.recv(100) == b"STOPPING=1"
