"""Instances that boot from volumes: the root volume is vda (no overlay, no image fetched), boot volumes are in the
definition from the start, rescue and snapshot refuse, destroy leaves the volumes alone.

Definitions go to libvirt's own ``test:///default`` driver, which parses and keeps them as libvirt does; CHAP needs
secrets, which that driver cannot keep, so those tests use the in-memory stand-in of the volume tests.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import libvirt
import pytest

from nova import context, exception, flags
from nova.compute import states
from nova.virt.libvirt import driver as libvirt_driver
from tests.unit.virt.libvirt import fakelibvirt
from tests.unit.virt.libvirt.test_volumes import IQN, connection_info

FLAGS = flags.FLAGS
ROOT_IQN = "iqn.2010-10.org.openstack:volume-00000014"


class RecordingImages:
    """The image service as spawn sees it, noting every image it is asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def show(self, ctxt, image_id):
        self.calls.append(("show", int(image_id)))
        return {"id": int(image_id), "disk_format": "raw"}

    def download(self, ctxt, image_id, path):
        self.calls.append(("download", int(image_id)))
        with open(path, "wb") as handle:
            handle.write(b"image %d" % image_id)

    def store(self, ctxt, image_id, source):
        self.calls.append(("store", int(image_id)))


@pytest.fixture
def commands(monkeypatch):
    """Every command the driver runs (qemu-img for an overlay, or anything touching a volume)."""
    ran: list[tuple[str, ...]] = []

    def execute(*cmd, **kwargs):
        ran.append(cmd)
        if cmd[:2] == ("qemu-img", "create"):
            open(cmd[-1], "wb").close()
        return "", ""

    monkeypatch.setattr(libvirt_driver.utils, "execute", execute)
    return ran


def _remove_test_domains():
    conn = libvirt.open("test:///default")
    for domain in conn.listAllDomains(0):
        if domain.name().startswith("instance-"):
            if domain.isActive():
                domain.destroy()
            domain.undefine()


@pytest.fixture
def driver(tmp_path, commands):
    FLAGS.instances_path = str(tmp_path / "instances")
    FLAGS.libvirt_uri = "test:///default"
    FLAGS.libvirt_shutdown_timeout = 1
    _remove_test_domains()
    driver = libvirt_driver.LibvirtDriver()
    driver.image_service = RecordingImages()
    yield driver
    _remove_test_domains()


@pytest.fixture
def chap_driver(driver):
    """The driver on the in-memory connection that keeps secrets."""
    driver._conn = fakelibvirt.Connection()
    return driver


def make_instance(instance_id=1, kernel_id=None, ramdisk_id=None, image_id=None):
    return {"id": instance_id, "name": "instance-%08x" % instance_id, "image_id": image_id,
            "kernel_id": kernel_id, "ramdisk_id": ramdisk_id, "memory_mb": 256, "vcpus": 1}


def root_info(chap=None):
    return connection_info(20, iqn=ROOT_IQN, portal="10.0.0.2:3261", chap=chap)


def spawn(driver, instance, root=None, volumes=()):
    bdi = {"root": root, "volumes": [{"mountpoint": mp, "connection_info": info} for mp, info in volumes]}
    driver.spawn(context.get_admin_context(), instance, [], bdi)
    return instance


def definition(driver, instance, flags=libvirt.VIR_DOMAIN_XML_INACTIVE):
    return ET.fromstring(driver.conn.lookupByName(instance["name"]).XMLDesc(flags))


def disks(xml: ET.Element) -> dict[str, ET.Element]:
    return {disk.find("target").get("dev"): disk for disk in xml.findall("devices/disk")}


def saved(driver, instance) -> ET.Element:
    return ET.parse(os.path.join(driver.instance_dir(instance), "libvirt.xml")).getroot()


def test_the_root_volume_is_vda_and_the_image_is_neither_fetched_nor_copied(driver, commands):
    instance = spawn(driver, make_instance(kernel_id=7, ramdisk_id=8, image_id="5"), root=root_info())
    root = disks(definition(driver, instance))["vda"]
    assert root.get("type") == "network"
    assert root.find("source").get("protocol") == "iscsi" and root.find("source").get("name") == f"{ROOT_IQN}/1"
    host = root.find("source/host")
    assert (host.get("name"), host.get("port")) == ("10.0.0.2", "3261")
    assert root.findtext("serial") == "20" and root.find("auth") is None
    assert root.find("target").get("bus") == "virtio"
    assert driver.image_service.calls == [("download", 7), ("download", 8)], "only the kernel and ramdisk"
    assert commands == [], "no overlay"
    assert sorted(os.listdir(driver.instance_dir(instance))) == ["console.log", "libvirt.xml"]
    base = driver.base_dir()
    os_element = definition(driver, instance).find("os")
    assert (os_element.findtext("kernel"), os_element.findtext("initrd")) == (f"{base}/00000007", f"{base}/00000008")
    assert "root=/dev/vda" in os_element.findtext("cmdline")
    assert driver.get_info(instance["name"])["state"] == states.RUNNING


def test_without_a_kernel_the_root_volume_boots(driver):
    instance = spawn(driver, make_instance(), root=root_info())
    xml = definition(driver, instance)
    assert xml.find("os/kernel") is None and xml.find("os/boot").get("dev") == "hd"
    assert list(disks(xml)) == ["vda"] and driver.image_service.calls == []


