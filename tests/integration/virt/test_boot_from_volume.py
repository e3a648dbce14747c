"""A real QEMU guest (TCG) booting from an iSCSI root volume through the libvirt driver.

A tgtd of the test's own, in the namespace of the libvirtd the test starts,
exports a copy of the test guest's disk (tools/build-guest-image's
``root.img``) as the root volume, with CHAP, and a small second volume.  The
guest boots the cached kernel and initramfs and its init mounts ``/dev/vda``:
the iSCSI LUN, not a file of the instance.  Its init also makes the root
directory of that disk mode 0700, which shows in the LUN's file once the
guest has unmounted it (ACPI power-off): the guest wrote through iSCSI; and it
stays after destroy, which leaves the volumes' data alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from nova import context, exception, flags, utils
from nova.virt.libvirt import driver as libvirt_driver
from nova.volume import tgt
from tests.fixtures.guest import guest_image
from tests.fixtures.libvirtd import URI, Libvirtd, require_qemu, skip_or_fail
from tests.fixtures.rpc import wait_for
from tests.integration.network.netns import Topology
from tests.integration.volume.tgtd import Tgtd

FLAGS = flags.FLAGS
PORTAL_IP = "10.81.0.1"
ROOT_IQN = "iqn.2010-10.org.openstack:volume-00000001"
DATA_IQN = "iqn.2010-10.org.openstack:volume-00000002"
CHAP = ("bfv-user", "bfv-secret-0123")
BOOT_TIMEOUT = 60


class CachedFiles:
    """The image service as spawn sees it: kernel and ramdisk ids mapped to the guest's files."""

    def __init__(self, files: dict[int, str]) -> None:
        self.files = files
        self.fetched: list[int] = []

    def show(self, ctxt, image_id):
        raise AssertionError(f"a volume-backed spawn asked for image {image_id}")

    def download(self, ctxt, image_id, path):
        self.fetched.append(int(image_id))
        shutil.copyfile(self.files[int(image_id)], path)


@pytest.fixture
def host(tmp_path):
    """libvirtd and a tgtd in one namespace; a driver on qemu:///system; the LUN files."""
    require_qemu()
    for tool in ("tgtd", "tgtadm"):
        if shutil.which(tool) is None:
            skip_or_fail(f"missing {tool} (.ci/run installs tgt)")
    try:
        image = guest_image()
    except RuntimeError as exc:
        skip_or_fail(str(exc).splitlines()[-1])
    topo = Topology()
    shared = tempfile.mkdtemp(prefix="nova-bfv-")
    os.chmod(shared, 0o755)  # QEMU reads the cached kernel as its own user
    daemon = tgtd = None
    try:
        net = topo.ns("b")
        topo.veth(net, "san0", net, "san0p")
        topo.address(net, "san0", f"{PORTAL_IP}/24")
        daemon = Libvirtd(net, shared)
        daemon.start()
        tgtd = Tgtd(net, PORTAL_IP, os.path.join(shared, "tgtd.log"))
        tgtd.start()
        for name, value in {"tgtadm_control_port": tgtd.control_port, "root_helper": "", "libvirt_type": "qemu",
                            "libvirt_uri": URI, "instances_path": os.path.join(shared, "instances"),
                            "libvirt_kernel_cmdline": "console=ttyS0 quiet", "libvirt_shutdown_timeout": 20,
                            "libvirt_boot_timeout": BOOT_TIMEOUT}.items():
            setattr(FLAGS, name, value)
        root_lun, data_lun = str(tmp_path / "root.lun"), str(tmp_path / "data.lun")
        shutil.copyfile(image["disk"], root_lun)
        with open(data_lun, "wb") as handle:
            handle.truncate(4 * 1024 * 1024)
        targets = tgt.TgtAdm(utils.execute)
        targets.ensure(1, ROOT_IQN, root_lun, CHAP)
        targets.ensure(2, DATA_IQN, data_lun)
        driver = libvirt_driver.LibvirtDriver()
        driver.image_service = CachedFiles({7: image["kernel"], 8: image["ramdisk"]})
        driver.init_host("host-a")
        yield {"driver": driver, "root_lun": root_lun, "net": net}
    finally:
        if daemon is not None:
            daemon.stop()  # destroys and undefines leftover instance domains first
        if tgtd is not None:
            tgtd.stop()
        topo.cleanup()
        shutil.rmtree(shared, ignore_errors=True)


