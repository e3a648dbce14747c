"""Linux networking for nova-network and nova-compute: bridges, VLAN
interfaces, dnsmasq, NAT and the iptables manager.

This is the only code that runs ``ip``, ``dnsmasq``, ``dhcp_release``,
``kill`` (of dnsmasq) and ``iptables-save``/``iptables-restore``.  Each
command goes through ``nova.utils.execute`` (so ``--root_helper`` and
``--netns`` apply); with ``--fake_network`` it is recorded in
``FAKE_COMMANDS`` and not run.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import sys
from typing import Any, Callable, Iterable

from eventlet import semaphore

from nova import exception, flags, utils
from nova.network import iptables

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

_BIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bin")

flags.DEFINE_boolean("fake_network", False, "Record network commands instead of running them (tests, non-root demos)")
flags.DEFINE_string("networks_path", "$state_path/networks", "Where dnsmasq's hosts, pid and lease files live")
flags.DEFINE_string("public_interface", "eth0", "Interface that carries the floating IPs")
flags.DEFINE_string("vlan_interface", "eth0", "Interface VLAN interfaces are made on")
flags.DEFINE_string("dhcpbridge", None,
                    "dnsmasq's --dhcp-script (default: bin/nova-dhcpbridge of this nova, or on PATH)")
flags.DEFINE_string("dhcpbridge_flagfile", None,
                    "Flagfile nova-dhcpbridge reads (default: the flagfile this daemon was started with)")
flags.DEFINE_string("routing_source_ip", "$my_ip",
                    "Source address of instances' outbound traffic without a floating IP")
flags.DEFINE_integer("dhcp_lease_time", 120, "Seconds a DHCP lease lasts", lower_bound=1)
flags.DEFINE_string("dhcp_domain", "novalocal", "Domain dnsmasq gives instances")
flags.DEFINE_string("lock_path", "$state_path", "Directory of the lock files that serialise host changes")

METADATA_IP = "169.254.169.254"
FAKE_COMMANDS: list[str] = []
_manager: iptables.IptablesManager | None = None


# Debian packages of the helper commands, for the error that says one is missing.
_PACKAGES = {"ip": "iproute2", "dnsmasq": "dnsmasq-base", "dhcp_release": "dnsmasq-utils",
             "iptables": "iptables", "iptables-save": "iptables", "iptables-restore": "iptables",
             "sysctl": "procps", "kill": "procps"}


def _program(cmd: Iterable[Any]) -> str:
    """The command's program, past ``env`` and its NAME=value arguments."""
    words = [str(c) for c in cmd]
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if "=" not in w] or words
    return os.path.basename(words[0]) if words else ""


def helper_hint(cmd: Iterable[Any], exc: exception.ProcessExecutionError) -> str:
    """Which flag (or package) fixes a failed helper command, in one sentence."""
    program = _program(cmd)
    stderr = (exc.stderr or "").lower()
    fake = "or start with --fake_network to record network commands instead of running them"
    if exc.exit_code in (None, 127) and ("no such file" in stderr or "not found" in stderr):
        package = _PACKAGES.get(program)
        return f"{program} is not installed{f' (Debian package {package})' if package else ''}: install it {fake}"
    if "permission denied" in stderr or "not permitted" in stderr or "must be root" in stderr:
        return f"{program} needs root: run as root, set --root_helper (e.g. --root_helper=sudo), {fake}"
    if program == "dnsmasq":
        return (f"check --dhcpbridge ({dhcpbridge_path()}) and --dhcpbridge_flagfile "
                f"({dhcpbridge_flagfile() or 'none'}), or start with --fake_network")
    return f"set --root_helper if {program} needs another way to run as root, {fake}"


def execute(*cmd: Any, process_input: str | None = None,
            check_exit_code: bool | list[int] = True) -> tuple[str, str]:
    """Run (or with --fake_network record) a command as root.

    A failure names the flag or package that fixes it (``helper_hint``).
    """
    if FLAGS.fake_network:
        line = " ".join(str(c) for c in cmd)
        FAKE_COMMANDS.append(line)
        LOG.debug("fake_network: %s", line)
        return "", ""
    try:
        return utils.execute(*cmd, run_as_root=True, process_input=process_input, check_exit_code=check_exit_code)
    except exception.ProcessExecutionError as exc:
        stderr = f"{(exc.stderr or '').strip()} ({helper_hint(cmd, exc)})".strip()
        raise exception.ProcessExecutionError(cmd=exc.cmd, exit_code=exc.exit_code, stdout=exc.stdout,
                                              stderr=stderr) from None


