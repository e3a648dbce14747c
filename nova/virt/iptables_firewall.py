"""Security groups enforced with iptables on compute hosts (``--firewall_driver``).

Each instance gets a chain ``<binary>-inst-<id>`` in the filter table,
reached from ``<binary>-local`` (under ``nova-filter-top``, first in FORWARD)
for packets to any of its addresses.  The chain drops invalid packets,
accepts established ones and DHCP replies from the network's DHCP server,
then accepts what the instance's groups allow, CIDR rules and source-group
rules alike (a source group means the fixed addresses of its members, as of
the last refresh), and sends everything else to a DROP chain.

The rules are rebuilt from the database on every change, so a refresh after
``AuthorizeSecurityGroupIngress``/``Revoke`` (``refresh_security_group_rules``)
or after an instance joins or leaves a group
(``refresh_security_group_members``) converges to what the database says.
"""

from __future__ import annotations

import logging
from typing import Any

from nova import context, flags
from nova.db import api as db
from nova.network import linux_net
from nova.virt import firewall

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_boolean("allow_project_net_traffic", False,
                     "Let every address of an instance's own network in, whatever its groups say")


def _port_match(protocol: str, from_port: int | None, to_port: int | None) -> str:
    if protocol in ("tcp", "udp"):
        if from_port is None or from_port == -1:
            return ""
        to_port = from_port if to_port is None or to_port == -1 else to_port
        ports = str(from_port) if from_port == to_port else f"{from_port}:{to_port}"
        return f" -m {protocol} --dport {ports}"
    if protocol == "icmp":
        if from_port is None or from_port == -1:
            return ""
        icmp = str(from_port) if to_port is None or to_port == -1 else f"{from_port}/{to_port}"
        return f" -m icmp --icmp-type {icmp}"
    return ""


class IptablesFirewallDriver(firewall.FirewallDriver):
    """One iptables chain per instance, in this process's iptables manager."""

    def __init__(self) -> None:
        self.instances: dict[int, Any] = {}
        self.network_infos: dict[int, list[dict[str, Any]]] = {}
        self._fallback_ready = False

    @property
    def _filter(self) -> Any:
        return linux_net.iptables_manager().tables["filter"]

    def _ensure_fallback(self) -> None:
        if not self._filter.has_chain("sg-fallback"):
            self._filter.add_chain("sg-fallback")
            self._filter.add_rule("sg-fallback", "-j DROP")

    @staticmethod
    def _chain(instance_id: int) -> str:
        return f"inst-{instance_id}"

    def prepare_instance_filter(self, instance: Any, network_info: list[dict[str, Any]]) -> None:
        self.instances[instance["id"]] = instance
        self.network_infos[instance["id"]] = list(network_info)
        self._ensure_fallback()
        self._build(instance["id"])
        linux_net.iptables_manager().apply()

    def apply_instance_filter(self, instance: Any, network_info: list[dict[str, Any]]) -> None:
        """The chain is live from prepare_instance_filter on; nothing more to do."""

    def unfilter_instance(self, instance: Any) -> None:
        if self.instances.pop(instance["id"], None) is None:
            return
        self.network_infos.pop(instance["id"], None)
        self._remove(instance["id"])
        linux_net.iptables_manager().apply()

    def instance_filter_exists(self, instance: Any) -> bool:
        return self._filter.has_chain(self._chain(instance["id"]))

    def refresh_security_group_rules(self, security_group_id: int) -> None:
        admin = context.get_admin_context()
        members = {i["id"] for i in db.security_group_get_instances(admin, security_group_id)}
        self._rebuild([i for i in self.instances if i in members])

    def refresh_security_group_members(self, security_group_id: int) -> None:
        admin = context.get_admin_context()
        granting = {r["parent_group_id"]
                    for r in db.security_group_rule_get_by_security_group_grantee(admin, security_group_id)}
        affected = []
        for instance_id in self.instances:
            groups = {g["id"] for g in db.security_group_get_by_instance(admin, instance_id)}
            if groups & granting:
                affected.append(instance_id)
        self._rebuild(affected)

    def _rebuild(self, instance_ids: list[int]) -> None:
        if not instance_ids:
            return
        for instance_id in instance_ids:
            self._build(instance_id)
        linux_net.iptables_manager().apply()

    def _remove(self, instance_id: int) -> None:
        chain = self._chain(instance_id)
        self._filter.remove_chain(chain)

    def _build(self, instance_id: int) -> None:
        """(Re)write the instance's chain from the database."""
        self._remove(instance_id)
        chain = self._chain(instance_id)
        table = self._filter
        table.add_chain(chain)
        nics = self.network_infos.get(instance_id, [])
        for nic in nics:
            table.add_rule("local", f"-d {nic['address']}/32 -j ${chain}")
        table.add_rule(chain, "-m state --state INVALID -j DROP")
        table.add_rule(chain, "-m state --state ESTABLISHED,RELATED -j ACCEPT")
        for nic in nics:
            if nic.get("dhcp_server"):
                table.add_rule(chain, f"-s {nic['dhcp_server']}/32 -p udp -m udp --sport 67 --dport 68 -j ACCEPT")
            if FLAGS.allow_project_net_traffic and nic.get("cidr"):
                table.add_rule(chain, f"-s {nic['cidr']} -j ACCEPT")
        for rule in self._rules(instance_id):
            table.add_rule(chain, rule)
        table.add_rule(chain, "-j $sg-fallback")

    def _rules(self, instance_id: int) -> list[str]:
        admin = context.get_admin_context()
        rules = []
        for group in db.security_group_get_by_instance(admin, instance_id):
            for rule in db.security_group_rule_get_by_security_group(admin, group["id"]):
                protocol = (rule["protocol"] or "").strip().lower()
                if rule["cidr"]:
                    sources = [rule["cidr"]]
                elif rule["group_id"]:
                    sources = [f"{f['address']}/32"
                               for f in db.fixed_ip_get_all_by_security_group(admin, rule["group_id"])]
                else:
                    continue
                match = (f" -p {protocol}" if protocol else "") + _port_match(
                    protocol, rule["from_port"], rule["to_port"])
                for source in sources:
                    rules.append(f"-s {source}{match} -j ACCEPT")
        return rules