def iscsi(iqn: str, volume_id: int, chap: tuple[str, str] | None = None) -> dict:
    user, password = chap or (None, None)
    return {"driver_volume_type": "iscsi",
            "data": {"target_portal": f"{PORTAL_IP}:3260", "target_iqn": iqn, "target_lun": 1,
                     "volume_id": volume_id, "auth_method": "CHAP" if chap else None,
                     "auth_username": user, "auth_password": password}}


def root_mode(path: str) -> str:
    out = subprocess.run(["debugfs", "-R", "stat /", path], capture_output=True, text=True, check=True).stdout
    return re.search(r"Mode:\s+(\d+)", out).group(1)


@pytest.mark.timeout(300)
def test_a_guest_boots_from_its_iscsi_root_volume_and_destroy_keeps_the_data(host):
    driver = host["driver"]
    assert root_mode(host["root_lun"]) == "0755"
    instance = {"id": 1, "name": "instance-00000001", "image_id": None, "kernel_id": "7", "ramdisk_id": "8",
                "memory_mb": 256, "vcpus": 1}
    started = time.monotonic()
    driver.spawn(context.get_admin_context(), instance, [],
                 {"root": iscsi(ROOT_IQN, 1, CHAP),
                  "volumes": [{"mountpoint": "/dev/vdb", "connection_info": iscsi(DATA_IQN, 2)}]})
    directory = driver.instance_dir(instance)
    assert sorted(os.listdir(directory)) == ["console.log", "libvirt.xml"], "no local disk"
    assert driver.image_service.fetched == [7, 8]

    def booted(marker: str, count: int) -> str | bool:
        console = driver.get_console_output(instance)
        return console.count(f"NOVA-GUEST {marker}") >= count and console

    console = wait_for(lambda: booted("ready", 1), timeout=BOOT_TIMEOUT, interval=0.5)
    print(f"spawn -> guest ready: {time.monotonic() - started:.1f}s")
    assert "NOVA-GUEST root-disk=/dev/vda" in console, console
    assert "NOVA-GUEST disks=vda vdb" in console, console

    driver.power_off(instance)  # the ACPI button: the guest unmounts its root and powers off
    assert "NOVA-GUEST acpi-power-button" in driver.get_console_output(instance)
    assert root_mode(host["root_lun"]) == "0700", "the guest's chmod of its root reached the volume"
    driver.power_on(instance)  # the persistent definition still holds both network disks and the CHAP secret
    console = wait_for(lambda: booted("disks=", 2), timeout=BOOT_TIMEOUT, interval=0.5)
    assert console.count("NOVA-GUEST root-disk=/dev/vda") == 2, console
    print(f"spawn -> second boot: {time.monotonic() - started:.1f}s")

    with pytest.raises(exception.UnsupportedOperation, match="rescue of a volume-backed instance"):
        driver.rescue(context.get_admin_context(), instance, [])

    driver.destroy(instance)
    assert instance["name"] not in driver.list_instances() and not os.path.exists(directory)
    usages = [s.usageID() for s in driver.conn.listAllSecrets(0)]
    assert not [u for u in usages if u.startswith(f"nova-{instance['name']}-")]
    assert os.path.getsize(host["root_lun"]) == 64 * 1024 * 1024
    assert root_mode(host["root_lun"]) == "0700", "destroy left the volume's data alone"
