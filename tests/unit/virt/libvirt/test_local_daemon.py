"""nova.virt.libvirt.local_daemon: the daemons' command lines, the refusal of a foreign libvirtd, and powering
guests off (on libvirt's test driver)."""

from __future__ import annotations

import os

import pytest

from nova import exception
from nova.virt.libvirt import local_daemon


def test_virtlogd_runs_in_the_namespace():
    assert local_daemon.LocalLibvirtd("ns1", "/tmp").command("virtlogd") == ["ip", "netns", "exec", "ns1", "virtlogd"]


def test_libvirtd_gets_its_own_qemu_conf_with_the_callers_lines(tmp_path):
    daemon = local_daemon.LocalLibvirtd("ns1", str(tmp_path), qemu_conf=['user = "root"'])
    command = daemon.command("libvirtd")
    assert command[:5] == ["ip", "netns", "exec", "ns1", "unshare"]
    script = command[command.index("-c") + 1]
    assert script.endswith("exec libvirtd") and "/etc/libvirt/qemu.conf" in script
    assert ("/dev/kvm" in script) == os.path.exists("/dev/kvm")
    assert (tmp_path / "qemu.conf").read_text() == 'namespaces = []\nuser = "root"\n'


def test_a_libvirtd_in_another_namespace_is_refused_in_one_line(tmp_path, monkeypatch):
    pytest.importorskip("libvirt")
    monkeypatch.setattr(local_daemon, "running_pid", lambda path: 4242 if path == local_daemon.PIDFILE else None)
    monkeypatch.setattr(local_daemon, "same_netns", lambda pid, netns: False)
    daemon = local_daemon.LocalLibvirtd("ns1", str(tmp_path))
    with pytest.raises(exception.LibvirtdUnavailable) as excinfo:
        daemon.start(timeout=1)
    assert "pid 4242" in str(excinfo.value) and "outside the namespace ns1" in str(excinfo.value)
    assert "\n" not in str(excinfo.value) and daemon.procs == []


def test_power_off_domains_names_the_running_guests_it_stopped():
    pytest.importorskip("libvirt")
    # test:///default holds one running domain, "test"; each connection sees a fresh copy
    assert local_daemon.power_off_domains(["test", "absent"], uri="test:///default", timeout=1) == ["test"]
    assert local_daemon.power_off_domains(["other"], uri="test:///default", timeout=1) == []
