"""``/v2.0/security-groups`` and ``/v2.0/security-group-rules`` over ``nova.securitygroup.api``.

nova's rules are ingress IPv4 rules for tcp, udp or icmp from a CIDR or a
source group; a rule the Neutron API could describe but nova cannot enforce
(egress, IPv6, any protocol) is a 400.  A tcp or udp rule without ports
covers 1-65535; an icmp rule's missing type or code is nova's -1 and is shown
as null.
"""

from __future__ import annotations

import logging
from typing import Any

import webob

from nova import context as nova_context
from nova import utils
from nova.api.network import common
from nova.api.network.faults import Fault
from nova.securitygroup import api as securitygroup_api

LOG = logging.getLogger(__name__)
Context = nova_context.RequestContext
GROUP_FILTERS = ("id", "name", "description", "project_id", "tenant_id")
RULE_FILTERS = ("id", "security_group_id", "direction", "ethertype", "protocol", "port_range_min",
                "port_range_max", "remote_ip_prefix", "remote_group_id", "project_id", "tenant_id")
PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp"}


def rule_view(ctxt: Context, rule: Any, project_id: str) -> dict[str, Any]:
    icmp = rule["protocol"] == "icmp"
    low, high = rule["from_port"], rule["to_port"]
    view = {"id": str(rule["id"]), "security_group_id": str(rule["parent_group_id"]), "direction": "ingress",
            "ethertype": "IPv4", "protocol": rule["protocol"],
            "port_range_min": None if icmp and low == -1 else low,
            "port_range_max": None if icmp and high == -1 else high,
            "remote_ip_prefix": rule["cidr"],
            "remote_group_id": None if rule["group_id"] is None else str(rule["group_id"]),
            "remote_address_group_id": None, "normalized_cidr": rule["cidr"], "description": "",
            "belongs_to_default_sg": False}
    view.update(common.project_fields(ctxt, project_id))
    return view


