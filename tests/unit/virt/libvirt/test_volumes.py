"""Volumes on libvirt instances: iSCSI network disks hot-plugged and kept in the definition, CHAP secrets."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt
import pytest

from nova import context, exception, flags
from nova.virt import driver as virt_driver
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import imagecache
from tests.unit.virt.libvirt import fakelibvirt

FLAGS = flags.FLAGS
LIVE, CONFIG = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG
IQN = "iqn.2010-10.org.openstack:volume-0000000a"


def connection_info(volume_id=10, iqn=IQN, portal="10.0.0.1:3260", chap=None):
    user, password = chap or (None, None)
    return {"driver_volume_type": "iscsi",
            "data": {"target_portal": portal, "target_iqn": iqn, "target_lun": 1, "volume_id": volume_id,
                     "auth_method": "CHAP" if chap else None, "auth_username": user, "auth_password": password}}


class Images:
    """The image service as spawn and rescue see it."""

    def show(self, ctxt, image_id):
        return {"id": image_id, "disk_format": "raw"}


@pytest.fixture
def driver(monkeypatch, tmp_path):
    FLAGS.instances_path = str(tmp_path / "instances")
    monkeypatch.setattr(imagecache, "cached_image", lambda ctxt, images, image_id, base: f"{base}/{image_id:08x}")
    monkeypatch.setattr(libvirt_driver.LibvirtDriver, "_overlay", staticmethod(
        lambda image, base, path: open(path, "wb").close()))
    monkeypatch.setattr(libvirt_driver, "DETACH_WAIT", 0)
    driver = libvirt_driver.LibvirtDriver()
    driver._conn = fakelibvirt.Connection()
    driver.image_service = Images()
    return driver


def spawn(driver, instance_id=1):
    instance = {"id": instance_id, "name": "instance-%08x" % instance_id, "image_id": "5", "kernel_id": None,
                "ramdisk_id": None, "memory_mb": 256, "vcpus": 1}
    driver.spawn(context.get_admin_context(), instance, [])
    return instance


def disks(driver, instance, flags=0):
    """{target dev: source} of the domain's live (or, with VIR_DOMAIN_XML_INACTIVE, defined) disks."""
    xml = ET.fromstring(driver.conn.lookupByName(instance["name"]).XMLDesc(flags))
    pairs = [(d.find("target").get("dev"), d.find("source").get("name") or d.find("source").get("file"))
             for d in xml.findall("devices/disk")]
    assert len(dict(pairs)) == len(pairs), f"two disks on one target: {pairs}"
    return dict(pairs)


def saved_disks(driver, instance):
    """The disks of the instance's own definition file, libvirt.xml (what unrescue defines)."""
    xml = ET.parse(f"{driver.instance_dir(instance)}/libvirt.xml").getroot()
    return sorted(d.find("target").get("dev") for d in xml.findall("devices/disk"))


def test_a_volume_goes_into_the_running_guest_and_its_definition(driver):
    instance = spawn(driver)
    driver.attach_volume(instance, connection_info(), "/dev/vdb")
    domain = driver.conn.lookupByName(instance["name"])
    assert domain.calls == [("attach", LIVE | CONFIG)]
    assert disks(driver, instance)["vdb"] == f"{IQN}/1"
    assert disks(driver, instance, libvirt.VIR_DOMAIN_XML_INACTIVE)["vdb"] == f"{IQN}/1"
    assert saved_disks(driver, instance) == ["vda", "vdb"]
    disk = [d for d in ET.fromstring(domain.XMLDesc(0)).findall("devices/disk") if d.get("type") == "network"][0]
    assert (disk.find("source/host").get("name"), disk.find("source/host").get("port")) == ("10.0.0.1", "3260")
    assert disk.findtext("serial") == "10" and disk.find("auth") is None


def test_a_stopped_instance_gets_the_volume_when_it_starts(driver):
    instance = spawn(driver)
    driver.power_off(instance)
    driver.attach_volume(instance, connection_info(), "/dev/vdc")
    assert driver.conn.lookupByName(instance["name"]).calls == [("attach", CONFIG)]
    driver.power_on(instance)
    assert disks(driver, instance)["vdc"] == f"{IQN}/1"


def test_a_taken_device_is_device_in_use_and_changes_nothing(driver):
    instance = spawn(driver)
    driver.attach_volume(instance, connection_info(), "/dev/vdb")
    for mountpoint in ("/dev/vdb", "/dev/vda"):
        with pytest.raises(exception.DeviceInUse, match=mountpoint):
            driver.attach_volume(instance, connection_info(11, iqn="iqn.x:volume-0000000b"), mountpoint)
    assert disks(driver, instance, libvirt.VIR_DOMAIN_XML_INACTIVE) == {
        "vda": f"{driver.instance_dir(instance)}/disk", "vdb": f"{IQN}/1"}


