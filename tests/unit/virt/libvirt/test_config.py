"""Domain XML for real guests: direct kernel boot, ACPI, an appended serial console, rescue."""

import xml.etree.ElementTree as ET

from nova.virt.libvirt import config

NIC = {"address": "10.0.0.3", "mac_address": "02:16:3e:00:00:03", "bridge": "br100"}


def _xml(**overrides):
    values = dict(domain_type="qemu", name="instance-00000001", uuid=None, memory_mb=256, vcpus=1,
                  disk_path="/i/disk", disk_format="qcow2", console_path="/i/console.log", network_info=[NIC],
                  kernel_path="/b/k", ramdisk_path="/b/r", cmdline="console=ttyS0 quiet")
    values.update(overrides)
    return ET.fromstring(config.domain_xml(**values))


def test_a_kernel_boots_directly_with_acpi_and_a_console_that_survives_restarts():
    domain = _xml()
    assert domain.get("type") == "qemu"
    assert [domain.findtext(f"os/{tag}") for tag in ("kernel", "initrd", "cmdline")] == [
        "/b/k", "/b/r", "console=ttyS0 quiet"]
    assert domain.find("features/acpi") is not None, "without ACPI the guest cannot power off or be hot-plugged"
    serial = domain.find("devices/serial/source")
    assert (serial.get("path"), serial.get("append")) == ("/i/console.log", "on")
    nic = domain.find("devices/interface")
    assert nic.find("mac").get("address") == NIC["mac_address"] and nic.find("source").get("bridge") == "br100"
    assert nic.find("rom").get("enabled") == "no", "no iPXE ROM when the kernel boots directly"
    assert domain.find("devices/memballoon").get("model") == "none"


def test_without_a_kernel_the_disk_boots_and_the_nic_keeps_its_rom():
    domain = _xml(kernel_path=None, ramdisk_path=None)
    assert domain.find("os/kernel") is None and domain.find("os/boot").get("dev") == "hd"
    assert domain.find("devices/interface/rom") is None


def test_rescue_puts_a_fresh_disk_first_and_the_instance_disk_second():
    rescued = ET.fromstring(config.rescue_xml(config.domain_xml(
        domain_type="qemu", name="i", uuid=None, memory_mb=256, vcpus=1, disk_path="/i/disk", disk_format="qcow2",
        console_path="/i/console.log", network_info=[NIC]), "/i/disk.rescue"))
    disks = [(d.find("target").get("dev"), d.find("source").get("file")) for d in rescued.findall("devices/disk")]
    assert disks == [("vda", "/i/disk.rescue"), ("vdb", "/i/disk")]
    assert len(rescued.findall("devices/interface")) == 1


def test_a_volume_is_an_iscsi_network_disk_qemu_opens_itself():
    disk = ET.fromstring(config.iscsi_disk_xml(
        portal="10.0.0.1:3260", iqn="iqn.2010-10.org.openstack:volume-0000000a", lun=1, target_dev="vdb", serial="10"))
    assert (disk.get("type"), disk.get("device")) == ("network", "disk")
    assert disk.find("driver").attrib == {"name": "qemu", "type": "raw", "cache": "none"}
    source = disk.find("source")
    assert (source.get("protocol"), source.get("name")) == ("iscsi", "iqn.2010-10.org.openstack:volume-0000000a/1")
    assert source.find("host").attrib == {"name": "10.0.0.1", "port": "3260"}
    assert disk.find("target").attrib == {"dev": "vdb", "bus": "virtio"}
    assert disk.findtext("serial") == "10" and disk.find("auth") is None


def test_chap_names_the_libvirt_secret_by_usage():
    disk = ET.fromstring(config.iscsi_disk_xml(portal="[fd00::1]:3261", iqn="iqn.x:v", lun=2, target_dev="vdc",
                                               auth_username="alice", secret_usage="nova-instance-00000001-vdc"))
    assert disk.find("source").get("name") == "iqn.x:v/2"
    assert disk.find("source/host").attrib == {"name": "fd00::1", "port": "3261"}
    assert disk.find("auth").get("username") == "alice"
    assert disk.find("auth/secret").attrib == {"type": "iscsi", "usage": "nova-instance-00000001-vdc"}
    secret = ET.fromstring(config.iscsi_secret_xml("nova-instance-00000001-vdc", "CHAP password"))
    assert (secret.get("private"), secret.get("ephemeral")) == ("yes", "no")
    usage = secret.find("usage")
    assert (usage.get("type"), usage.findtext("target")) == ("iscsi", "nova-instance-00000001-vdc")


def test_libvirt_reads_the_volume_disk_back_as_written():
    import libvirt

    libvirt.registerErrorHandler(lambda *args: None, None)
    domain = ET.fromstring(config.domain_xml(
        domain_type="test", name="volume-xml-check", uuid=None, memory_mb=64, vcpus=1, disk_path="/i/disk",
        disk_format="qcow2", console_path="/i/console.log", network_info=[]))
    domain.find("devices").append(ET.fromstring(config.iscsi_disk_xml(
        portal="10.0.0.1:3260", iqn="iqn.x:v", lun=1, target_dev="vdb", serial="7", auth_username="u",
        secret_usage="nova-volume-xml-check-vdb")))
    conn = libvirt.open("test:///default")
    defined = conn.defineXML(ET.tostring(domain, encoding="unicode"))
    try:
        disk = ET.fromstring(defined.XMLDesc(0)).findall("devices/disk")[1]
    finally:
        defined.undefine()
    assert disk.find("source").get("name") == "iqn.x:v/1" and disk.find("source/host").get("port") == "3260"
    assert disk.find("auth/secret").get("usage") == "nova-volume-xml-check-vdb"
    assert (disk.find("target").get("dev"), disk.findtext("serial")) == ("vdb", "7")


def test_rescue_leaves_attached_volumes_out():
    domain = ET.fromstring(config.domain_xml(
        domain_type="qemu", name="i", uuid=None, memory_mb=256, vcpus=1, disk_path="/i/disk", disk_format="qcow2",
        console_path="/i/console.log", network_info=[NIC]))
    domain.find("devices").append(ET.fromstring(config.iscsi_disk_xml(
        portal="10.0.0.1:3260", iqn="iqn.x:v", lun=1, target_dev="vdb")))
    rescued = ET.fromstring(config.rescue_xml(ET.tostring(domain, encoding="unicode"), "/i/disk.rescue"))
    assert [(d.find("target").get("dev"), d.find("source").get("file")) for d in rescued.findall("devices/disk")] == [
        ("vda", "/i/disk.rescue"), ("vdb", "/i/disk")]
