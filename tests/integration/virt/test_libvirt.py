"""The libvirt driver against test:///default, with real qemu-img, files and image cache."""

import hashlib
import json
import os
import subprocess
import xml.etree.ElementTree as ET

import libvirt
import pytest

from nova import context, flags
from nova.compute import manager as compute_manager
from nova.compute import states
from nova.db import api as db
from nova.image import get_default_image_service
from nova.virt.libvirt import driver as libvirt_driver
from tests.unit.compute.fakes import make_image, user_context
from tests.unit.compute.test_manager import NIC, FakeNetworkAPI

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()
IMAGE_BYTES = os.urandom(256 * 1024)


@pytest.fixture
def compute(sqlite_db):
    FLAGS.connection_type = "libvirt"
    FLAGS.libvirt_uri = "test:///default"
    manager = compute_manager.ComputeManager(host="host-a")
    manager.network_api = FakeNetworkAPI()
    manager.init_host()
    yield manager
    conn = libvirt.open("test:///default")
    for domain in conn.listAllDomains(0):
        if domain.name().startswith("instance-"):
            if domain.isActive():
                domain.destroy()
            domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)


def launch(compute, ctxt, image, **values):
    row = db.instance_create(ctxt, dict({"image_id": str(image["id"]), "vm_state": states.BUILDING,
                                         "task_state": states.SCHEDULING, "memory_mb": 512, "vcpus": 1,
                                         "local_gb": 0, "host": "host-a"}, **values))
    compute.run_instance(ctxt, row["id"])
    return db.instance_get(ctxt, row["id"])