def _log_change(message: str, *args: Any) -> None:
    """Log a change to the host; with --fake_network say that nothing is really done."""
    if FLAGS.fake_network:
        LOG.info("fake_network (nothing is run): " + message, *args)
    else:
        LOG.info(message, *args)


def iptables_manager() -> iptables.IptablesManager:
    """The process's iptables manager, made at first use."""
    global _manager
    if _manager is None:
        _manager = iptables.IptablesManager(iptables.binary_name(), execute,
                                            lambda: os.path.join(FLAGS.lock_path, "nova-iptables.lock"))
    return _manager


def reset() -> None:
    """Forget the in-memory rules and recorded commands (tests)."""
    global _manager
    _manager = None
    FAKE_COMMANDS.clear()


def _exists(*cmd: str) -> bool:
    if FLAGS.fake_network:
        execute(*cmd)
        return False
    try:
        out, _ = execute(*cmd)
    except exception.ProcessExecutionError:
        return False
    return bool(out.strip())


def device_exists(device: str) -> bool:
    return _exists("ip", "link", "show", "dev", device)


def _addresses(device: str) -> list[str]:
    """IPv4 addresses of a device, as ``a.b.c.d/len``."""
    if FLAGS.fake_network:
        return []
    out, _ = execute("ip", "-o", "-4", "addr", "show", "dev", device)
    found = []
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            found.append(parts[parts.index("inet") + 1])
    return found


# -- host set-up -------------------------------------------------------------


def init_host(fixed_range: str, routing_source_ip: str, dmz_host: str) -> None:
    """Forwarding on; default SNAT for the fixed range, except towards the API host and itself."""
    execute("sysctl", "-w", "net.ipv4.ip_forward=1")
    nat = iptables_manager().tables["nat"]
    nat.add_rule("snat", f"-s {fixed_range} -j SNAT --to-source {routing_source_ip}")
    nat.add_rule("POSTROUTING", f"-s {fixed_range} -d {dmz_host}/32 -j ACCEPT")
    nat.add_rule("POSTROUTING", f"-s {fixed_range} -d {fixed_range} -j ACCEPT")
    iptables_manager().apply()


def metadata_forward(dmz_host: str, port: int) -> None:
    """Send instances' 169.254.169.254:80 to the metadata service, source kept."""
    if f"{METADATA_IP}/32" not in _addresses("lo"):
        execute("ip", "addr", "add", f"{METADATA_IP}/32", "scope", "link", "dev", "lo", check_exit_code=[0, 2])
    nat = iptables_manager().tables["nat"]
    nat.add_rule("PREROUTING", f"-d {METADATA_IP}/32 -p tcp -m tcp --dport 80 "
                               f"-j DNAT --to-destination {dmz_host}:{port}")
    iptables_manager().apply()


# -- bridges and VLANs -----------------------------------------------------------


def vlan_interface_name(vlan_num: int) -> str:
    return f"vlan{vlan_num}"


def ensure_vlan(vlan_num: int, interface: str) -> str:
    """An 802.1Q interface ``vlan<num>`` on ``interface``; returns its name."""
    name = vlan_interface_name(vlan_num)
    if not device_exists(name):
        _log_change("Creating VLAN interface %s on %s", name, interface)
        execute("ip", "link", "add", "link", interface, "name", name, "type", "vlan", "id", str(vlan_num))
        execute("ip", "link", "set", name, "up")
    return name


def ensure_vlan_bridge(vlan_num: int, bridge: str, net_attrs: dict[str, Any] | None = None,
                       interface: str | None = None) -> None:
    """The VLAN interface, and a bridge holding it."""
    vlan = ensure_vlan(vlan_num, interface or FLAGS.vlan_interface)
    ensure_bridge(bridge, vlan, net_attrs)


