"""A libvirt connection in memory for the volume tests.

libvirt's own ``test:///default`` driver (9.0) can neither hot-plug devices
(``attachDeviceFlags``) nor keep secrets, so these tests run the driver
against this stand-in: domains with a live and a persistent definition,
device flags checked as libvirt checks them, and iscsi secrets.  Errors are
real ``libvirt.libvirtError``s with libvirt's error codes.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import libvirt


def error(code: int, message: str) -> libvirt.libvirtError:
    exc = libvirt.libvirtError(message)
    exc.err = (code, 0, message, 2, None, None, None, 0, 0)
    return exc


def _target(disk: ET.Element) -> str:
    return disk.find("target").get("dev")


class Secret:
    def __init__(self, conn: Connection, xml: str) -> None:
        element = ET.fromstring(xml)
        self.conn, self.xml = conn, xml
        self.uuid = str(uuid.uuid4())
        self.usage_type = element.find("usage").get("type")
        self.usage = element.findtext("usage/target")
        self.private = element.get("private") == "yes"
        self.stored: bytes | None = None

    def usageType(self) -> int:
        return {"iscsi": libvirt.VIR_SECRET_USAGE_TYPE_ISCSI}.get(self.usage_type, libvirt.VIR_SECRET_USAGE_TYPE_NONE)

    def usageID(self) -> str:
        return self.usage

    def setValue(self, value: bytes, flags: int = 0) -> int:
        self.stored = value
        return 0

    def undefine(self) -> int:
        if self not in self.conn.secrets:
            raise error(libvirt.VIR_ERR_NO_SECRET, "secret not found")
        self.conn.secrets.remove(self)
        return 0


class Domain:
    def __init__(self, conn: Connection, xml: str) -> None:
        self.conn = conn
        self.config = ET.fromstring(xml)
        self.live: ET.Element | None = None
        self.calls: list[tuple[str, int]] = []  # (method, flags) of device changes

    def name(self) -> str:
        return self.config.findtext("name")

    def isActive(self) -> int:
        return int(self.live is not None)

    def info(self) -> list[int]:
        state = libvirt.VIR_DOMAIN_RUNNING if self.live is not None else libvirt.VIR_DOMAIN_SHUTOFF
        return [state, 262144, 262144, 1, 0]

    def hasManagedSaveImage(self, flags: int = 0) -> int:
        return 0

    def XMLDesc(self, flags: int = 0) -> str:
        source = self.config if self.live is None or flags & libvirt.VIR_DOMAIN_XML_INACTIVE else self.live
        return ET.tostring(source, encoding="unicode")

    def create(self) -> int:
        if self.live is not None:
            raise error(libvirt.VIR_ERR_OPERATION_INVALID, "domain is already running")
        for disk in self.config.findall("devices/disk"):
            self.conn.check_secret(disk)  # QEMU opens every disk at start
        self.live = ET.fromstring(ET.tostring(self.config))
        return 0

    def destroy(self) -> int:
        if self.live is None:
            raise error(libvirt.VIR_ERR_OPERATION_INVALID, "domain is not running")
        self.live = None
        return 0

    shutdown = destroy  # the guest powers off at once

    def undefineFlags(self, flags: int = 0) -> int:
        self.conn.domains.pop(self.name(), None)
        return 0

    def _targets(self, flags: int) -> list[ET.Element]:
        if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE and self.live is None:
            raise error(libvirt.VIR_ERR_OPERATION_INVALID, "domain is not running")
        if not flags & (libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG):
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE if self.live is not None else libvirt.VIR_DOMAIN_AFFECT_CONFIG
        targets = []
        if flags & libvirt.VIR_DOMAIN_AFFECT_CONFIG:
            targets.append(self.config)
        if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE:
            targets.append(self.live)
        return targets

    def attachDeviceFlags(self, xml: str, flags: int = 0) -> int:
        self.calls.append(("attach", flags))
        disk = ET.fromstring(xml)
        targets = self._targets(flags)
        for definition in targets:
            if _target(disk) in [_target(d) for d in definition.findall("devices/disk")]:
                raise error(libvirt.VIR_ERR_OPERATION_FAILED, f"target {_target(disk)} already exists")
        if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE:
            self.conn.check_secret(disk)
            self.conn.check_portal(disk)
        for definition in targets:
            definition.find("devices").append(ET.fromstring(xml))
        return 0

    def detachDeviceFlags(self, xml: str, flags: int = 0) -> int:
        self.calls.append(("detach", flags))
        dev = _target(ET.fromstring(xml))
        for definition in self._targets(flags):
            devices = definition.find("devices")
            found = [d for d in devices.findall("disk") if _target(d) == dev]
            if not found:
                raise error(libvirt.VIR_ERR_DEVICE_MISSING, f"no target device {dev}")
            devices.remove(found[0])
        return 0


class Connection:
    """``domains`` by name and ``secrets``; ``reachable`` portals (host:port) a hot-plug can open."""

    def __init__(self) -> None:
        self.domains: dict[str, Domain] = {}
        self.secrets: list[Secret] = []
        self.reachable: set[str] | None = None  # None: every portal answers

    def defineXML(self, xml: str) -> Domain:
        name = ET.fromstring(xml).findtext("name")
        if name in self.domains:
            self.domains[name].config = ET.fromstring(xml)
        else:
            self.domains[name] = Domain(self, xml)
        return self.domains[name]

    def lookupByName(self, name: str) -> Domain:
        try:
            return self.domains[name]
        except KeyError:
            raise error(libvirt.VIR_ERR_NO_DOMAIN, f"Domain not found: no domain with matching name '{name}'") \
                from None

    def listAllDomains(self, flags: int = 0) -> list[Domain]:
        return list(self.domains.values())

    def secretDefineXML(self, xml: str, flags: int = 0) -> Secret:
        secret = Secret(self, xml)
        if any(s.usage == secret.usage and s.usage_type == secret.usage_type for s in self.secrets):
            raise error(libvirt.VIR_ERR_INTERNAL_ERROR, f"a secret with usage {secret.usage} already exists")
        self.secrets.append(secret)
        return secret

    def secretLookupByUsage(self, usage_type: int, usage: str) -> Secret:
        for secret in self.secrets:
            if secret.usageType() == usage_type and secret.usage == usage:
                return secret
        raise error(libvirt.VIR_ERR_NO_SECRET, f"no secret with matching usage '{usage}'")

    def listAllSecrets(self, flags: int = 0) -> list[Secret]:
        return list(self.secrets)

    def secret_values(self) -> dict[str, bytes | None]:
        return {secret.usage: secret.stored for secret in self.secrets}

    def check_secret(self, disk: ET.Element) -> None:
        """libvirt refuses a disk whose auth names a secret it does not have."""
        usage = disk.find("auth/secret")
        if usage is not None and not any(s.usage == usage.get("usage") and s.stored for s in self.secrets):
            raise error(libvirt.VIR_ERR_NO_SECRET, f"no secret with matching usage '{usage.get('usage')}'")

    def check_portal(self, disk: ET.Element) -> None:
        host = disk.find("source/host")
        if host is not None and self.reachable is not None \
                and f"{host.get('name')}:{host.get('port')}" not in self.reachable:
            raise error(libvirt.VIR_ERR_INTERNAL_ERROR, "unable to execute QEMU command 'blockdev-add': "
                                                        "iSCSI: Failed to connect to LUN")