def test_detach_removes_the_disk_everywhere_and_a_missing_one_is_fine(driver):
    instance = spawn(driver)
    driver.attach_volume(instance, connection_info(), "/dev/vdb")
    driver.detach_volume(instance, connection_info(), "/dev/vdb")
    domain = driver.conn.lookupByName(instance["name"])
    assert domain.calls[-1] == ("detach", LIVE | CONFIG)
    assert "vdb" not in disks(driver, instance)
    assert "vdb" not in disks(driver, instance, libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert saved_disks(driver, instance) == ["vda"]
    driver.detach_volume(instance, None, "/dev/vdb")
    assert len(domain.calls) == 2


def test_chap_goes_through_a_libvirt_secret_that_detach_removes(driver):
    instance = spawn(driver)
    driver.attach_volume(instance, connection_info(chap=("vol-user", "s3cret")), "/dev/vdb")
    usage = f"nova-{instance['name']}-vdb"
    assert driver.conn.secret_values() == {usage: b"s3cret"}
    assert driver.conn.secrets[0].private
    auth = ET.fromstring(driver.conn.lookupByName(instance["name"]).XMLDesc(0)).find("devices/disk/auth")
    assert auth.get("username") == "vol-user"
    assert (auth.find("secret").get("type"), auth.find("secret").get("usage")) == ("iscsi", usage)
    with open(f"{driver.instance_dir(instance)}/libvirt.xml") as saved:
        assert "s3cret" not in saved.read()
    driver.detach_volume(instance, None, "/dev/vdb")
    assert driver.conn.secret_values() == {}


def test_a_failed_hot_plug_leaves_no_disk_and_no_secret(driver):
    instance = spawn(driver)
    driver.conn.reachable = set()  # the volume host does not answer
    with pytest.raises(exception.VolumeAttachFailed, match="Failed to connect"):
        driver.attach_volume(instance, connection_info(chap=("u", "p")), "/dev/vdb")
    assert "vdb" not in disks(driver, instance, libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert driver.conn.secret_values() == {} and saved_disks(driver, instance) == ["vda"]


def test_only_iscsi_volumes_are_attached(driver):
    instance = spawn(driver)
    with pytest.raises(exception.VolumeAttachFailed, match="'rbd'"):
        driver.attach_volume(instance, {"driver_volume_type": "rbd", "data": {}}, "/dev/vdb")


def test_destroy_removes_the_secrets_of_its_instance_only(driver):
    first, second = spawn(driver, 1), spawn(driver, 2)
    driver.attach_volume(first, connection_info(chap=("u", "p1")), "/dev/vdb")
    driver.attach_volume(first, connection_info(11, iqn="iqn.x:volume-0000000b", chap=("u", "p2")), "/dev/vdc")
    driver.attach_volume(second, connection_info(12, iqn="iqn.x:volume-0000000c", chap=("u", "p3")), "/dev/vdb")
    driver.destroy(first)
    assert driver.conn.secret_values() == {f"nova-{second['name']}-vdb": b"p3"}
    assert driver.list_instances() == [second["name"]]


def test_rescue_leaves_volumes_out_and_unrescue_brings_them_back(driver):
    instance = spawn(driver)
    driver.attach_volume(instance, connection_info(chap=("u", "p")), "/dev/vdb")
    driver.rescue(context.get_admin_context(), instance, [])
    own = f"{driver.instance_dir(instance)}/disk"
    assert disks(driver, instance) == {"vda": own + ".rescue", "vdb": own}
    with pytest.raises(exception.VolumeAttachFailed, match="rescue"):
        driver.attach_volume(instance, connection_info(11, iqn="iqn.x:volume-0000000b"), "/dev/vdc")
    driver.unrescue(instance, [])
    assert disks(driver, instance) == {"vda": own, "vdb": f"{IQN}/1"}
    assert saved_disks(driver, instance) == ["vda", "vdb"]


def test_a_volume_detached_during_rescue_stays_gone_after_unrescue(driver):
    instance = spawn(driver)
    driver.attach_volume(instance, connection_info(chap=("u", "p")), "/dev/vdb")
    driver.rescue(context.get_admin_context(), instance, [])
    driver.detach_volume(instance, None, "/dev/vdb")
    assert driver.conn.secret_values() == {}
    driver.unrescue(instance, [])
    assert disks(driver, instance) == {"vda": f"{driver.instance_dir(instance)}/disk"}


def test_a_driver_without_volumes_says_so():
    with pytest.raises(exception.UnsupportedOperation, match="cannot attach volumes"):
        virt_driver.ComputeDriver().attach_volume({"name": "i"}, connection_info(), "/dev/vdb")
    with pytest.raises(exception.UnsupportedOperation, match="cannot detach volumes"):
        virt_driver.ComputeDriver().detach_volume({"name": "i"}, None, "/dev/vdb")


def test_detach_removes_a_disk_only_the_definition_has(driver):
    instance = spawn(driver)
    driver.power_off(instance)
    driver.attach_volume(instance, connection_info(), "/dev/vdb")  # for the next start only
    driver.power_on(instance)
    domain = driver.conn.lookupByName(instance["name"])
    domain.live.find("devices").remove(domain.live.findall("devices/disk")[1])  # the guest came up without it
    driver.detach_volume(instance, None, "/dev/vdb")
    assert domain.calls[-1] == ("detach", CONFIG)
    assert "vdb" not in disks(driver, instance, libvirt.VIR_DOMAIN_XML_INACTIVE)
