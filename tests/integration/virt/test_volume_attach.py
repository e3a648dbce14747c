"""An iSCSI volume on a real guest, through the libvirt driver.

The real-guest cloud of test_real_guest.py (libvirtd, FlatDHCP and the guest
in the host namespace) plus a "volume host" namespace on a veth: tgtd there
exports a raw file, set up with tgtadm by hand, as nova-volume would.  QEMU
opens the volume itself (libiscsi, from qemu-block-extra); the guest sees it
as /dev/vdb, and what it writes lands in the file on the volume host.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import libvirt
import pytest

from nova import context, exception
from nova.db import api as db
from tests.fixtures.libvirtd import URI, skip_or_fail
from tests.fixtures.rpc import wait_for
from tests.integration.network.netns import Topology
from tests.integration.virt.test_real_guest import (BOOT_TIMEOUT, boot, cloud, group, host,  # noqa: F401
                                                    keypair, markers, ssh)

HOST_SIDE_IP = "198.51.100.1"
TARGET_IP = "198.51.100.2"
PLAIN_IQN = "iqn.2010-10.org.openstack:volume-0000000a"
CHAP_IQN = "iqn.2010-10.org.openstack:volume-0000000b"
VOLUME_BYTES = 8 * 1024 * 1024


def free_control_port() -> int:
    """A tgtadm control port (tgtd allows 1..32767) no other tgtd's socket (/run/tgtd/socket.N) uses."""
    for offset in range(20000):
        port = 10000 + (os.getpid() + offset) % 20000
        if not os.path.exists(f"/run/tgtd/socket.{port}"):
            return port
    raise AssertionError("no free tgtd control port")


