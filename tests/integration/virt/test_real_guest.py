"""A real QEMU guest (TCG) through ComputeManager and the libvirt driver.

One network namespace is the host: it holds nova-network's FlatDHCP bridge,
dnsmasq and NAT (linux_net, run by this process), nova-api's metadata server
(served by this process from a socket made inside it) and the libvirtd this
test starts there.  The guest is tools/build-guest-image's, registered with
``nova-manage image``; it gets its address from dnsmasq, reads its metadata,
prints ``NOVA-GUEST`` lines on the serial console and answers SSH with the
instance's key from an "outside" namespace through a floating IP.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import pytest

from nova import context, flags
from nova.auth.manager import AuthManager
from nova.cmd import api as api_cmd
from nova.compute import manager as compute_manager
from nova.compute import states
from nova.db import api as db
from nova.ec2_ids import image_ec2_id_to_id
from nova.image import get_default_image_service
from nova.image.manage import ImageCommands
from nova.network import linux_net, manager as network_manager
from tests.fixtures.guest import require_guest
from tests.fixtures.libvirtd import URI, Libvirtd
from tests.fixtures.rpc import wait_for
from tests.integration.network.netns import Topology, inside

FLAGS = flags.FLAGS

API_IP = "203.0.113.1"
OUTSIDE_IP = "203.0.113.2"
FLOATING_IP = "203.0.113.100"
FIXED_RANGE = "10.79.0.0/24"
METADATA_PORT = 18775
BOOT_TIMEOUT = 120
USER_DATA = "#!/bin/sh\necho hello from user-data on $(hostname)\n"


@pytest.fixture(scope="module")
def host():
    """The host namespace with libvirtd running in it, an outside namespace, and the guest image."""
    image = require_guest()
    topo = Topology()
    topo.tag = "%x" % os.getpid()  # unique among test runs side by side
    log_dir = tempfile.mkdtemp(prefix="nova-libvirtd-")
    daemon = None
    try:
        net, outside = topo.ns("n"), topo.ns("o")
        topo.veth(net, "pub0", outside, "ext0")
        topo.address(net, "pub0", f"{API_IP}/24")
        topo.address(outside, "ext0", f"{OUTSIDE_IP}/24")
        topo.veth(net, "flat0", net, "flat0p")
        daemon = Libvirtd(net, log_dir)
        started = time.monotonic()
        daemon.start()
        print(f"libvirtd ready in {time.monotonic() - started:.1f}s")
        yield {"topo": topo, "net": net, "outside": outside, "image": image}
    finally:
        if daemon is not None:
            daemon.stop()
        topo.cleanup()
        shutil.rmtree(log_dir, ignore_errors=True)


@pytest.fixture
def cloud(host, sqlite_db, tmp_path):
    """Flags for a FlatDHCP network in the host namespace, nova-api's metadata server, a compute manager."""
    # dnsmasq and QEMU do not run as root: their folders must be readable by others.
    shared = tempfile.mkdtemp(prefix="nova-real-guest-")
    os.chmod(shared, 0o755)
    networks_path, instances_path = os.path.join(shared, "networks"), os.path.join(shared, "instances")
    os.makedirs(networks_path, mode=0o755)
    os.makedirs(instances_path, mode=0o755)
    flagfile = tmp_path / "nova.conf"
    flagfile.write_text("\n".join([
        f"--sql_connection={sqlite_db}", "--fake_rabbit", "--host=host-a",
        "--network_manager=nova.network.manager.FlatDHCPManager", f"--state_path={tmp_path}",
        f"--logfile={tmp_path}/dhcpbridge.log"]) + "\n")
    for name, value in {
        "netns": host["net"], "root_helper": "", "fake_network": False, "host": "host-a",
        "network_manager": "nova.network.manager.FlatDHCPManager", "networks_path": networks_path,
        "lock_path": str(tmp_path), "dhcpbridge_flagfile": str(flagfile), "public_interface": "pub0",
        "flat_interface": "flat0", "fixed_range": FIXED_RANGE, "routing_source_ip": API_IP,
        "ec2_dmz_host": API_IP, "metadata_port": METADATA_PORT, "metadata_listen": API_IP,
        "ec2_listen": API_IP, "ec2_port": 18773, "identity_port": 0, "image_api_port": 0,
        "connection_type": "libvirt", "libvirt_type": "qemu", "libvirt_uri": URI,
        "instances_path": instances_path, "libvirt_kernel_cmdline": "console=ttyS0 quiet",
        "libvirt_shutdown_timeout": 20, "libvirt_boot_timeout": 60,
        "firewall_driver": "nova.virt.iptables_firewall.IptablesFirewallDriver",
    }.items():
        setattr(FLAGS, name, value)
    linux_net.reset()
    with inside(host["net"]):
        servers = api_cmd.build_servers()
    for server in servers:
        server.start()
    network = network_manager.FlatDHCPManager(host="host-a")
    network.create_networks(context.get_admin_context(), FIXED_RANGE, 1, 256)
    network.init_host()
    compute = compute_manager.ComputeManager(host="host-a")
    compute.network_api = network  # nova-network in this process: the same calls, without RPC
    compute.init_host()
    try:
        yield {"compute": compute, "network": network, "instances_path": instances_path,
               "images": register_guest(host["image"]), **host}
    finally:
        for name in compute.driver.list_instances():
            if name.startswith("instance-"):
                with contextlib.suppress(Exception):
                    compute.driver.destroy({"name": name}, None, cleanup=False)
        for server in servers:
            server.stop()
        dnsmasq = linux_net.dnsmasq_pid("br100")  # the next test's network starts its own
        if dnsmasq:
            with contextlib.suppress(ProcessLookupError):
                os.kill(dnsmasq, signal.SIGTERM)
        linux_net.reset()
        shutil.rmtree(shared, ignore_errors=True)


