"""nova-compute's manager: the instances of one host."""

from __future__ import annotations

import os
import shutil
from typing import Any

from nova import flags, manager

FLAGS = flags.FLAGS

flags.DEFINE_string("instances_path", "$state_path/instances", "Where instances keep their disks and logs")


def host_resources(path: str) -> dict[str, Any]:
    """CPU, memory and disk of this host, as the scheduler weighs them."""
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


class ComputeManager(manager.SchedulerDependentManager):
    """Manages the instances of this host through a virt driver."""

    service_name = "compute"

    def service_capabilities(self) -> dict[str, Any]:
        return host_resources(FLAGS.instances_path)