class Tgtd:
    """tgtd in namespace ``ns`` on ``ip``:3260 with a control port of its own (tgtadm -C)."""

    def __init__(self, topo: Topology, ns: str, ip: str, log_path: str) -> None:
        self.topo, self.ns, self.ip, self.log_path = topo, ns, ip, log_path
        self.control_port = free_control_port()
        self.proc: subprocess.Popen | None = None
        self.tids: list[int] = []
        self.users: list[str] = []

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, "tgtd", "-f", "--iscsi",
                                          f"portal={self.ip}:3260", "--control-port", str(self.control_port)],
                                         stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or self.tgtadm("--op", "show", "--mode", "system",
                                                                     check=False) is not None, timeout=10)
        if self.proc.poll() is not None:
            pytest.fail(f"tgtd exited ({self.proc.returncode}); see {self.log_path}")

    def tgtadm(self, *args: str, check: bool = True) -> str | None:
        result = subprocess.run(["ip", "netns", "exec", self.ns, "tgtadm", "-C", str(self.control_port),
                                 "--lld", "iscsi", *args], capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            if check:
                raise AssertionError(f"tgtadm {' '.join(args)}: {result.stderr.strip()}")
            return None
        return result.stdout

    def export(self, tid: int, iqn: str, path: str, chap: tuple[str, str] | None = None) -> None:
        """Target ``tid`` named ``iqn`` with ``path`` as LUN 1, open to every initiator (with CHAP if given)."""
        self.tgtadm("--op", "new", "--mode", "target", "--tid", str(tid), "-T", iqn)
        self.tids.append(tid)
        self.tgtadm("--op", "new", "--mode", "logicalunit", "--tid", str(tid), "--lun", "1", "-b", path)
        self.tgtadm("--op", "bind", "--mode", "target", "--tid", str(tid), "-I", "ALL")
        if chap:
            self.tgtadm("--op", "new", "--mode", "account", "--user", chap[0], "--password", chap[1])
            self.users.append(chap[0])
            self.tgtadm("--op", "bind", "--mode", "account", "--tid", str(tid), "--user", chap[0])

    def stop(self) -> None:
        """Targets and accounts away, then tgtd (which ignores SIGTERM while it has targets); SIGKILL last."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for tid in self.tids:
            self.tgtadm("--op", "delete", "--mode", "target", "--tid", str(tid), "--force", check=False)
        for user in self.users:
            self.tgtadm("--op", "delete", "--mode", "account", "--user", user, check=False)
        self.tgtadm("--op", "delete", "--mode", "system", check=False)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for leftover in glob.glob(f"/run/tgtd/socket.{self.control_port}*"):
            os.unlink(leftover)


@pytest.fixture(scope="module")
def volume_host(host, tmp_path_factory):
    """A namespace on a veth from the host namespace, running tgtd on TARGET_IP:3260."""
    for tool in ("tgtd", "tgtadm"):
        if shutil.which(tool) is None:
            skip_or_fail(f"missing {tool} (package tgt)")
    if not glob.glob("/usr/lib/*/qemu/block-iscsi.so"):
        skip_or_fail("QEMU has no iSCSI block driver (package qemu-block-extra)")
    topo = host["topo"]
    ns = topo.ns("vol")
    topo.veth(host["net"], "vol0", ns, "tgt0")
    topo.address(host["net"], "vol0", f"{HOST_SIDE_IP}/24")
    topo.address(ns, "tgt0", f"{TARGET_IP}/24")
    tgtd = Tgtd(topo, ns, TARGET_IP, str(tmp_path_factory.mktemp("tgtd") / "tgtd.log"))
    tgtd.start()
    try:
        yield tgtd
    finally:
        tgtd.stop()


def connection_info(volume_id: int, iqn: str, chap: tuple[str, str] | None = None) -> dict:
    """What nova-volume's initialize_connection answers for a volume on the volume host."""
    return {"driver_volume_type": "iscsi",
            "data": {"target_portal": f"{TARGET_IP}:3260", "target_iqn": iqn, "target_lun": 1,
                     "volume_id": volume_id, "auth_method": "CHAP" if chap else None,
                     "auth_username": chap[0] if chap else None, "auth_password": chap[1] if chap else None}}


def volume_file(path: str, seed: bytes) -> str:
    """A raw volume: a MiB of known bytes, then zeros; returns its md5."""
    with open(path, "wb") as handle:
        handle.write(hashlib.sha256(seed).digest() * (1024 * 1024 // 32))
        handle.truncate(VOLUME_BYTES)
    with open(path, "rb") as handle:
        return hashlib.md5(handle.read()).hexdigest()


def network_disks(domain, flags: int = 0) -> dict[str, str]:
    """{target dev: iqn/lun} of the domain's iSCSI disks, live (or with VIR_DOMAIN_XML_INACTIVE, defined)."""
    return {disk.find("target").get("dev"): disk.find("source").get("name")
            for disk in ET.fromstring(domain.XMLDesc(flags)).findall("devices/disk")
            if disk.get("type") == "network"}


def wait_for_device(dev: str, present: bool = True) -> str:
    """Guest shell: wait up to 10 s for /dev/``dev`` to appear (or go)."""
    test = f"-b /dev/{dev}" if present else f"! -b /dev/{dev}"
    return f"i=0; while ! [ {test} ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done; [ {test} ]"


def secrets_of(instance_name: str) -> list[str]:
    """Usage names of the libvirt iscsi secrets the driver made for the instance."""
    return sorted(s.usageID() for s in libvirt.open(URI).listAllSecrets(0)
                  if s.usageType() == libvirt.VIR_SECRET_USAGE_TYPE_ISCSI
                  and s.usageID().startswith(f"nova-{instance_name}-"))


@pytest.mark.timeout(600)
def test_an_iscsi_volume_follows_a_real_guest(cloud, volume_host, tmp_path):
    """Hot-plug, CHAP, stop/start, detach and destroy, on one guest (rescue with volumes is unit-tested)."""
    compute, topo, net = cloud["compute"], cloud["topo"], cloud["net"]
    driver, admin = compute.driver, context.get_admin_context()
    plain, secured = str(tmp_path / "volume-0000000a"), str(tmp_path / "volume-0000000b")
    plain_md5, secured_md5 = volume_file(plain, b"plain"), volume_file(secured, b"secured")
    volume_host.export(1, PLAIN_IQN, plain)
    volume_host.export(2, CHAP_IQN, secured, chap=("vol-user", "vol-secret-1"))
    key = keypair(tmp_path)
    row, _console = boot(cloud, key, "volguest", group("volumes", 22))
    address = db.fixed_ip_get_all_by_instance(admin, row["id"])[0]["address"]

    def guest(command: str) -> str:
        return ssh(topo, net, key, address, command)

    domain = libvirt.open(URI).lookupByName(row["name"])
    started = time.monotonic()

    # attach: the running guest gets /dev/vdb with the volume's bytes, and the definition keeps it
    driver.attach_volume(row, connection_info(10, PLAIN_IQN), "/dev/vdb")
    assert network_disks(domain) == network_disks(domain, libvirt.VIR_DOMAIN_XML_INACTIVE) == {"vdb": f"{PLAIN_IQN}/1"}
    seen = guest(f"{wait_for_device('vdb')} && echo $(cat /sys/block/vdb/serial) && md5sum /dev/vdb").split()
    assert seen[:2] == ["10", plain_md5]
    with pytest.raises(exception.DeviceInUse):
        driver.attach_volume(row, connection_info(11, CHAP_IQN, ("vol-user", "vol-secret-1")), "/dev/vdb")

    # the guest makes a file system on it and writes a file
    guest("mke2fs -q /dev/vdb && mount /dev/vdb /mnt && echo written by the guest > /mnt/note && umount /mnt && sync")

    # CHAP: a wrong password fails the hot-plug and leaves nothing behind; the right one works
    with pytest.raises(exception.VolumeAttachFailed):
        driver.attach_volume(row, connection_info(11, CHAP_IQN, ("vol-user", "wrong")), "/dev/vdc")
    assert "vdc" not in network_disks(domain, libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert not secrets_of(row["name"])
    driver.attach_volume(row, connection_info(11, CHAP_IQN, ("vol-user", "vol-secret-1")), "/dev/vdc")
    assert secrets_of(row["name"]) == [f"nova-{row['name']}-vdc"]
    assert guest(f"{wait_for_device('vdc')} && md5sum /dev/vdc").split()[0] == secured_md5
    print(f"attach, mke2fs, CHAP attach: {time.monotonic() - started:.1f}s")

    # stop/start: the guest boots with both volumes
    driver.power_off(row)
    driver.power_on(row)
    wait_for(lambda: compute.get_console_output(admin, row["id"]).count("NOVA-GUEST ready") == 2,
             timeout=BOOT_TIMEOUT, interval=0.5)
    assert markers(compute.get_console_output(admin, row["id"]))["disks"] == "vda vdb vdc"
    assert guest("mount /dev/vdb /mnt && cat /mnt/note && umount /mnt") == "written by the guest"
    print(f"... stop/start: {time.monotonic() - started:.1f}s")

    # detach: the guest loses /dev/vdb, the definition forgets it, the bytes are on the volume host
    driver.detach_volume(row, connection_info(10, PLAIN_IQN), "/dev/vdb")
    assert network_disks(domain) == network_disks(domain, libvirt.VIR_DOMAIN_XML_INACTIVE) == {"vdc": f"{CHAP_IQN}/1"}
    guest(wait_for_device("vdb", present=False))
    assert subprocess.run(["debugfs", "-R", "cat /note", plain], capture_output=True,
                          text=True).stdout.strip() == "written by the guest"

    # destroy takes the CHAP secret with it
    driver.destroy(row, None, cleanup=False)
    assert not secrets_of(row["name"])
    print(f"... detach, destroy: {time.monotonic() - started:.1f}s")

