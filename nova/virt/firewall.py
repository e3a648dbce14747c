"""The firewall interface compute drives for every instance it runs.

``--firewall_driver`` names the class.  The compute manager calls
``prepare_instance_filter`` before spawning, ``apply_instance_filter`` once
the domain exists, ``unfilter_instance`` when it is destroyed, and the two
``refresh_*`` methods when a security group's rules or members change.  The
iptables implementation lives with nova-network's linux_net code.
"""

from __future__ import annotations

from typing import Any

from nova import flags

FLAGS = flags.FLAGS

flags.DEFINE_string("firewall_driver", "nova.virt.firewall.NoopFirewallDriver",
                    "Class that filters instance traffic by security group")


class FirewallDriver:
    """What every firewall driver provides; instances are db rows, NICs dicts."""

    def prepare_instance_filter(self, instance: Any, network_info: list[dict[str, Any]]) -> None:
        """Set up the instance's filtering before its domain starts."""
        raise NotImplementedError()

    def apply_instance_filter(self, instance: Any, network_info: list[dict[str, Any]]) -> None:
        """Enforce the instance's filtering once its domain exists."""
        raise NotImplementedError()

    def unfilter_instance(self, instance: Any) -> None:
        """Remove everything set up for the instance."""
        raise NotImplementedError()

    def refresh_security_group_rules(self, security_group_id: int) -> None:
        """Rebuild the filters of the group's instances after a rule change."""
        raise NotImplementedError()

    def refresh_security_group_members(self, security_group_id: int) -> None:
        """Rebuild filters that grant ``security_group_id`` after its membership changed."""
        raise NotImplementedError()

    def instance_filter_exists(self, instance: Any) -> bool:
        raise NotImplementedError()


class NoopFirewallDriver(FirewallDriver):
    """Filters nothing, but remembers which instances it was asked to filter."""

    def __init__(self) -> None:
        self._instances: set[int] = set()

    def prepare_instance_filter(self, instance: Any, network_info: list[dict[str, Any]]) -> None:
        self._instances.add(instance["id"])

    def apply_instance_filter(self, instance: Any, network_info: list[dict[str, Any]]) -> None:
        self._instances.add(instance["id"])

    def unfilter_instance(self, instance: Any) -> None:
        self._instances.discard(instance["id"])

    def refresh_security_group_rules(self, security_group_id: int) -> None:
        pass

    def refresh_security_group_members(self, security_group_id: int) -> None:
        pass

    def instance_filter_exists(self, instance: Any) -> bool:
        return instance["id"] in self._instances
