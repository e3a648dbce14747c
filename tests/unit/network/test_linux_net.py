"""linux_net's defaults and messages: dnsmasq gets this daemon's flagfile, a failed
helper command names the flag that fixes it, and the fake network says it is fake."""

from __future__ import annotations

import logging
import sys

import pytest

from nova import exception, flags
from nova.network import linux_net

FLAGS = flags.FLAGS
NETWORK = {"bridge": "br100", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1", "dhcp_start": "10.0.0.3"}


def _env_of(cmd: list[str]) -> dict[str, str]:
    return dict(w.split("=", 1) for w in cmd[1:cmd.index("dnsmasq")])


def test_dnsmasq_gets_the_flagfile_this_daemon_was_started_with(monkeypatch, tmp_path):
    conf = tmp_path / "elsewhere.conf"
    conf.write_text("--verbose\n")
    monkeypatch.setattr(sys, "argv", ["nova-network", f"--flagfile={conf}"])
    assert _env_of(linux_net.dnsmasq_cmd(NETWORK))["FLAGFILE"] == str(conf)
    monkeypatch.setattr(sys, "argv", ["nova-network", "--flagfile", "relative.conf"])
    monkeypatch.chdir(tmp_path)
    assert _env_of(linux_net.dnsmasq_cmd(NETWORK))["FLAGFILE"] == str(tmp_path / "relative.conf")


def test_dhcpbridge_flagfile_flag_wins(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["nova-network", f"--flagfile={tmp_path}/a.conf"])
    FLAGS.dhcpbridge_flagfile = "/srv/nova/bridge.conf"
    assert _env_of(linux_net.dnsmasq_cmd(NETWORK))["FLAGFILE"] == "/srv/nova/bridge.conf"


def test_no_flagfile_at_all_leaves_flagfile_out(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["nova-network"])
    monkeypatch.setattr(flags, "default_flagfile", lambda argv: list(argv))
    assert "FLAGFILE" not in _env_of(linux_net.dnsmasq_cmd(NETWORK))


def test_a_missing_helper_names_its_package_and_fake_network():
    FLAGS.fake_network = False
    with pytest.raises(exception.ProcessExecutionError) as excinfo:
        linux_net.execute("nova-no-such-helper", "--version")
    assert "nova-no-such-helper is not installed" in str(excinfo.value)
    assert "--fake_network" in str(excinfo.value)


@pytest.mark.parametrize("cmd, stderr, code, wanted", [
    (["env", "FLAGFILE=x", "dnsmasq", "--strict-order"], "env: 'dnsmasq': No such file or directory", 127,
     "dnsmasq is not installed (Debian package dnsmasq-base)"),
    (["iptables-restore"], "iptables-restore: Permission denied (you must be root)", 4, "--root_helper"),
    (["env", "FLAGFILE=x", "dnsmasq"], "dnsmasq: lease-init script returned exit code 1", 5, "--dhcpbridge_flagfile"),
])
def test_failed_helpers_say_which_flag_to_set(monkeypatch, cmd, stderr, code, wanted):
    FLAGS.fake_network = False

    def failing(*args, **kwargs):
        raise exception.ProcessExecutionError(cmd=" ".join(args), exit_code=code, stderr=stderr)

    monkeypatch.setattr(linux_net.utils, "execute", failing)
    with pytest.raises(exception.ProcessExecutionError) as excinfo:
        linux_net.execute(*cmd)
    assert wanted in str(excinfo.value)
    assert stderr in str(excinfo.value)


def test_the_fake_network_says_fake(caplog):
    FLAGS.fake_network = True
    with caplog.at_level(logging.INFO, logger="nova.network.linux_net"):
        linux_net.ensure_bridge("br100", None)
        linux_net.update_dhcp(NETWORK, lambda: [])
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert lines and all(line.startswith("fake_network (nothing is run): ") for line in lines)
    assert any("Creating bridge br100" in line for line in lines)
    assert any("Starting dnsmasq for br100" in line for line in lines)


def test_two_allocations_at_once_start_one_dnsmasq(monkeypatch):
    """Two greenthreads updating DHCP of one bridge: the second HUPs the dnsmasq the first started."""
    import eventlet

    started, hupped, running = [], [], {}

    def execute(*cmd, **kwargs):
        if "dnsmasq" in cmd:
            eventlet.sleep(0.05)  # dnsmasq takes a moment before its pid file exists
            started.append(cmd)
            running["pid"] = 4242
        elif cmd[:2] == ("kill", "-HUP"):
            hupped.append(cmd[2])
        return "", ""

    monkeypatch.setattr(linux_net, "execute", execute)
    monkeypatch.setattr(linux_net, "dnsmasq_pid", lambda bridge: running.get("pid"))
    pool = eventlet.GreenPool()
    for _ in range(2):
        pool.spawn(linux_net.update_dhcp, NETWORK, lambda: [])
    pool.waitall()
    assert len(started) == 1 and hupped == ["4242"]


def test_an_update_that_read_earlier_never_writes_over_a_later_one(monkeypatch, tmp_path):
    """The first update reads its hosts before the second allocation's address exists and is slow to
    finish reading; the second update must not be overwritten by the first's older list."""
    import eventlet

    FLAGS.networks_path = str(tmp_path)
    monkeypatch.setattr(linux_net, "execute", lambda *cmd, **kwargs: ("", ""))
    monkeypatch.setattr(linux_net, "dnsmasq_pid", lambda bridge: 4242)
    first = ("02:16:3e:00:00:01", "i-00000001", "10.0.0.3")
    second = ("02:16:3e:00:00:02", "i-00000002", "10.0.0.4")

    def read_before_the_second_address():
        hosts = [first]
        eventlet.sleep(0.05)  # the database answers slowly
        return hosts

    pool = eventlet.GreenPool()
    pool.spawn(linux_net.update_dhcp, NETWORK, read_before_the_second_address)
    eventlet.sleep(0.01)
    pool.spawn(linux_net.update_dhcp, NETWORK, lambda: [first, second])
    pool.waitall()
    with open(linux_net._network_file("br100", "conf")) as handle:
        lines = handle.read().split()
    assert any(line.endswith(",10.0.0.4") for line in lines), lines