def ensure_bridge(bridge: str, interface: str | None, net_attrs: dict[str, Any] | None = None) -> None:
    """Make ``bridge`` (iproute2), enslave ``interface``; on the network host (``net_attrs``
    given) also give it the gateway address and let its traffic through FORWARD.

    The interface's own IPv4 addresses move to the bridge, as the first Nova
    did, so a host reached through that interface stays reachable.  One bridge
    is set up by one greenthread at a time: two instances' allocations at once
    both found no bridge and the second ``ip link add`` failed.
    """
    with _bridge_locks.setdefault(bridge, semaphore.Semaphore(1)):
        _ensure_bridge(bridge, interface, net_attrs)


_bridge_locks: dict[str, semaphore.Semaphore] = {}


def _ensure_bridge(bridge: str, interface: str | None, net_attrs: dict[str, Any] | None) -> None:
    if not device_exists(bridge):
        _log_change("Creating bridge %s", bridge)
        execute("ip", "link", "add", bridge, "type", "bridge")
        execute("ip", "link", "set", bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0")
    execute("ip", "link", "set", bridge, "up")
    if interface:
        for address in _addresses(interface):
            execute("ip", "addr", "del", address, "dev", interface)
            if address not in _addresses(bridge):
                execute("ip", "addr", "add", address, "dev", bridge)
        execute("ip", "link", "set", interface, "master", bridge)
        execute("ip", "link", "set", interface, "up")
    if not net_attrs:
        return  # a compute host: the bridge is all its instances need; its firewall is the driver's
    net = ipaddress.ip_network(net_attrs["cidr"], strict=False)
    gateway = f"{net_attrs['gateway']}/{net.prefixlen}"
    if gateway not in _addresses(bridge):
        execute("ip", "addr", "add", gateway, "brd", str(net_attrs.get("broadcast") or net.broadcast_address),
                "dev", bridge)
    filter_table = iptables_manager().tables["filter"]
    filter_table.add_rule("FORWARD", f"--in-interface {bridge} -j ACCEPT")
    filter_table.add_rule("FORWARD", f"--out-interface {bridge} -j ACCEPT")
    iptables_manager().apply()


# -- dnsmasq -----------------------------------------------------------------


def _network_file(bridge: str, kind: str) -> str:
    # dnsmasq re-reads the hosts file as an unprivileged user on SIGHUP.
    os.makedirs(FLAGS.networks_path, mode=0o755, exist_ok=True)
    return os.path.join(FLAGS.networks_path, f"nova-{bridge}.{kind}")


def hosts_line(mac: str, hostname: str, address: str) -> str:
    return f"{mac},{hostname}.{FLAGS.dhcp_domain},{address}"


def write_hosts_file(bridge: str, hosts: Iterable[tuple[str, str, str]]) -> str:
    """Write dnsmasq's ``--dhcp-hostsfile`` (``mac,host.domain,ip`` lines); returns its path."""
    path = _network_file(bridge, "conf")
    text = "".join(hosts_line(*host) + "\n" for host in hosts)
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return path


def dhcpbridge_path() -> str:
    if FLAGS.dhcpbridge:
        return FLAGS.dhcpbridge
    local = os.path.join(_BIN_DIR, "nova-dhcpbridge")
    return local if os.path.exists(local) else (shutil.which("nova-dhcpbridge") or local)


def dhcpbridge_flagfile() -> str | None:
    """--dhcpbridge_flagfile, else the (last) flagfile this daemon read, as an absolute path."""
    if FLAGS.dhcpbridge_flagfile:
        return FLAGS.dhcpbridge_flagfile
    argv, found = flags.default_flagfile(sys.argv), None
    for i, arg in enumerate(argv[1:], 1):
        if arg.startswith("--flagfile="):
            found = arg.partition("=")[2]
        elif arg == "--flagfile" and i + 1 < len(argv):
            found = argv[i + 1]
    return os.path.abspath(found) if found else None


def dnsmasq_cmd(network: dict[str, Any]) -> list[str]:
    """dnsmasq's command line for one network, as the first Nova built it.

    nova-dhcpbridge gets this daemon's flagfile in $FLAGFILE, so it reaches
    the same database and broker.
    """
    bridge = network["bridge"]
    net = ipaddress.ip_network(network["cidr"], strict=False)
    flagfile = dhcpbridge_flagfile()
    if flagfile is None and not FLAGS.fake_network:
        LOG.warning("No flagfile for nova-dhcpbridge: it reads its defaults; set --dhcpbridge_flagfile")
    return [
        "env", *([f"FLAGFILE={flagfile}"] if flagfile else []), f"DNSMASQ_INTERFACE={bridge}",
        "dnsmasq",
        "--strict-order",
        "--bind-interfaces",
        "--conf-file=",
        f"--domain={FLAGS.dhcp_domain}",
        f"--pid-file={_network_file(bridge, 'pid')}",
        f"--listen-address={network['gateway']}",
        "--except-interface=lo",
        f"--dhcp-range={network['dhcp_start']},static,{FLAGS.dhcp_lease_time}s",
        f"--dhcp-lease-max={net.num_addresses}",
        f"--dhcp-hostsfile={_network_file(bridge, 'conf')}",
        f"--dhcp-script={dhcpbridge_path()}",
        "--leasefile-ro",
    ]


def dnsmasq_pid(bridge: str) -> int | None:
    """The pid of the dnsmasq serving ``bridge`` if it runs, else None."""
    path = _network_file(bridge, "pid")
    try:
        with open(path) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().decode(errors="replace")
    except OSError:
        return None
    return pid if "dnsmasq" in cmdline and _network_file(bridge, "conf") in cmdline else None


_dhcp_locks: dict[str, semaphore.Semaphore] = {}


def update_dhcp(network: dict[str, Any], read_hosts: Callable[[], Iterable[tuple[str, str, str]]]) -> None:
    """Rewrite the network's hosts file with what ``read_hosts()`` gives and HUP its dnsmasq, or start one.

    One bridge at a time, the read included: two instances allocated at once
    would otherwise both find no dnsmasq and start two, the second failing on
    the address; and an update that read the hosts before another
    allocation's address was written could write its list after that
    allocation's own update, leaving the address out of the file.
    """
    bridge = network["bridge"]
    with _dhcp_locks.setdefault(bridge, semaphore.Semaphore(1)):
        write_hosts_file(bridge, read_hosts())
        pid = dnsmasq_pid(bridge)
        if pid is not None:
            execute("kill", "-HUP", str(pid))
            return
        _log_change("Starting dnsmasq for %s", bridge)
        execute(*dnsmasq_cmd(network))


def kill_dhcp(bridge: str) -> None:
    pid = dnsmasq_pid(bridge)
    if pid is not None:
        execute("kill", "-TERM", str(pid), check_exit_code=[0, 1])


def release_dhcp(bridge: str, address: str, mac: str) -> None:
    """Tell dnsmasq a lease is gone now (it runs the dhcp-script's ``del``)."""
    execute("dhcp_release", bridge, address, mac, check_exit_code=False)


# -- floating IPs --------------------------------------------------------------


def floating_forward_rules(floating_ip: str, fixed_ip: str) -> list[tuple[str, str]]:
    return [
        ("PREROUTING", f"-d {floating_ip}/32 -j DNAT --to-destination {fixed_ip}"),
        ("OUTPUT", f"-d {floating_ip}/32 -j DNAT --to-destination {fixed_ip}"),
        ("floating-snat", f"-s {fixed_ip}/32 -j SNAT --to-source {floating_ip}"),
    ]


def bind_floating_ip(floating_ip: str, interface: str | None = None) -> None:
    interface = interface or FLAGS.public_interface
    if f"{floating_ip}/32" not in _addresses(interface):
        execute("ip", "addr", "add", f"{floating_ip}/32", "dev", interface)


def unbind_floating_ip(floating_ip: str, interface: str | None = None) -> None:
    interface = interface or FLAGS.public_interface
    if FLAGS.fake_network or f"{floating_ip}/32" in _addresses(interface):
        execute("ip", "addr", "del", f"{floating_ip}/32", "dev", interface)


def ensure_floating_forward(floating_ip: str, fixed_ip: str) -> None:
    nat = iptables_manager().tables["nat"]
    for chain, rule in floating_forward_rules(floating_ip, fixed_ip):
        nat.add_rule(chain, rule)
    iptables_manager().apply()


def remove_floating_forward(floating_ip: str, fixed_ip: str) -> None:
    nat = iptables_manager().tables["nat"]
    for chain, rule in floating_forward_rules(floating_ip, fixed_ip):
        nat.remove_rule(chain, rule)
    iptables_manager().apply()
