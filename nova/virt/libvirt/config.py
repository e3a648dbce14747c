"""Domain XML for an instance, built with xml.etree (never pasted strings)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Sequence


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
    disk_path: str | None,
    disk_format: str,
    console_path: str,
    network_info: list[dict[str, Any]],
    kernel_path: str | None = None,
    ramdisk_path: str | None = None,
    cmdline: str = "root=/dev/vda console=ttyS0",
    volume_disks: Sequence[str] = (),
) -> str:
    """The file disk ``disk_path`` as vda, the ``volume_disks`` (``<disk>`` XML, as :func:`iscsi_disk_xml` builds,
    each with its own target) after it, a bridge interface per NIC, a serial console into ``console_path``.

    Without ``disk_path`` the instance boots from a volume: one of
    ``volume_disks`` is then vda.  With a kernel the domain boots it directly
    (plus the ramdisk and ``cmdline``); without one it boots from vda.
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
    if disk_path:
        disk = _sub(devices, "disk", type="file", device="disk")
        _sub(disk, "driver", name="qemu", type=disk_format)
        _sub(disk, "source", file=disk_path)
        _sub(disk, "target", dev="vda", bus="virtio")
    for volume_disk in volume_disks:
        devices.append(ET.fromstring(volume_disk))
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
    """The domain ``xml`` booting from ``rescue_disk`` (vda), its own first disk moved to vdb.

    Attached volumes are left out (the own disk takes vdb); unrescue brings
    back the instance's definition with them.
    """
    domain = ET.fromstring(xml)
    devices = domain.find("devices")
    disks = devices.findall("disk")
    if not disks:
        return xml
    own = disks[0]
    for volume in disks[1:]:
        devices.remove(volume)
    rescue = ET.fromstring(ET.tostring(own))
    rescue.find("source").set("file", rescue_disk)
    for element in own.findall("address"):  # let libvirt place the moved disk on a new PCI slot
        own.remove(element)
    own.find("target").set("dev", "vdb")
    devices.insert(list(devices).index(own), rescue)
    ET.indent(domain)
    return ET.tostring(domain, encoding="unicode")


def split_portal(portal: str) -> tuple[str, str]:
    """``"10.0.0.1:3260"`` (or ``"[fd00::1]:3260"``) as host and port; the port defaults to 3260."""
    host, colon, port = portal.rpartition(":")
    if not colon or host.count(":") and not host.endswith("]"):
        host, port = portal, "3260"  # no port, or a bare IPv6 address
    return host.strip("[]"), port


def iscsi_disk_xml(
    *,
    portal: str,
    iqn: str,
    lun: int,
    target_dev: str,
    serial: str | None = None,
    auth_username: str | None = None,
    secret_usage: str | None = None,
) -> str:
    """A volume exported over iSCSI, opened by QEMU itself (libiscsi), as virtio disk ``target_dev``.

    With ``auth_username`` the disk logs in with CHAP, its password in the
    libvirt secret of usage type iscsi named ``secret_usage``.
    """
    disk = ET.Element("disk", {"type": "network", "device": "disk"})
    _sub(disk, "driver", name="qemu", type="raw", cache="none")
    source = _sub(disk, "source", protocol="iscsi", name=f"{iqn}/{int(lun)}")
    host, port = split_portal(portal)
    _sub(source, "host", name=host, port=port)
    if auth_username:
        auth = _sub(disk, "auth", username=auth_username)
        _sub(auth, "secret", type="iscsi", usage=secret_usage or "")
    _sub(disk, "target", dev=target_dev, bus="virtio")
    if serial:
        _sub(disk, "serial", serial)
    ET.indent(disk)
    return ET.tostring(disk, encoding="unicode")


def iscsi_secret_xml(usage: str, description: str) -> str:
    """A persistent, private libvirt secret of usage type iscsi (its value is set separately)."""
    secret = ET.Element("secret", {"ephemeral": "no", "private": "yes"})
    _sub(secret, "description", description)
    usage_element = _sub(secret, "usage", type="iscsi")
    _sub(usage_element, "target", usage)
    ET.indent(secret)
    return ET.tostring(secret, encoding="unicode")


def disk_target_devs(xml: str) -> dict[str, ET.Element]:
    """The disks of domain ``xml`` by target dev (``{"vda": <disk>, "vdb": <disk>}``)."""
    return {disk.find("target").get("dev"): disk for disk in ET.fromstring(xml).findall("devices/disk")
            if disk.find("target") is not None}


def without_disk(xml: str, target_dev: str) -> str:
    """Domain ``xml`` without the disk whose target is ``target_dev`` (unchanged when it has none)."""
    domain = ET.fromstring(xml)
    devices = domain.find("devices")
    for disk in devices.findall("disk"):
        target = disk.find("target")
        if target is not None and target.get("dev") == target_dev:
            devices.remove(disk)
    return ET.tostring(domain, encoding="unicode")


def boots_from_volume(xml: str) -> bool:
    """Whether domain ``xml``'s vda is a volume (a network disk) rather than a file of the instance."""
    root = disk_target_devs(xml).get("vda")
    return root is not None and root.get("type") == "network"
