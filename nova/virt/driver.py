"""The interface every virt driver implements for ComputeManager.

Instances are db rows (or dicts with the same keys: ``id``, ``name``,
``memory_mb``, ``vcpus``, ``local_gb``, ``image_id``, ``kernel_id``,
``ramdisk_id``, ...); ``network_info`` is the NIC list nova-network returned.
Power states are ``nova.compute.states`` ints.  A method a driver cannot do
raises ``UnsupportedOperation``.

``block_device_info`` tells spawn which volumes the instance has from boot
(a missing dict or key, or None, means none)::

    {"root": <connection info> | None,          # the root volume: the guest's vda, no image disk
     "volumes": [{"mountpoint": "/dev/vdb", "connection_info": <connection info>}, ...]}

A connection info is a volume host's answer to initialize_connection
(``{"driver_volume_type": "iscsi", "data": {...}}``).  An instance with a root
volume is "volume-backed": the driver neither fetches its machine image nor
makes a local disk; rescue and snapshot refuse it (the compute API snapshots
the root volume instead); destroy leaves every volume's data alone.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from nova import context as nova_context
from nova import exception

Context = nova_context.RequestContext
NetworkInfo = list[dict[str, Any]]
BlockDeviceInfo = dict[str, Any]
ROOT_MOUNTPOINT = "/dev/vda"


def root_volume(block_device_info: BlockDeviceInfo | None) -> dict[str, Any] | None:
    """The connection info of the instance's root volume, or None when it boots from its image."""
    return (block_device_info or {}).get("root") or None


def boot_volumes(block_device_info: BlockDeviceInfo | None) -> list[tuple[str, dict[str, Any]]]:
    """``[(mountpoint, connection_info)]`` of the volumes besides the root the instance has from boot."""
    volumes = (block_device_info or {}).get("volumes") or []
    return [(volume["mountpoint"], volume["connection_info"]) for volume in volumes]


def volume_backed_refusal(what: str) -> exception.UnsupportedOperation:
    """The error rescue and snapshot raise for an instance whose root disk is a volume."""
    return exception.UnsupportedOperation(reason=f"{what} of a volume-backed instance")


class ComputeDriver:
    """Base class: every operation unsupported until a driver implements it."""

    hypervisor_type = "unknown"

    def _unsupported(self, what: str) -> Any:
        raise exception.UnsupportedOperation(reason=f"the {self.hypervisor_type} driver cannot {what}")

    def init_host(self, host: str) -> None:
        """Connect and prepare; called once before the service consumes messages."""

    def list_instances(self) -> list[str]:
        """Names of the domains this driver runs (defined or running)."""
        return self._unsupported("list instances")

    def get_info(self, instance_name: str) -> dict[str, Any]:
        """``{state, max_mem, mem, num_cpu, cpu_time}``; InstanceNotFound when unknown."""
        return self._unsupported("report instance state")

    def spawn(self, ctxt: Context, instance: Any, network_info: NetworkInfo,
              block_device_info: BlockDeviceInfo | None = None) -> None:
        """Create and start the instance's domain, with the volumes of ``block_device_info`` (its root volume as
        vda instead of a disk of its image); returns once it runs."""
        return self._unsupported("spawn")

    def destroy(self, instance: Any, network_info: NetworkInfo | None = None, cleanup: bool = True) -> None:
        """Stop and remove the domain (and its files when ``cleanup``); a missing domain is fine."""
        return self._unsupported("destroy")

    def reboot(self, instance: Any, network_info: NetworkInfo) -> None:
        return self._unsupported("reboot")

    def power_off(self, instance: Any) -> None:
        return self._unsupported("power off")

    def power_on(self, instance: Any) -> None:
        return self._unsupported("power on")

    def pause(self, instance: Any) -> None:
        return self._unsupported("pause")

    def unpause(self, instance: Any) -> None:
        return self._unsupported("unpause")

    def suspend(self, instance: Any) -> None:
        return self._unsupported("suspend")

    def resume(self, instance: Any) -> None:
        return self._unsupported("resume")

    def rescue(self, ctxt: Context, instance: Any, network_info: NetworkInfo) -> None:
        """Boot a fresh disk of the image with the instance's disk second; UnsupportedOperation when volume-backed."""
        return self._unsupported("rescue")

    def unrescue(self, instance: Any, network_info: NetworkInfo) -> None:
        return self._unsupported("unrescue")

    def snapshot(self, ctxt: Context, instance: Any, image_id: int) -> None:
        """Store the instance's disk as image ``image_id`` through the image service; UnsupportedOperation when
        volume-backed."""
        return self._unsupported("snapshot")

    def get_console_output(self, instance: Any) -> str:
        return self._unsupported("read the console")

    def attach_volume(self, instance: Any, connection_info: dict[str, Any], mountpoint: str) -> None:
        """Give the instance the volume of ``connection_info`` (a volume host's answer to initialize_connection)
        as ``mountpoint`` (``/dev/vdb``..), now and across stop/start; DeviceInUse when that device is taken."""
        return self._unsupported("attach volumes")

    def detach_volume(self, instance: Any, connection_info: dict[str, Any] | None, mountpoint: str) -> None:
        """Take the volume at ``mountpoint`` away from the instance; nothing there is not an error."""
        return self._unsupported("detach volumes")

    def get_available_resource(self) -> dict[str, Any]:
        """``{vcpus, memory_mb, local_gb, hypervisor_type, hypervisor_version}`` of this host."""
        return self._unsupported("report resources")

    def host_resources(self, path: str) -> dict[str, Any]:
        """CPU, memory and disk of the machine this driver runs on, as the scheduler weighs them.

        Read from ``/proc/meminfo``, the CPU count and the file system holding
        ``path`` (its nearest existing parent).  A driver whose instances live
        elsewhere overrides it.
        """
        memory_kb = 0
        try:
            with open("/proc/meminfo") as meminfo:
                for line in meminfo:
                    if line.startswith("MemTotal:"):
                        memory_kb = int(line.split()[1])
                        break
        except OSError:
            pass
        probe = path
        while probe and not os.path.exists(probe):
            probe = os.path.dirname(probe)
        disk = shutil.disk_usage(probe or "/")
        return {
            "vcpus": os.cpu_count() or 1,
            "memory_mb": memory_kb // 1024,
            "local_gb": disk.total // (1024 ** 3),
            "local_gb_free": disk.free // (1024 ** 3),
        }
