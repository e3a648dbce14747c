"""The libvirt driver: domains through libvirt-python, disks as qcow2 overlays.

``--libvirt_type`` (kvm or qemu) sets the domain type and the default URI
(``qemu:///system``); ``--libvirt_uri`` overrides it.  A ``test:`` URI (the
in-process test driver CI uses) makes ``<domain type='test'>`` domains; the
disks, cache and console files are made exactly as for a real hypervisor.

Each instance lives in ``instances_path/<name>/``: ``disk`` (a qcow2 overlay
on the cached image, made with ``qemu-img``), ``console.log`` (the serial
console) and ``libvirt.xml`` (the instance's own definition: what unrescue
defines again; attach and detach keep it in step with the volumes).  Every
libvirt call runs in eventlet's thread pool so a slow hypervisor never blocks
the service's event loop.

Volumes arrive as iSCSI connection info and become network disks that QEMU
opens itself; a CHAP password lives in a libvirt secret named
``nova-<instance name>-<dev>``, removed on detach and destroy.  An instance
that boots from a volume has no ``disk`` file and its image is never fetched:
its root volume is vda (a kernel and ramdisk it names are still cached and
booted directly), and the volumes it has from boot are in its definition from
the start.  Such an instance cannot be rescued or snapshotted here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET
from typing import Any, Callable

from eventlet import tpool

from nova import exception, flags, utils
from nova.compute import states
from nova.virt import driver
from nova.virt.libvirt import config, imagecache

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_enum("libvirt_type", "kvm", ["kvm", "qemu"], "Hypervisor libvirt drives")
flags.DEFINE_string("libvirt_uri", "", "libvirt connection URI; empty for the default of --libvirt_type")
flags.DEFINE_integer("libvirt_boot_timeout", 60, "Seconds spawn waits for a domain to run", lower_bound=1)
flags.DEFINE_integer("console_output_bytes", 64 * 1024, "Most console bytes get_console_output returns",
                     lower_bound=1)
flags.DEFINE_integer("libvirt_shutdown_timeout", 30,
                     "Seconds a stop or a reboot waits for the guest to power off after the ACPI power button "
                     "before it destroys the domain (0: destroy at once)", lower_bound=0)
flags.DEFINE_string("libvirt_kernel_cmdline", "root=/dev/vda console=ttyS0",
                    "Kernel command line of an instance booted from a kernel image (aki)")

DETACH_WAIT = 10  # seconds detach_volume waits for the guest to let a hot-unplugged disk go

_libvirt: Any = None


def _import_libvirt() -> Any:
    global _libvirt
    if _libvirt is None:
        import libvirt

        libvirt.registerErrorHandler(lambda *args: None, None)  # errors arrive as exceptions, not stderr
        _libvirt = libvirt
    return _libvirt


def _call(func: Callable[..., Any], *args: Any) -> Any:
    return tpool.execute(func, *args)


class LibvirtDriver(driver.ComputeDriver):
    hypervisor_type = "libvirt"

    def __init__(self, read_only: bool = False) -> None:
        self.read_only = read_only
        self._conn: Any = None
        from nova.image import get_default_image_service

        self.image_service = get_default_image_service()

    # -- connection ---------------------------------------------------------

    @property
    def uri(self) -> str:
        return FLAGS.libvirt_uri or "qemu:///system"

    @property
    def domain_type(self) -> str:
        return "test" if self.uri.startswith("test:") else FLAGS.libvirt_type

    @property
    def conn(self) -> Any:
        if self._conn is None:
            libvirt = _import_libvirt()
            opener = libvirt.openReadOnly if self.read_only else libvirt.open
            try:
                self._conn = _call(opener, self.uri)
            except libvirt.libvirtError as exc:
                raise exception.VirtDriverError(reason=f"cannot connect to {self.uri}: {exc}") from None
        return self._conn

    def init_host(self, host: str) -> None:
        self.conn  # noqa: B018 - connect now so a bad URI stops the service at start-up

    def _lookup(self, name: str) -> Any:
        libvirt = _import_libvirt()
        try:
            return _call(self.conn.lookupByName, name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise exception.InstanceNotFound(instance_id=name) from None
            raise

    @staticmethod
    def instance_dir(instance: Any) -> str:
        return os.path.join(os.path.abspath(FLAGS.instances_path), instance["name"])

    @staticmethod
    def base_dir() -> str:
        return os.path.join(os.path.abspath(FLAGS.instances_path), "_base")

    # -- reading ------------------------------------------------------------

    def list_instances(self) -> list[str]:
        return sorted(_call(lambda: [d.name() for d in self.conn.listAllDomains(0)]))

    def get_info(self, instance_name: str) -> dict[str, Any]:
        domain = self._lookup(instance_name)
        state, max_mem, mem, num_cpu, cpu_time = _call(domain.info)
        if state == states.SHUTOFF and _call(domain.hasManagedSaveImage, 0):
            state = states.SUSPENDED_POWER
        return {"state": state, "max_mem": max_mem, "mem": mem, "num_cpu": num_cpu, "cpu_time": cpu_time}

    def get_console_output(self, instance: Any) -> str:
        path = os.path.join(self.instance_dir(instance), "console.log")
        try:
            with open(path, "rb") as console:
                console.seek(0, os.SEEK_END)
                console.seek(max(0, console.tell() - FLAGS.console_output_bytes))
                return console.read().decode(errors="replace")
        except FileNotFoundError:
            raise exception.InstanceNotFound(instance_id=instance["id"]) from None

    def get_available_resource(self) -> dict[str, Any]:
        info = _call(self.conn.getInfo)
        os.makedirs(FLAGS.instances_path, exist_ok=True)
        disk = shutil.disk_usage(FLAGS.instances_path)
        return {"vcpus": info[2], "memory_mb": info[1], "local_gb": disk.total // (1024 ** 3),
                "hypervisor_type": _call(self.conn.getType), "hypervisor_version": _call(self.conn.getVersion),
                "cpu_info": info[0]}

    # -- building -----------------------------------------------------------

    def spawn(self, ctxt: Any, instance: Any, network_info: list[dict[str, Any]],
              block_device_info: dict[str, Any] | None = None) -> None:
        """Cache the images, make the overlay (none with a root volume: it is vda) and console, define the domain
        with the volumes of ``block_device_info`` and start it, wait for it to run."""
        name = instance["name"]
        root = driver.root_volume(block_device_info)
        boot = self._boot_volumes(root, block_device_info)
        directory = self.instance_dir(instance)
        os.makedirs(directory, exist_ok=True)
        os.chmod(directory, 0o755)  # QEMU runs as its own user under qemu:///system
        disk = None
        if not root:
            image = self.image_service.show(ctxt.elevated(), int(instance["image_id"]))
            base = imagecache.cached_image(ctxt.elevated(), self.image_service, image["id"], self.base_dir())
            disk = os.path.join(directory, "disk")
            self._overlay(image, base, disk)
        kernel = ramdisk = None
        if instance["kernel_id"]:
            kernel = imagecache.cached_image(ctxt.elevated(), self.image_service, instance["kernel_id"],
                                             self.base_dir())
        if instance["ramdisk_id"]:
            ramdisk = imagecache.cached_image(ctxt.elevated(), self.image_service, instance["ramdisk_id"],
                                              self.base_dir())
        console = os.path.join(directory, "console.log")
        open(console, "ab").close()
        usages: list[str] = []
        try:
            volume_disks = []
            for mountpoint, connection_info in boot:
                disk_xml, usage = self._volume_disk(name, connection_info, mountpoint)
                volume_disks.append(disk_xml)
                usages += [usage] if usage else []
            xml = config.domain_xml(
                domain_type=self.domain_type, name=name, uuid=instance.get("uuid"),
                memory_mb=instance["memory_mb"], vcpus=instance["vcpus"], disk_path=disk, disk_format="qcow2",
                console_path=console, network_info=network_info, kernel_path=kernel, ramdisk_path=ramdisk,
                cmdline=FLAGS.libvirt_kernel_cmdline, volume_disks=volume_disks,
            )
            with open(os.path.join(directory, "libvirt.xml"), "w") as handle:
                handle.write(xml)
            domain = _call(self.conn.defineXML, xml)
        except Exception:
            self._undefine_secrets(usages.__contains__)
            raise
        _call(domain.create)
        self._wait_for(name, states.RUNNING)
        LOG.info("Domain %s is running%s", name,
                 f" from volume {root['data'].get('volume_id')}" if root else "")

    def _boot_volumes(self, root: dict[str, Any] | None,
                      block_device_info: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
        """``[(mountpoint, connection_info)]`` of the volumes a spawn defines, the root volume first as /dev/vda;
        VolumeAttachFailed for a volume this driver cannot open, DeviceInUse for a device named twice."""
        boot = ([(driver.ROOT_MOUNTPOINT, root)] if root else []) + driver.boot_volumes(block_device_info)
        taken = set() if root else {"vda"}  # without a root volume vda is the image's disk
        for mountpoint, connection_info in boot:
            self._check_connection_info(connection_info)
            dev = self._target_dev(mountpoint)
            if dev in taken:
                raise exception.DeviceInUse(mountpoint=mountpoint)
            taken.add(dev)
        return boot

    @staticmethod
    def _overlay(image: dict[str, Any], base: str, path: str) -> None:
        backing_format = "qcow2" if image.get("disk_format") == "qcow2" else "raw"
        utils.execute("qemu-img", "create", "-f", "qcow2", "-o",
                      f"backing_file={base},backing_fmt={backing_format}", path)

    def _wait_for(self, name: str, wanted: int) -> None:
        import eventlet

        deadline = time.monotonic() + FLAGS.libvirt_boot_timeout
        while self.get_info(name)["state"] != wanted:
            if time.monotonic() > deadline:
                raise exception.VirtDriverError(reason=f"domain {name} is not {states.power_state_name(wanted)} "
                                                       f"after {FLAGS.libvirt_boot_timeout}s")
            eventlet.sleep(0.5)

    def destroy(self, instance: Any, network_info: list[dict[str, Any]] | None = None, cleanup: bool = True) -> None:
        libvirt = _import_libvirt()
        try:
            domain = self._lookup(instance["name"])
        except exception.InstanceNotFound:
            domain = None
        if domain is not None:
            if _call(domain.isActive):
                _call(domain.destroy)
            flags_ = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE if _call(domain.hasManagedSaveImage, 0) else 0
            _call(domain.undefineFlags, flags_)
        prefix = f"nova-{instance['name']}-"
        self._undefine_secrets(lambda usage: usage.startswith(prefix))
        if cleanup:
            shutil.rmtree(self.instance_dir(instance), ignore_errors=True)

    # -- power --------------------------------------------------------------

    def reboot(self, instance: Any, network_info: list[dict[str, Any]]) -> None:
        """Soft, then hard: the ACPI power button, a fresh start once the guest is off (or was destroyed)."""
        domain = self._lookup(instance["name"])
        self._shut_down(instance["name"], domain)
        _call(domain.create)
        self._wait_for(instance["name"], states.RUNNING)

    def power_off(self, instance: Any) -> None:
        self._shut_down(instance["name"], self._lookup(instance["name"]))

    def _shut_down(self, name: str, domain: Any) -> None:
        """Press the ACPI power button so the guest syncs its disk; destroy it after --libvirt_shutdown_timeout."""
        import eventlet

        libvirt = _import_libvirt()
        if not _call(domain.isActive):
            return
        if FLAGS.libvirt_shutdown_timeout:
            try:
                _call(domain.shutdown)
            except libvirt.libvirtError as exc:
                LOG.warning("ACPI shutdown of %s failed (%s); destroying it", name, exc)
            deadline = time.monotonic() + FLAGS.libvirt_shutdown_timeout
            while _call(domain.isActive) and time.monotonic() < deadline:
                eventlet.sleep(0.2)
        if _call(domain.isActive):
            LOG.info("Domain %s did not power off within %ss; destroying it", name, FLAGS.libvirt_shutdown_timeout)
            try:
                _call(domain.destroy)
            except libvirt.libvirtError:
                if _call(domain.isActive):
                    raise
        else:
            LOG.info("Domain %s powered off", name)

    def power_on(self, instance: Any) -> None:
        domain = self._lookup(instance["name"])
        if not _call(domain.isActive):
            _call(domain.create)
        self._wait_for(instance["name"], states.RUNNING)

    def pause(self, instance: Any) -> None:
        _call(self._lookup(instance["name"]).suspend)

    def unpause(self, instance: Any) -> None:
        _call(self._lookup(instance["name"]).resume)

    def suspend(self, instance: Any) -> None:
        """Save the guest's memory to disk (libvirt managed save) and stop it."""
        _call(self._lookup(instance["name"]).managedSave, 0)

    def resume(self, instance: Any) -> None:
        self.power_on(instance)

    def rescue(self, ctxt: Any, instance: Any, network_info: list[dict[str, Any]]) -> None:
        """Boot a fresh copy of the instance's image, with the instance's own disk second (vdb) to repair."""
        libvirt = _import_libvirt()
        domain = self._lookup(instance["name"])
        if config.boots_from_volume(_call(domain.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE)):
            raise driver.volume_backed_refusal("rescue")
        self._shut_down(instance["name"], domain)
        image = self.image_service.show(ctxt.elevated(), int(instance["image_id"]))
        base = imagecache.cached_image(ctxt.elevated(), self.image_service, image["id"], self.base_dir())
        rescue_disk = os.path.join(self.instance_dir(instance), "disk.rescue")
        if os.path.exists(rescue_disk):
            os.unlink(rescue_disk)
        own_xml = _call(domain.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE)
        if not self._rescued(instance):  # what unrescue restores: the definition with its volumes
            self._write_definition(instance, own_xml)
        self._overlay(image, base, rescue_disk)
        xml = config.rescue_xml(own_xml, rescue_disk)
        _call(_call(self.conn.defineXML, xml).create)
        self._wait_for(instance["name"], states.RUNNING)

    def unrescue(self, instance: Any, network_info: list[dict[str, Any]]) -> None:
        """Back to the instance's own definition (``libvirt.xml``, with its volumes) and disk; the rescue disk
        is dropped."""
        domain = self._lookup(instance["name"])
        self._shut_down(instance["name"], domain)
        directory = self.instance_dir(instance)
        with open(os.path.join(directory, "libvirt.xml")) as handle:
            domain = _call(self.conn.defineXML, handle.read())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, "disk.rescue"))
        _call(domain.create)
        self._wait_for(instance["name"], states.RUNNING)

    def snapshot(self, ctxt: Any, instance: Any, image_id: int) -> None:
        """Flatten the overlay (with its base) into a raw image and store it as ``image_id``."""
        libvirt = _import_libvirt()
        if config.boots_from_volume(_call(self._lookup(instance["name"]).XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE)):
            raise driver.volume_backed_refusal("snapshot")
        disk = os.path.join(self.instance_dir(instance), "disk")
        fd, tmp = tempfile.mkstemp(dir=self.instance_dir(instance), prefix=".snapshot-")
        os.close(fd)
        try:
            # -U: a running domain's QEMU holds the image's write lock
            utils.execute("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", disk, tmp)
            with open(tmp, "rb") as source:
                self.image_service.store(ctxt, image_id, source)
        finally:
            os.unlink(tmp)

    # -- volumes ------------------------------------------------------------

    def attach_volume(self, instance: Any, connection_info: dict[str, Any], mountpoint: str) -> None:
        """Plug the iSCSI volume in as virtio disk ``basename(mountpoint)``: into the running guest (when it
        runs) and into the persistent definition, so a stop/start keeps it."""
        libvirt = _import_libvirt()
        name, dev = instance["name"], self._target_dev(mountpoint)
        self._check_connection_info(connection_info)
        if self._rescued(instance):
            raise exception.VolumeAttachFailed(reason=f"{name} is in rescue; unrescue it first")
        domain = self._lookup(name)
        if _call(domain.hasManagedSaveImage, 0):
            raise exception.VolumeAttachFailed(reason=f"{name} is suspended; resume it first")
        if dev in self._disks(domain):
            raise exception.DeviceInUse(mountpoint=mountpoint)
        data = connection_info["data"]
        xml, usage = self._volume_disk(name, connection_info, mountpoint)
        try:
            _call(domain.attachDeviceFlags, xml, self._device_flags(domain))
        except libvirt.libvirtError as exc:
            if usage:
                self._undefine_secrets(usage.__eq__)
            raise exception.VolumeAttachFailed(reason=f"{name} {mountpoint}: {exc}") from None
        self._write_definition(instance, _call(domain.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE))
        LOG.info("Attached %s:%s lun %s to %s as %s", data["target_portal"], data["target_iqn"],
                 data["target_lun"], name, dev)

    def detach_volume(self, instance: Any, connection_info: dict[str, Any] | None, mountpoint: str) -> None:
        """Unplug disk ``basename(mountpoint)`` from the running guest and the definition (absent: nothing to do),
        and forget its CHAP secret."""
        libvirt = _import_libvirt()
        name, dev = instance["name"], self._target_dev(mountpoint)
        if self._rescued(instance):  # the rescue domain has no volumes: only the saved definition does
            path = os.path.join(self.instance_dir(instance), "libvirt.xml")
            with open(path) as handle:
                self._write_definition(instance, config.without_disk(handle.read(), dev), rescued_too=True)
        else:
            domain = self._lookup(name)
            defined = config.disk_target_devs(_call(domain.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE))
            live = config.disk_target_devs(_call(domain.XMLDesc, 0)) if _call(domain.isActive) else {}
            flags_ = (libvirt.VIR_DOMAIN_AFFECT_CONFIG if dev in defined else 0) | (
                libvirt.VIR_DOMAIN_AFFECT_LIVE if dev in live else 0)
            if flags_:
                disk = live.get(dev, defined.get(dev))
                try:
                    _call(domain.detachDeviceFlags, ET.tostring(disk, encoding="unicode"), flags_)
                except libvirt.libvirtError as exc:
                    raise exception.VirtDriverError(reason=f"cannot detach {mountpoint} from {name}: {exc}") from None
                if flags_ & libvirt.VIR_DOMAIN_AFFECT_LIVE:
                    self._wait_for_unplug(domain, name, dev)
                self._write_definition(instance, _call(domain.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE))
                LOG.info("Detached %s from %s", dev, name)
        self._undefine_secrets(f"nova-{name}-{dev}".__eq__)

    @staticmethod
    def _check_connection_info(connection_info: dict[str, Any]) -> None:
        """VolumeAttachFailed unless the volume is one this driver can open (iSCSI, with CHAP or no auth)."""
        if connection_info.get("driver_volume_type") != "iscsi":
            raise exception.VolumeAttachFailed(
                reason=f"the libvirt driver attaches iscsi volumes, not {connection_info.get('driver_volume_type')!r}")
        method = connection_info["data"].get("auth_method")
        if method and method.upper() != "CHAP":
            raise exception.VolumeAttachFailed(reason=f"unsupported iSCSI auth method {method}")

    def _volume_disk(self, name: str, connection_info: dict[str, Any], mountpoint: str) -> tuple[str, str | None]:
        """The ``<disk>`` of the volume as ``basename(mountpoint)`` of domain ``name``, and the usage of the libvirt
        secret made for its CHAP password (None without CHAP)."""
        libvirt = _import_libvirt()
        dev = self._target_dev(mountpoint)
        data = connection_info["data"]
        usage = None
        if data.get("auth_method"):
            usage = f"nova-{name}-{dev}"
            try:
                self._define_secret(usage, data["auth_password"],
                                    f"CHAP password of volume {data.get('volume_id')} on {name} {mountpoint}")
            except libvirt.libvirtError as exc:
                raise exception.VolumeAttachFailed(reason=f"cannot store the CHAP secret: {exc}") from None
        xml = config.iscsi_disk_xml(portal=data["target_portal"], iqn=data["target_iqn"], lun=data["target_lun"],
                                    target_dev=dev, serial=str(data["volume_id"]) if data.get("volume_id") else None,
                                    auth_username=data.get("auth_username") if usage else None, secret_usage=usage)
        return xml, usage

    @staticmethod
    def _target_dev(mountpoint: str) -> str:
        return os.path.basename(mountpoint.rstrip("/"))

    def _rescued(self, instance: Any) -> bool:
        return os.path.exists(os.path.join(self.instance_dir(instance), "disk.rescue"))

    def _disks(self, domain: Any) -> dict[str, ET.Element]:
        """The domain's disks by target dev, running and defined ones together."""
        libvirt = _import_libvirt()
        disks = config.disk_target_devs(_call(domain.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE))
        if _call(domain.isActive):
            disks.update(config.disk_target_devs(_call(domain.XMLDesc, 0)))
        return disks

    def _device_flags(self, domain: Any) -> int:
        """Attach to the definition, and to the running guest when there is one."""
        libvirt = _import_libvirt()
        flags_ = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if _call(domain.isActive):
            flags_ |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        return flags_

    def _wait_for_unplug(self, domain: Any, name: str, dev: str) -> None:
        """The guest releases a hot-unplugged disk in its own time (ACPI); wait a little for it to go."""
        import eventlet

        deadline = time.monotonic() + DETACH_WAIT
        while _call(domain.isActive) and dev in config.disk_target_devs(_call(domain.XMLDesc, 0)):
            if time.monotonic() > deadline:
                LOG.warning("%s still has %s %ss after the detach; it leaves when the guest lets go", name, dev,
                            DETACH_WAIT)
                return
            eventlet.sleep(0.2)

    def _write_definition(self, instance: Any, xml: str, rescued_too: bool = False) -> None:
        """Save ``xml`` as the instance's own definition (``libvirt.xml``); never the rescue domain's."""
        if self._rescued(instance) and not rescued_too:
            return
        path = os.path.join(self.instance_dir(instance), "libvirt.xml")
        if not os.path.isdir(os.path.dirname(path)):
            return
        with open(path + ".tmp", "w") as handle:
            handle.write(xml)
        os.replace(path + ".tmp", path)

    def _define_secret(self, usage: str, password: str, description: str) -> None:
        """The libvirt secret of usage type iscsi named ``usage``, holding ``password`` (made or updated)."""
        libvirt = _import_libvirt()
        try:
            secret = _call(self.conn.secretLookupByUsage, libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, usage)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_SECRET:
                raise
            secret = _call(self.conn.secretDefineXML, config.iscsi_secret_xml(usage, description), 0)
        _call(secret.setValue, password.encode(), 0)

    def _undefine_secrets(self, matches: Callable[[str], bool]) -> None:
        """Undefine the iscsi secrets whose usage ``matches``."""
        libvirt = _import_libvirt()
        try:
            secrets = _call(self.conn.listAllSecrets, 0)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:  # test:///default keeps no secrets
                return
            raise
        for secret in secrets:
            try:
                if (_call(secret.usageType) == libvirt.VIR_SECRET_USAGE_TYPE_ISCSI
                        and matches(_call(secret.usageID))):
                    _call(secret.undefine)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_SECRET:
                    raise
