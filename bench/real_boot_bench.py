"""Real boots: nova's libvirt path next to bare QEMU, same kernel, initramfs and disk, in one run.

    python bench/real_boot_bench.py [--guests 1,4] [--cache DIR]      (as root)

For each count N, N instances at once through ``ComputeManager.run_instance``
(what nova-compute does for RunInstances, here in this process, without the
API and RPC hops) on a FlatDHCP network in a network namespace, with
nova-api's metadata server and a libvirtd started in that namespace, as in
tests/integration/virt/test_real_guest.py.  Measured per guest from the
call: the console's ``NOVA-GUEST boot`` line (kernel and initramfs up),
``NOVA-GUEST ready`` (DHCP, metadata, sshd started) and the first SSH login
that works.  Then N bare ``qemu-system-x86_64 -accel tcg`` processes with
the same kernel, initramfs and a copy of the disk, no network, timed to the
same ``NOVA-GUEST boot`` line.  Prints medians and the ratio nova / bare QEMU
to the boot line (the issue's goal: <= 1.3).  One unreported nova boot first
fills the image cache (``instances/_base``) and libvirt's QEMU probe, so the
rounds compare warm starts.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nova  # noqa: E402,F401  (quiets eventlet's deprecation notice)
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from nova import context, flags  # noqa: E402
from nova.auth.manager import AuthManager  # noqa: E402
from nova.cmd import api as api_cmd  # noqa: E402
from nova.compute import manager as compute_manager  # noqa: E402
from nova.compute import states  # noqa: E402
from nova.db import api as db  # noqa: E402
from nova.db import migration  # noqa: E402
from nova.ec2_ids import image_ec2_id_to_id  # noqa: E402
from nova.image.manage import ImageCommands  # noqa: E402
from nova.network import linux_net, manager as network_manager  # noqa: E402
from tests.fixtures.guest import guest_image  # noqa: E402
from tests.fixtures.libvirtd import URI, Libvirtd  # noqa: E402
from tests.integration.network.netns import Topology, inside  # noqa: E402

FLAGS = flags.FLAGS
API_IP = "203.0.113.1"
FIXED_RANGE = "10.81.0.0/24"
BOOT, READY = "NOVA-GUEST boot", "NOVA-GUEST ready"
TIMEOUT = 180


def configure(state: str, net: str) -> None:
    flags.parse_args([sys.argv[0]], use_default_flagfile=False)
    flagfile = os.path.join(state, "nova.conf")
    with open(flagfile, "w") as handle:
        handle.write(f"--sql_connection=sqlite:///{state}/nova.sqlite\n--fake_rabbit\n--host=bench\n"
                     f"--network_manager=nova.network.manager.FlatDHCPManager\n--state_path={state}\n"
                     f"--logfile={state}/dhcpbridge.log\n")
    for directory in ("networks", "instances"):
        os.makedirs(os.path.join(state, directory), mode=0o755)
    for name, value in {
        "state_path": state, "sql_connection": f"sqlite:///{state}/nova.sqlite", "fake_rabbit": True,
        "host": "bench", "netns": net, "root_helper": "", "fake_network": False,
        "network_manager": "nova.network.manager.FlatDHCPManager", "networks_path": f"{state}/networks",
        "lock_path": state, "dhcpbridge_flagfile": flagfile, "public_interface": "lo", "flat_interface": "flat0",
        "fixed_range": FIXED_RANGE, "routing_source_ip": API_IP, "ec2_dmz_host": API_IP,
        "metadata_port": 18775, "metadata_listen": API_IP, "ec2_listen": API_IP, "ec2_port": 18773,
        "identity_port": 0, "image_api_port": 0, "connection_type": "libvirt", "libvirt_type": "qemu",
        "libvirt_uri": URI, "instances_path": f"{state}/instances", "libvirt_kernel_cmdline": "console=ttyS0 quiet",
        "libvirt_shutdown_timeout": 0, "quota_instances": -1, "quota_cores": -1, "quota_ram": -1,
    }.items():
        setattr(FLAGS, name, value)


def register(image: dict) -> dict:
    AuthManager().create_user("bench")
    AuthManager().create_project("bench", "bench")
    commands, ids = ImageCommands(), {}
    for key, call, args in (("kernel", commands.kernel_register, ()), ("ramdisk", commands.ramdisk_register, ()),
                            ("machine", commands.image_register, None)):
        out = io.StringIO()
        if args is None:
            args = ("bench", "guest", "T", "x86_64", "aki-%08x" % ids["kernel"], "ari-%08x" % ids["ramdisk"])
            path = image["disk"]
        else:
            args, path = ("bench",), image[key]
        with contextlib.redirect_stdout(out):
            call(path, *args)
        ids[key] = image_ec2_id_to_id(out.getvalue().strip())
    return ids


def wait_line(read, marker: str, started: float) -> float:
    deadline = started + TIMEOUT
    while time.monotonic() < deadline:
        if marker in read():
            return time.monotonic() - started
        eventlet.sleep(0.05)
    raise RuntimeError(f"no {marker!r} within {TIMEOUT}s")


def nova_round(compute, images: dict, topo: Topology, net: str, key: str, count: int) -> list[dict]:
    admin, user = context.get_admin_context(), context.RequestContext("bench", "bench")
    with open(key + ".pub") as handle:
        public = handle.read().strip()
    rows = [db.instance_create(admin, {
        "image_id": str(images["machine"]), "kernel_id": str(images["kernel"]), "ramdisk_id": str(images["ramdisk"]),
        "project_id": "bench", "user_id": "bench", "vm_state": states.BUILDING, "task_state": states.SCHEDULING,
        "memory_mb": 256, "vcpus": 1, "local_gb": 0, "host": "bench", "hostname": f"bench{i}",
        "key_name": "k", "key_data": public}) for i in range(count)]

    def one(row) -> dict:
        started = time.monotonic()
        compute.run_instance(user, row["id"])
        console = lambda: compute.get_console_output(user, row["id"])  # noqa: E731
        result = {"boot": wait_line(console, BOOT, started), "ready": wait_line(console, READY, started)}
        address = db.fixed_ip_get_all_by_instance(admin, row["id"])[0]["address"]
        while True:
            login = subprocess.run(["ip", "netns", "exec", net, "ssh", "-i", key, "-o", "BatchMode=yes",
                                    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                                    "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", f"root@{address}", "hostname"],
                                   capture_output=True, text=True)
            if login.returncode == 0:
                result["ssh"] = time.monotonic() - started
                return result
            if time.monotonic() - started > TIMEOUT:
                raise RuntimeError(f"no SSH login to {address}: {login.stderr.strip()}")
            eventlet.sleep(0.2)

    pool = eventlet.GreenPool(count)
    results = list(pool.imap(one, rows))
    for row in rows:
        compute.terminate_instance(user, row["id"])
    return results


def bare_round(image: dict, work: str, count: int) -> list[float]:
    procs, disks = [], []
    for i in range(count):
        disk = os.path.join(work, f"bare-{i}.img")
        shutil.copyfile(image["disk"], disk)
        disks.append(disk)

    def one(disk: str) -> float:
        started = time.monotonic()
        proc = subprocess.Popen(
            ["qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-kernel", image["kernel"],
             "-initrd", image["ramdisk"], "-append", "console=ttyS0 quiet", "-drive", f"file={disk},if=virtio,format=raw",
             "-nic", "none", "-serial", "stdio", "-monitor", "none", "-display", "none"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        procs.append(proc)
        try:
            for line in proc.stdout:
                if BOOT.encode() in line:
                    return time.monotonic() - started
            raise RuntimeError("bare QEMU exited before the boot line")
        finally:
            proc.kill()
            proc.wait()

    pool = eventlet.GreenPool(count)
    try:
        return list(pool.imap(one, disks))
    finally:
        for disk in disks:
            os.unlink(disk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guests", default="1,4", help="comma-separated numbers of guests booted at once")
    parser.add_argument("--cache", default=None, help="guest image cache (default: the builder's)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.cache:
        os.environ["NOVA_TEST_GUEST_CACHE"] = args.cache
    image = guest_image()
    topo = Topology()
    topo.tag = "b%x" % os.getpid()
    state = tempfile.mkdtemp(prefix="nova-real-boot-bench-")
    os.chmod(state, 0o755)
    daemon, servers = None, []
    try:
        net = topo.ns("n")
        topo.veth(net, "flat0", net, "flat0p")
        topo.address(net, "lo", f"{API_IP}/32")
        daemon = Libvirtd(net, state)
        daemon.start()
        configure(state, net)
        migration.db_sync()
        linux_net.reset()
        with inside(net):
            servers = api_cmd.build_servers()
        for server in servers:
            server.start()
        network = network_manager.FlatDHCPManager(host="bench")
        network.create_networks(context.get_admin_context(), FIXED_RANGE, 1, 256)
        network.init_host()
        compute = compute_manager.ComputeManager(host="bench")
        compute.network_api = network
        compute.init_host()
        images = register(image)
        key = os.path.join(state, "id_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        print(f"{'guests':>6} {'nova->boot':>11} {'nova->ready':>12} {'nova->ssh':>10} {'bare->boot':>11} {'ratio':>6}")
        nova_round(compute, images, topo, net, key, 1)  # warm-up: image cache, first QEMU start
        for count in [int(n) for n in args.guests.split(",")]:
            nova_results = nova_round(compute, images, topo, net, key, count)
            bare = statistics.median(bare_round(image, state, count))
            boot = statistics.median(r["boot"] for r in nova_results)
            ready = statistics.median(r["ready"] for r in nova_results)
            ssh = statistics.median(r["ssh"] for r in nova_results)
            print(f"{count:>6} {boot:>10.2f}s {ready:>11.2f}s {ssh:>9.2f}s {bare:>10.2f}s {boot / bare:>6.2f}")
    finally:
        for server in servers:
            server.stop()
        pid = linux_net.dnsmasq_pid("br100") if FLAGS.is_parsed() else None
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        if daemon is not None:
            daemon.stop()
        topo.cleanup()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