def qemu_img_info(path):
    out = subprocess.run(["qemu-img", "info", "--output=json", path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_spawn_defines_a_running_domain_on_an_overlay_of_the_cached_image(compute, tmp_path):
    ctxt = user_context()
    image = make_image(ctxt, data=IMAGE_BYTES)
    instance = launch(compute, ctxt, image)
    assert (instance["vm_state"], instance["power_state"]) == (states.ACTIVE, states.RUNNING), instance["fault"]
    directory = tmp_path / "instances" / instance["name"]
    base = tmp_path / "instances" / "_base" / ("%08x" % image["id"])
    assert hashlib.md5(base.read_bytes()).hexdigest() == image["checksum"]
    info = qemu_img_info(str(directory / "disk"))
    assert info["format"] == "qcow2"
    assert info["backing-filename"] == str(base) and info.get("backing-filename-format") == "raw"

    domain = libvirt.open("test:///default").lookupByName(instance["name"])
    assert domain.isActive()
    xml = ET.fromstring(domain.XMLDesc(0))
    assert xml.get("type") == "test"
    assert xml.find("memory").text == str(512 * 1024) and xml.find("vcpu").text == "1"
    assert xml.find("devices/disk/source").get("file") == str(directory / "disk")
    assert xml.find("devices/disk/target").get("dev") == "vda"
    nic = xml.find("devices/interface")
    assert nic.get("type") == "bridge" and nic.find("source").get("bridge") == NIC["bridge"]
    assert nic.find("mac").get("address") == NIC["mac_address"]
    assert xml.find("devices/serial/source").get("path") == str(directory / "console.log")
    assert ET.parse(directory / "libvirt.xml").getroot().findtext("name") == instance["name"]


def test_the_cache_holds_each_image_once(compute, tmp_path):
    ctxt = user_context()
    image = make_image(ctxt, data=IMAGE_BYTES)
    first, second = launch(compute, ctxt, image), launch(compute, ctxt, image)
    assert first["vm_state"] == second["vm_state"] == states.ACTIVE
    assert [n for n in os.listdir(tmp_path / "instances" / "_base") if not n.endswith(".lock")] == [
        "%08x" % image["id"]]


def test_kernel_and_ramdisk_boot_directly(compute, tmp_path):
    ctxt = user_context()
    kernel = make_image(ctxt, data=b"kernel", type="kernel")
    ramdisk = make_image(ctxt, data=b"ramdisk", type="ramdisk")
    image = make_image(ctxt, data=IMAGE_BYTES)
    instance = launch(compute, ctxt, image, kernel_id=str(kernel["id"]), ramdisk_id=str(ramdisk["id"]))
    os_xml = ET.fromstring(libvirt.open("test:///default").lookupByName(instance["name"]).XMLDesc(0)).find("os")
    base = tmp_path / "instances" / "_base"
    assert os_xml.findtext("kernel") == str(base / ("%08x" % kernel["id"]))
    assert os_xml.findtext("initrd") == str(base / ("%08x" % ramdisk["id"]))
    assert "console=ttyS0" in os_xml.findtext("cmdline")
    assert (base / ("%08x" % kernel["id"])).read_bytes() == b"kernel"


def test_power_operations_and_console(compute, tmp_path):
    ctxt = user_context()
    instance = launch(compute, ctxt, make_image(ctxt, data=IMAGE_BYTES))
    domain = libvirt.open("test:///default").lookupByName(instance["name"])
    (tmp_path / "instances" / instance["name"] / "console.log").write_text("login: \n")
    assert compute.get_console_output(ctxt, instance["id"]) == "login: \n"
    steps = [("stop_instance", states.STOPPED, libvirt.VIR_DOMAIN_SHUTOFF),
             ("start_instance", states.ACTIVE, libvirt.VIR_DOMAIN_RUNNING),
             ("pause_instance", states.PAUSED, libvirt.VIR_DOMAIN_PAUSED),
             ("unpause_instance", states.ACTIVE, libvirt.VIR_DOMAIN_RUNNING),
             ("suspend_instance", states.SUSPENDED, libvirt.VIR_DOMAIN_SHUTOFF),
             ("resume_instance", states.ACTIVE, libvirt.VIR_DOMAIN_RUNNING),
             ("reboot_instance", states.ACTIVE, libvirt.VIR_DOMAIN_RUNNING)]
    for method, vm_state, libvirt_state in steps:
        getattr(compute, method)(ctxt, instance["id"])
        row = db.instance_get(ctxt, instance["id"])
        assert (method, row["vm_state"], row["task_state"]) == (method, vm_state, None), row["fault"]
        assert domain.info()[0] == libvirt_state, method


def test_snapshot_flattens_the_disk_into_an_image(compute):
    ctxt = user_context()
    instance = launch(compute, ctxt, make_image(ctxt, data=IMAGE_BYTES))
    images = get_default_image_service()
    snap = images.create(ctxt, {"name": "snap", "state": "saving"})
    compute.snapshot_instance(ctxt, instance["id"], snap["id"])
    stored = images.show(ctxt, snap["id"])
    assert stored["state"] == "available"
    with open(stored["location"], "rb") as handle:
        assert handle.read() == IMAGE_BYTES


def test_terminate_undefines_the_domain_and_removes_its_files(compute, tmp_path):
    ctxt = user_context()
    instance = launch(compute, ctxt, make_image(ctxt, data=IMAGE_BYTES))
    compute.terminate_instance(ctxt, instance["id"])
    assert instance["name"] not in compute.driver.list_instances()
    assert not (tmp_path / "instances" / instance["name"]).exists()
    assert (tmp_path / "instances" / "_base").exists()  # the cache stays


def test_a_spawn_failure_leaves_error_and_no_domain(compute, tmp_path):
    ctxt = user_context()
    image = make_image(ctxt, data=IMAGE_BYTES)
    os.unlink(image["location"])  # the image file vanished from the store
    instance = launch(compute, ctxt, image)
    assert instance["vm_state"] == states.ERROR and "spawn failed" in instance["fault"]
    assert instance["name"] not in compute.driver.list_instances()


def test_init_host_reports_domains_the_database_does_not_know(compute):
    assert "test" in compute.unknown_domains  # the test driver's own domain: reported, left alone
    assert "test" in compute.driver.list_instances()


def test_rescue_boots_a_fresh_disk_with_the_instance_disk_second(compute, tmp_path):
    ctxt = user_context()
    instance = launch(compute, ctxt, make_image(ctxt, data=IMAGE_BYTES))
    directory = tmp_path / "instances" / instance["name"]
    compute.rescue_instance(ctxt, instance["id"])
    assert db.instance_get(ctxt, instance["id"])["vm_state"] == states.RESCUED
    domain = libvirt.open("test:///default").lookupByName(instance["name"])
    assert domain.isActive()
    disks = [(d.find("target").get("dev"), d.find("source").get("file"))
             for d in ET.fromstring(domain.XMLDesc(0)).findall("devices/disk")]
    assert disks == [("vda", str(directory / "disk.rescue")), ("vdb", str(directory / "disk"))]
    assert qemu_img_info(str(directory / "disk.rescue"))["backing-filename"].endswith("%08x" % int(instance["image_id"]))

    compute.unrescue_instance(ctxt, instance["id"])
    assert db.instance_get(ctxt, instance["id"])["vm_state"] == states.ACTIVE
    disks = [d.find("source").get("file") for d in ET.fromstring(domain.XMLDesc(0)).findall("devices/disk")]
    assert disks == [str(directory / "disk")] and not (directory / "disk.rescue").exists()
