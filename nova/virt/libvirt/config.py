"""Domain XML for an instance, built with xml.etree (never pasted strings)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        element.text = str(text)
    return element


def domain_xml(
    *,
    domain_type: str,
    name: str,
    uuid: str | None,
    memory_mb: int,
    vcpus: int,
    disk_path: str,
    disk_format: str,
    console_path: str,
    network_info: list[dict[str, Any]],
    kernel_path: str | None = None,
    ramdisk_path: str | None = None,
    cmdline: str = "root=/dev/vda console=ttyS0",
) -> str:
    """One virtio disk, a bridge interface per NIC, a serial console into ``console_path``.

    With a kernel the domain boots it directly (plus the ramdisk and
    ``cmdline``); without one it boots from the disk.
    """
    domain = ET.Element("domain", {"type": domain_type})
    _sub(domain, "name", name)
    if uuid:
        _sub(domain, "uuid", uuid)
    _sub(domain, "memory", int(memory_mb) * 1024, unit="KiB")
    _sub(domain, "vcpu", int(vcpus))
    os_element = _sub(domain, "os")
    _sub(os_element, "type", "hvm", arch="x86_64")
    if kernel_path:
        _sub(os_element, "kernel", kernel_path)
        if ramdisk_path:
            _sub(os_element, "initrd", ramdisk_path)
        _sub(os_element, "cmdline", cmdline)
    else:
        _sub(os_element, "boot", dev="hd")
    features = _sub(domain, "features")
    _sub(features, "acpi")
    devices = _sub(domain, "devices")
    disk = _sub(devices, "disk", type="file", device="disk")
    _sub(disk, "driver", name="qemu", type=disk_format)
    _sub(disk, "source", file=disk_path)
    _sub(disk, "target", dev="vda", bus="virtio")
    for nic in network_info:
        interface = _sub(devices, "interface", type="bridge")
        if nic.get("mac_address"):
            _sub(interface, "mac", address=nic["mac_address"])
        _sub(interface, "source", bridge=nic["bridge"])
        _sub(interface, "model", type="virtio")
        if kernel_path:
            _sub(interface, "rom", enabled="no")  # no iPXE: the kernel boots directly
    serial = _sub(devices, "serial", type="file")
    _sub(serial, "source", path=console_path, append="on")  # a reboot adds to the console, never truncates it
    _sub(serial, "target", port="0")
    if domain_type != "test":
        _sub(devices, "memballoon", model="none")
    ET.indent(domain)
    return ET.tostring(domain, encoding="unicode")


def rescue_xml(xml: str, rescue_disk: str) -> str:
    """The domain ``xml`` booting from ``rescue_disk`` (vda), its own first disk moved to vdb."""
    domain = ET.fromstring(xml)
    devices = domain.find("devices")
    disks = devices.findall("disk")
    if not disks:
        return xml
    own = disks[0]
    rescue = ET.fromstring(ET.tostring(own))
    rescue.find("source").set("file", rescue_disk)
    for element in own.findall("address"):  # let libvirt place the moved disk on a new PCI slot
        own.remove(element)
    own.find("target").set("dev", "vdb")
    devices.insert(list(devices).index(own), rescue)
    ET.indent(domain)
    return ET.tostring(domain, encoding="unicode")
