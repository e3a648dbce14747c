"""nova-network's managers: the three strategies of the first Nova.

``--network_manager`` picks one of FlatManager, FlatDHCPManager and
VlanManager; nova-api and nova-compute load the same class to call parts of
it in process.
"""

from __future__ import annotations

from typing import Any

from nova import context, flags, manager

FLAGS = flags.FLAGS


class NetworkManager(manager.SchedulerDependentManager):
    """Fixed and floating addresses common to every strategy."""

    service_name = "network"

    def allocate_for_instance(self, ctxt: context.RequestContext, instance_id: int, host: str) -> list[dict[str, Any]]:
        """NICs for an instance; none until networks are implemented."""
        return []

    def deallocate_for_instance(self, ctxt: context.RequestContext, instance_id: int) -> None:
        """Release an instance's addresses."""


class FlatManager(NetworkManager):
    """One network on a pre-existing bridge; addresses injected, no DHCP."""


class FlatDHCPManager(FlatManager):
    """One network whose bridge and dnsmasq the network host runs."""


class VlanManager(NetworkManager):
    """One VLAN, bridge and dnsmasq per project."""
