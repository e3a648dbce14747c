"""nova-network's managers: the three strategies of the first Nova.

``--network_manager`` picks one of FlatManager, FlatDHCPManager and
VlanManager; nova-api and nova-compute load the same class to call parts of
it in process.
"""

from __future__ import annotations

from nova import flags, manager

FLAGS = flags.FLAGS


class NetworkManager(manager.SchedulerDependentManager):
    """Fixed and floating addresses common to every strategy."""

    service_name = "network"


class FlatManager(NetworkManager):
    """One network on a pre-existing bridge; addresses injected, no DHCP."""


class FlatDHCPManager(FlatManager):
    """One network whose bridge and dnsmasq the network host runs."""


class VlanManager(NetworkManager):
    """One VLAN, bridge and dnsmasq per project."""