def _port(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and utils.decimal(value, 18) is not None:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Fault(400, f"Invalid input for {key}: it must be an integer or null.")
    return value


def rule_request(values: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(group id, ``nova.securitygroup.api`` rule request) of a ``security_group_rule`` body."""
    group = values.get("security_group_id")
    if not isinstance(group, (str, int)) or isinstance(group, bool) or str(group) == "":
        raise Fault(400, "Invalid input: 'security_group_id' is required.")
    group_id = common.number(str(group), "SecurityGroupNotFound", "Security group")
    if values.get("direction", "ingress") != "ingress":
        raise Fault(400, "Only ingress rules are supported by this cloud.", "InvalidInput")
    if values.get("ethertype", "IPv4") != "IPv4":
        raise Fault(400, "Only IPv4 rules are supported by this cloud.", "InvalidInput")
    raw = values.get("protocol")
    protocol = PROTOCOL_NUMBERS.get(str(raw), str(raw).lower() if isinstance(raw, str) else None)
    if protocol not in ("tcp", "udp", "icmp"):
        raise Fault(400, f"Protocol {str(raw)[:16]} is not supported: use tcp, udp or icmp.",
                    "SecurityGroupRuleInvalidProtocol")
    low = _port(values.get("port_range_min"), "port_range_min")
    high = _port(values.get("port_range_max"), "port_range_max")
    if protocol == "icmp":
        low, high = (-1 if low is None else low), (-1 if high is None else high)
    elif low is None and high is None:
        low, high = 1, 65535
    elif low is None or high is None:
        raise Fault(400, "port_range_min and port_range_max go together.", "InvalidInput")
    request: dict[str, Any] = {"protocol": protocol, "from_port": low, "to_port": high}
    remote_group, prefix = values.get("remote_group_id"), values.get("remote_ip_prefix")
    if remote_group is not None and prefix is not None:
        raise Fault(400, "Only remote_ip_prefix or remote_group_id may be provided.",
                    "SecurityGroupRemoteGroupAndRemoteIpPrefix")
    if remote_group is not None:
        request["source_groups"] = [{"id": common.number(str(remote_group), "SecurityGroupNotFound",
                                                         "Security group")}]
    elif prefix is not None:
        request["cidrs"] = [common.string(values, "remote_ip_prefix", limit=64)]
    return group_id, request


class SecurityGroups:
    def __init__(self) -> None:
        self.groups = securitygroup_api.API()

    def _view(self, ctxt: Context, group: Any) -> dict[str, Any]:
        view = {"id": str(group["id"]), "name": group["name"], "description": group["description"] or "",
                "stateful": True, "shared": False,
                "security_group_rules": [rule_view(ctxt, r, group["project_id"]) for r in group.rules]}
        view.update(common.project_fields(ctxt, group["project_id"]))
        return view

    def _mine(self, ctxt: Context) -> list[Any]:
        return [g for g in self.groups.get_all(ctxt) if g["project_id"] == ctxt.project_id]

    def _get(self, ctxt: Context, group_id: str) -> Any:
        number = common.number(group_id, "SecurityGroupNotFound", "Security group")
        for group in self._mine(ctxt):
            if group["id"] == number:
                return group
        raise Fault(404, f"Security group {group_id[:40]} does not exist", "SecurityGroupNotFound")

    def index(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        views = [self._view(ctxt, g) for g in self._mine(ctxt)]
        return common.json_response({"security_groups": [v for v in views
                                                         if common.matches(v, req.GET, GROUP_FILTERS)]})

    def show(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        return common.json_response({"security_group": self._view(ctxt, self._get(ctxt, params["id"]))})

    def create(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        values = common.body_of(req, "security_group")
        name = common.string(values, "name")
        if not name:
            raise Fault(400, "Invalid input for name: a security group needs a name.")
        if name == securitygroup_api.DEFAULT:
            raise Fault(409, "Default security group already exists.", "SecurityGroupDefaultAlreadyExists")
        if values.get("stateful", True) is not True:
            raise Fault(400, "Only stateful security groups are supported by this cloud.", "InvalidInput")
        group = self.groups.create(ctxt, name, common.string(values, "description"))
        LOG.info("Created security group %s (request %s)", group["id"], ctxt.request_id)
        return common.json_response({"security_group": self._view(ctxt, self._get(ctxt, str(group["id"])))},
                                    status=201)

    def delete(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        group = self._get(ctxt, params["id"])
        self.groups.delete(ctxt, group["id"])
        return webob.Response(status=204)


class SecurityGroupRules:
    def __init__(self) -> None:
        self.groups = securitygroup_api.API()

    def _all(self, ctxt: Context) -> list[dict[str, Any]]:
        return [rule_view(ctxt, r, g["project_id"]) for g in self.groups.get_all(ctxt)
                if g["project_id"] == ctxt.project_id for r in g.rules]

    def index(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        return common.json_response({"security_group_rules": [r for r in self._all(ctxt)
                                                              if common.matches(r, req.GET, RULE_FILTERS)]})

    def _get(self, ctxt: Context, rule_id: str) -> dict[str, Any]:
        common.number(rule_id, "SecurityGroupRuleNotFound", "Security group rule")
        for rule in self._all(ctxt):
            if rule["id"] == rule_id:
                return rule
        raise Fault(404, f"Security group rule {rule_id[:40]} does not exist", "SecurityGroupRuleNotFound")

    def show(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        return common.json_response({"security_group_rule": self._get(ctxt, params["id"])})

    def create(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        group_id, request = rule_request(common.body_of(req, "security_group_rule"))
        group = self.groups.get(ctxt, group_id)
        if group["project_id"] != ctxt.project_id:
            raise Fault(404, f"Security group {group_id} does not exist", "SecurityGroupNotFound")
        rule = self.groups.authorize(ctxt, group["id"], [request])[0]
        LOG.info("Added rule %s to security group %s (request %s)", rule["id"], group["id"], ctxt.request_id)
        return common.json_response({"security_group_rule": rule_view(ctxt, rule, group["project_id"])},
                                    status=201)

    def delete(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        rule = self._get(ctxt, params["id"])
        self.groups.delete_rule(ctxt, int(rule["id"]))
        return webob.Response(status=204)