def register_guest(image: dict[str, str]) -> dict[str, int]:
    """``nova-manage image kernel_register / ramdisk_register / image_register`` of the guest files."""
    auth = AuthManager()
    auth.create_user("alice")
    auth.create_project("proj1", "alice")
    commands = ImageCommands()

    def printed(call, *args) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            call(*args)
        return out.getvalue().strip()

    aki = printed(commands.kernel_register, image["kernel"], "proj1", "guest-kernel")
    ari = printed(commands.ramdisk_register, image["ramdisk"], "proj1", "guest-ramdisk")
    ami = printed(commands.image_register, image["disk"], "proj1", "guest", "T", "x86_64", aki, ari)
    return {"kernel": image_ec2_id_to_id(aki), "ramdisk": image_ec2_id_to_id(ari), "machine": image_ec2_id_to_id(ami)}


def markers(console: str) -> dict[str, str]:
    """The guest's ``NOVA-GUEST key=value`` lines (the last of each key)."""
    return dict(re.findall(r"^NOVA-GUEST ([a-z0-9-]+)=(.*?)\r?$", console, re.M))


def ssh(topo: Topology, ns: str, key: str, address: str, command: str, timeout: float = 30) -> str:
    return topo.exec(ns, "ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                     "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
                     f"root@{address}", command, timeout=timeout).strip()


ECHO_CLIENT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.sendall(b"ping\n")
print(s.recv(100).decode().strip())
"""


def echo(topo: Topology, ns: str, address: str) -> str:
    """What the guest's TCP echo port sends back for "ping"."""
    return topo.exec(ns, sys.executable, "-c", ECHO_CLIENT, address, timeout=30).strip()


def group(name: str, *ports: int) -> int:
    """A security group of proj1 that lets TCP ``ports`` in from anywhere."""
    admin = context.get_admin_context()
    row = db.security_group_create(admin, {"name": name, "project_id": "proj1", "user_id": "alice",
                                           "description": name})
    for port in ports:
        db.security_group_rule_create(admin, {"parent_group_id": row["id"], "protocol": "tcp", "from_port": port,
                                              "to_port": port, "cidr": "0.0.0.0/0"})
    return row["id"]


def boot(cloud: dict, key: str, hostname: str, group_id: int) -> tuple[Any, str]:
    """run_instance of the guest with ``key``; returns the instance row and its console once it is ready."""
    compute, images = cloud["compute"], cloud["images"]
    admin, user = context.get_admin_context(), context.RequestContext("alice", "proj1")
    row = db.instance_create(admin, {
        "image_id": str(images["machine"]), "kernel_id": str(images["kernel"]),
        "ramdisk_id": str(images["ramdisk"]), "project_id": "proj1", "user_id": "alice",
        "vm_state": states.BUILDING, "task_state": states.SCHEDULING, "memory_mb": 256, "vcpus": 1,
        "local_gb": 0, "host": "host-a", "hostname": hostname, "key_name": "k1",
        "key_data": open(key + ".pub").read().strip(), "user_data": base64.b64encode(USER_DATA.encode()).decode(),
    })
    db.instance_add_security_group(admin, row["id"], group_id)
    started = time.monotonic()
    compute.run_instance(user, row["id"])
    print(f"run_instance: {time.monotonic() - started:.1f}s")
    instance = db.instance_get(admin, row["id"])
    assert (instance["vm_state"], instance["power_state"]) == (states.ACTIVE, states.RUNNING), instance["fault"]
    console = wait_for(lambda: (lambda text: "NOVA-GUEST ready" in text and text)(
        compute.get_console_output(user, row["id"])), timeout=BOOT_TIMEOUT, interval=0.5)
    print(f"run_instance -> console marker: {time.monotonic() - started:.1f}s")
    return instance, console