def test_boot_volumes_are_defined_and_kept_through_stop_start_and_reboot(driver):
    instance = spawn(driver, make_instance(), root=root_info(),
                     volumes=[("/dev/vdc", connection_info(11, iqn="iqn.x:volume-0000000b")),
                              ("/dev/vdb", connection_info())])
    expected = {"vda": f"{ROOT_IQN}/1", "vdb": f"{IQN}/1", "vdc": "iqn.x:volume-0000000b/1"}
    driver.power_off(instance)
    assert driver.get_info(instance["name"])["state"] == states.SHUTOFF
    driver.power_on(instance)
    driver.reboot(instance, [])
    live = disks(definition(driver, instance, 0))
    assert {dev: disk.find("source").get("name") for dev, disk in live.items()} == expected
    assert {dev: disk.findtext("serial") for dev, disk in live.items()} == {"vda": "20", "vdb": "10", "vdc": "11"}
    assert sorted(disks(saved(driver, instance))) == ["vda", "vdb", "vdc"], "libvirt.xml holds them for unrescue"
    assert driver.get_info(instance["name"])["state"] == states.RUNNING


def test_an_image_backed_instance_gets_its_boot_volumes_after_its_own_disk(driver, commands):
    instance = spawn(driver, make_instance(image_id="5"), volumes=[("/dev/vdb", connection_info())])
    xml = disks(definition(driver, instance))
    assert xml["vda"].find("source").get("file") == f"{driver.instance_dir(instance)}/disk"
    assert xml["vdb"].find("source").get("name") == f"{IQN}/1"
    assert driver.image_service.calls == [("show", 5), ("download", 5)]
    assert [cmd[:2] for cmd in commands] == [("qemu-img", "create")]


@pytest.mark.parametrize("root,volumes,error", [
    (root_info(), [("/dev/vda", connection_info())], exception.DeviceInUse),
    (None, [("/dev/vda", connection_info())], exception.DeviceInUse),
    (root_info(), [("/dev/vdb", connection_info()), ("/dev/vdb/", connection_info(11))], exception.DeviceInUse),
    ({"driver_volume_type": "rbd", "data": {}}, [], exception.VolumeAttachFailed),
])
def test_a_bad_block_device_list_defines_and_fetches_nothing(driver, commands, root, volumes, error):
    instance = make_instance(image_id="5")
    with pytest.raises(error):
        spawn(driver, instance, root=root, volumes=volumes)
    assert instance["name"] not in driver.list_instances()
    assert driver.image_service.calls == [] and commands == []


def test_rescue_and_snapshot_refuse_a_volume_backed_instance_and_leave_it_running(driver):
    instance = spawn(driver, make_instance(), root=root_info())
    with pytest.raises(exception.UnsupportedOperation, match="rescue of a volume-backed instance"):
        driver.rescue(context.get_admin_context(), instance, [])
    with pytest.raises(exception.UnsupportedOperation, match="snapshot of a volume-backed instance"):
        driver.snapshot(context.get_admin_context(), instance, 9)
    assert driver.image_service.calls == []
    assert driver.get_info(instance["name"])["state"] == states.RUNNING
    assert not os.path.exists(f"{driver.instance_dir(instance)}/disk.rescue")


def test_the_root_device_of_a_volume_backed_instance_is_taken(driver):
    instance = spawn(driver, make_instance(), root=root_info())
    with pytest.raises(exception.DeviceInUse, match="/dev/vda"):
        driver.attach_volume(instance, connection_info(), "/dev/vda")


def test_chap_volumes_log_in_through_secrets_that_destroy_removes(chap_driver, commands):
    driver = chap_driver
    instance = spawn(driver, make_instance(), root=root_info(chap=("root-user", "r00t")),
                     volumes=[("/dev/vdb", connection_info(chap=("vol-user", "s3cret")))])
    name = instance["name"]
    assert driver.conn.secret_values() == {f"nova-{name}-vda": b"r00t", f"nova-{name}-vdb": b"s3cret"}
    for dev, user in (("vda", "root-user"), ("vdb", "vol-user")):
        auth = disks(definition(driver, instance, 0))[dev].find("auth")
        assert auth.get("username") == user
        assert (auth.find("secret").get("type"), auth.find("secret").get("usage")) == ("iscsi", f"nova-{name}-{dev}")
    with open(f"{driver.instance_dir(instance)}/libvirt.xml") as handle:
        text = handle.read()
    assert "r00t" not in text and "s3cret" not in text and "root-user" in text
    driver.power_off(instance)
    driver.power_on(instance)  # the stand-in, like QEMU, opens every disk's secret at start
    assert driver.get_info(name)["state"] == states.RUNNING
    driver.destroy(instance)
    assert driver.conn.secret_values() == {} and driver.list_instances() == []
    assert not os.path.exists(driver.instance_dir(instance))
    assert commands == [], "destroy runs nothing that could touch a volume"


def test_a_failed_definition_leaves_no_secret_behind(chap_driver, monkeypatch):
    driver = chap_driver

    def refuse(xml):
        raise fakelibvirt.error(libvirt.VIR_ERR_XML_ERROR, "unsupported configuration")

    monkeypatch.setattr(driver.conn, "defineXML", refuse)
    with pytest.raises(libvirt.libvirtError):
        spawn(driver, make_instance(), root=root_info(chap=("u", "p")))
    assert driver.conn.secret_values() == {}
