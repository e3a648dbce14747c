"""Pick the entry point of a ``bin/`` script from the name it was run as."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Callable

from nova.cmd import common

SERVICE_TOPICS = ("compute", "network", "volume", "scheduler")
# Binaries with an entry point of their own: name -> "module:function".
ENTRY_POINTS = {
    "nova-manage": "nova.cmd.manage:main",
    "nova-combined": "nova.combined:main",
    "nova-api": "nova.cmd.api:main",
    "nova-objectstore": "nova.cmd.objectstore:main",
    "nova-dhcpbridge": "nova.cmd.dhcpbridge:main",
}


def service_entry(topic: str) -> Callable[[], int]:
    def main() -> int:
        return common.service_main(topic, sys.argv)

    return main


compute = service_entry("compute")
network = service_entry("network")
volume = service_entry("volume")
scheduler = service_entry("scheduler")


def main() -> int:
    binary = os.path.basename(sys.argv[0])
    topic = binary.rpartition("nova-")[2]
    if topic in SERVICE_TOPICS:
        return service_entry(topic)()
    target = ENTRY_POINTS.get(binary)
    if target is None:
        common.die(binary, "unknown nova binary name", status=2)
    module_name, _, function = target.partition(":")
    return getattr(importlib.import_module(module_name), function)()
