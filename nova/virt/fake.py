"""An in-memory virt driver: fast, for tests and benchmarks.

Domains live in a dict of this process; ``--fake_spawn_delay`` makes spawn
take time, as a real boot does, so tests can catch an instance mid-spawn.
With ``--fake_driver_state`` they are also kept in a JSON file, so a
restarted nova-compute finds its domains again, as it does beside a libvirtd
that kept running (nova-combined uses one under its state path).
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Callable

import eventlet

from nova import exception, flags
from nova.compute import states
from nova.virt import driver

FLAGS = flags.FLAGS

flags.DEFINE_float("fake_spawn_delay", 0.0, "Seconds the fake driver's spawn takes", lower_bound=0)
flags.DEFINE_integer("fake_vcpus", 16, "vCPUs the fake driver reports", lower_bound=1)
flags.DEFINE_integer("fake_memory_mb", 32768, "Memory the fake driver reports", lower_bound=1)
flags.DEFINE_integer("fake_local_gb", 1000, "Disk the fake driver reports", lower_bound=0)
flags.DEFINE_string("fake_driver_state", "",
                    "A JSON file where the fake driver keeps its domains across restarts (default: none, "
                    "domains live only as long as the process; nova-combined: $state_path/fake-hypervisor.json)")


class FakeDomain:
    def __init__(self, name: str, instance: Any, network_info: list[dict[str, Any]]) -> None:
        self.name = name
        self.state = states.RUNNING
        self.memory_mb = instance["memory_mb"] or 0
        self.vcpus = instance["vcpus"] or 0
        self.network_info = network_info
        self.console: list[str] = [f"{name} booting", f"{name} running"]
        self.rescued = False
        self.volumes: dict[str, dict[str, Any]] = {}  # mountpoint -> connection info, the root volume's as /dev/vda
        self.root_volume: dict[str, Any] | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "FakeDomain":
        domain = cls.__new__(cls)
        domain.__dict__.update(record)
        return domain


def _persisting(method: Callable[..., Any]) -> Callable[..., Any]:
    """Save the domains after a method that changes them (when --fake_driver_state is set)."""
    @functools.wraps(method)
    def wrapper(self: "FakeDriver", *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        self._save()
        return result
    return wrapper


class FakeDriver(driver.ComputeDriver):
    hypervisor_type = "fake"

    def __init__(self, read_only: bool = False) -> None:
        self.domains: dict[str, FakeDomain] = {}
        self.state_file = FLAGS.fake_driver_state
        if self.state_file and os.path.exists(self.state_file):
            with open(self.state_file) as source:
                self.domains = {name: FakeDomain.from_record(record) for name, record in json.load(source).items()}

    def init_host(self, host: str) -> None:
        pass

    def _save(self) -> None:
        if not self.state_file:
            return
        partial = self.state_file + ".partial"
        with open(partial, "w") as target:
            json.dump({name: vars(domain) for name, domain in self.domains.items()}, target)
        os.replace(partial, self.state_file)

    def _domain(self, instance: Any) -> FakeDomain:
        """The instance's domain; InstanceNotFound (naming the instance id when given a row) otherwise."""
        name = instance if isinstance(instance, str) else instance["name"]
        try:
            return self.domains[name]
        except KeyError:
            raise exception.InstanceNotFound(instance_id=name if isinstance(instance, str) else instance["id"]) \
                from None

    def list_instances(self) -> list[str]:
        return sorted(self.domains)

    def get_info(self, instance_name: str) -> dict[str, Any]:
        domain = self._domain(instance_name)
        return {"state": domain.state, "max_mem": domain.memory_mb * 1024, "mem": domain.memory_mb * 1024,
                "num_cpu": domain.vcpus, "cpu_time": 0}

    @_persisting
    def spawn(self, ctxt: Any, instance: Any, network_info: list[dict[str, Any]],
              block_device_info: dict[str, Any] | None = None) -> None:
        if instance["name"] in self.domains:
            raise exception.VirtDriverError(reason=f"domain {instance['name']} already exists")
        domain = FakeDomain(instance["name"], instance, network_info)
        root = driver.root_volume(block_device_info)
        boot = ([(driver.ROOT_MOUNTPOINT, root)] if root else []) + driver.boot_volumes(block_device_info)
        for mountpoint, connection_info in boot:
            self._check_connection_info(connection_info)
            if mountpoint in domain.volumes:
                raise exception.DeviceInUse(mountpoint=mountpoint)
            domain.volumes[mountpoint] = dict(connection_info)
        domain.root_volume = dict(root) if root else None
        if FLAGS.fake_spawn_delay:
            eventlet.sleep(FLAGS.fake_spawn_delay)
        self.domains[instance["name"]] = domain

    @_persisting
    def destroy(self, instance: Any, network_info: list[dict[str, Any]] | None = None, cleanup: bool = True) -> None:
        self.domains.pop(instance["name"], None)

    @_persisting
    def reboot(self, instance: Any, network_info: list[dict[str, Any]]) -> None:
        domain = self._domain(instance)
        domain.state = states.RUNNING
        domain.console.append(f"{domain.name} rebooted")

    @_persisting
    def power_off(self, instance: Any) -> None:
        self._domain(instance).state = states.SHUTOFF

    @_persisting
    def power_on(self, instance: Any) -> None:
        self._domain(instance).state = states.RUNNING

    @_persisting
    def pause(self, instance: Any) -> None:
        self._domain(instance).state = states.PAUSED_POWER

    @_persisting
    def unpause(self, instance: Any) -> None:
        self._domain(instance).state = states.RUNNING

    @_persisting
    def suspend(self, instance: Any) -> None:
        self._domain(instance).state = states.SUSPENDED_POWER

    @_persisting
    def resume(self, instance: Any) -> None:
        self._domain(instance).state = states.RUNNING

    @_persisting
    def rescue(self, ctxt: Any, instance: Any, network_info: list[dict[str, Any]]) -> None:
        domain = self._domain(instance)
        if domain.root_volume:
            raise driver.volume_backed_refusal("rescue")
        domain.rescued, domain.state = True, states.RUNNING

    @_persisting
    def unrescue(self, instance: Any, network_info: list[dict[str, Any]]) -> None:
        domain = self._domain(instance)
        domain.rescued, domain.state = False, states.RUNNING

    def snapshot(self, ctxt: Any, instance: Any, image_id: int) -> None:
        import io

        from nova.image import get_default_image_service

        if self._domain(instance).root_volume:
            raise driver.volume_backed_refusal("snapshot")
        get_default_image_service().store(ctxt, image_id, io.BytesIO(f"snapshot of {instance['name']}".encode()))

    def get_console_output(self, instance: Any) -> str:
        return "\n".join(self._domain(instance).console) + "\n"

    @_persisting
    def attach_volume(self, instance: Any, connection_info: dict[str, Any], mountpoint: str) -> None:
        domain = self._domain(instance)
        self._check_connection_info(connection_info)
        if mountpoint in domain.volumes:
            raise exception.DeviceInUse(mountpoint=mountpoint)
        domain.volumes[mountpoint] = dict(connection_info)

    @staticmethod
    def _check_connection_info(connection_info: dict[str, Any]) -> None:
        if not connection_info.get("driver_volume_type"):
            raise exception.VolumeAttachFailed(reason="the connection info names no driver_volume_type")

    @_persisting
    def detach_volume(self, instance: Any, connection_info: dict[str, Any] | None, mountpoint: str) -> None:
        self._domain(instance).volumes.pop(mountpoint, None)

    def volumes_of(self, instance_name: str) -> dict[str, dict[str, Any]]:
        """For tests: the instance's volumes (its root volume as ``/dev/vda``), ``{mountpoint: connection_info}``."""
        return dict(sorted(self._domain(instance_name).volumes.items()))

    def root_volume_of(self, instance_name: str) -> dict[str, Any] | None:
        """For tests: the connection info of the instance's root volume; None when it booted from its image."""
        return self._domain(instance_name).root_volume

    def get_available_resource(self) -> dict[str, Any]:
        return {"vcpus": FLAGS.fake_vcpus, "memory_mb": FLAGS.fake_memory_mb, "local_gb": FLAGS.fake_local_gb,
                "hypervisor_type": self.hypervisor_type, "hypervisor_version": 1,
                "cpu_info": f"fake ({os.cpu_count()} host cpus)"}
