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