def keypair(tmp_path) -> str:
    key = str(tmp_path / "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    return key


@pytest.mark.timeout(600)
def test_a_real_guest_boots_reads_its_metadata_and_answers_ssh(cloud, tmp_path):
    compute, network, topo = cloud["compute"], cloud["network"], cloud["topo"]
    admin = context.get_admin_context()
    user = context.RequestContext("alice", "proj1")
    key = keypair(tmp_path)
    row, console = boot(cloud, key, "guest1", group("open", 22, 7))
    ec2_id = "i-%08x" % row["id"]
    fixed_ip = db.fixed_ip_get_all_by_instance(admin, row["id"])[0]["address"]
    seen = markers(console)
    assert seen["instance-id"] == ec2_id, console
    assert seen["local-ipv4"] == fixed_ip, console
    assert seen["uname-n"] == "guest1", console
    assert "NOVA-GUEST user-data-output: hello from user-data on guest1" in console, console
    assert seen["root-disk"] == "/dev/vda", console
    wait_for(lambda: db.fixed_ip_get_by_address(admin, fixed_ip)["leased"], timeout=20)

    # SSH with the instance's key from outside, through a floating IP
    db.floating_ip_bulk_create(admin, "host-a", [FLOATING_IP])
    assert network.allocate_floating_ip(user, "proj1") == FLOATING_IP
    network.associate_floating_ip(user, FLOATING_IP, fixed_ip)
    assert ssh(topo, cloud["outside"], key, FLOATING_IP, "hostname") == "guest1"
    ssh(topo, cloud["outside"], key, FLOATING_IP, "echo kept > /root/kept.txt && sync")
    assert echo(topo, cloud["outside"], FLOATING_IP) == "ping"

    # a snapshot of the running instance holds the file
    snapshots = get_default_image_service()
    snap = snapshots.create(user, {"name": "snap", "state": "saving"})
    compute.snapshot_instance(user, row["id"], snap["id"])
    stored = snapshots.show(user, snap["id"])
    assert stored["state"] == "available"
    copy = str(tmp_path / "snap.img")
    shutil.copyfile(stored["location"], copy)
    subprocess.run(["e2fsck", "-fy", copy], capture_output=True)  # replays the journal of the live disk
    assert subprocess.run(["debugfs", "-R", "cat /kept.txt", copy], capture_output=True,
                          text=True).stdout.strip() == "kept"

    # pause and suspend keep the running guest: no new boot, the echo port answers again
    for stop, start, state in (("pause_instance", "unpause_instance", states.PAUSED),
                               ("suspend_instance", "resume_instance", states.SUSPENDED)):
        getattr(compute, stop)(user, row["id"])
        assert db.instance_get(admin, row["id"])["vm_state"] == state
        getattr(compute, start)(user, row["id"])
        assert db.instance_get(admin, row["id"])["vm_state"] == states.ACTIVE
        assert echo(topo, cloud["outside"], FLOATING_IP) == "ping", start
    assert compute.get_console_output(user, row["id"]).count("NOVA-GUEST ready") == 1

    # reboot, stop/start (the file kept), security groups opening and closing ports, and two guests
    # reaching each other as their groups allow: tests/functional/real_guest/test_real_guest_ec2.py, through the daemons

    # rescue: a fresh disk first, the instance's own disk second; unrescue: back to its own disk
    compute.rescue_instance(user, row["id"])
    assert db.instance_get(admin, row["id"])["vm_state"] == states.RESCUED
    wait_for(lambda: compute.get_console_output(user, row["id"]).count("NOVA-GUEST ready") == 2,
             timeout=BOOT_TIMEOUT, interval=0.5)
    assert markers(compute.get_console_output(user, row["id"]))["disks"] == "vda vdb"
    assert ssh(topo, cloud["outside"], key, FLOATING_IP,
               "test ! -e /root/kept.txt && mount /dev/vdb /mnt && cat /mnt/kept.txt && umount /mnt") == "kept"
    compute.unrescue_instance(user, row["id"])
    assert db.instance_get(admin, row["id"])["vm_state"] == states.ACTIVE
    wait_for(lambda: compute.get_console_output(user, row["id"]).count("NOVA-GUEST ready") == 3,
             timeout=BOOT_TIMEOUT, interval=0.5)
    assert markers(compute.get_console_output(user, row["id"]))["disks"] == "vda"
    assert ssh(topo, cloud["outside"], key, FLOATING_IP, "cat /root/kept.txt") == "kept"

    # terminate: no domain, no files
    network.disassociate_floating_ip(user, FLOATING_IP)
    compute.terminate_instance(user, row["id"])
    assert row["name"] not in compute.driver.list_instances()
    assert not os.path.exists(os.path.join(cloud["instances_path"], row["name"]))
    wait_for(lambda: db.fixed_ip_get_by_address(admin, fixed_ip)["instance_id"] is None, timeout=20)
    assert not any(f"inst-{row['id']}" in line or FLOATING_IP in line
                   for line in topo.exec(cloud["net"], "iptables-save").splitlines())


CONNECT_CLIENT = r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
    print("open")
except OSError as exc:
    print("closed", exc)
"""


def port(topo: Topology, ns: str, address: str, number: int) -> str:
    """"open" when a TCP connection to ``address:number`` from ``ns`` succeeds within 2 s, else "closed ..."."""
    return topo.exec(ns, sys.executable, "-c", CONNECT_CLIENT, address, str(number), timeout=20).split()[0]
