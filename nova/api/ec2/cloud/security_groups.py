"""Security groups: Create/Delete/DescribeSecurityGroups and
Authorize/RevokeSecurityGroupIngress.

Rules are stored here (CIDR or source-group rules for tcp, udp and icmp) and
compute hosts are told to refresh; nova-network enforces them.  Groups are
per project; ids shown to clients are ``sg-%08x`` of database ids.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nova import context, exception, quota
from nova.api.ec2 import ec2utils
from nova.api.ec2.actions import ALL, NETADMIN, ActionSet
from nova.api.ec2.cloud import tags as tagging
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Ec2Id, Filters, Integer, ListOf, Param, String, Struct
from nova.compute import api as compute_api
from nova.db import api as db

actions = ActionSet()
GROUP_NAME = String(max_length=255, min_length=1, pattern=r"[\x20-\x7e]+")
PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "6": "tcp", "17": "udp", "1": "icmp"}

_PERMISSION = Struct(
    Param("IpProtocol", String(max_length=16), required=True),
    Param("FromPort", Integer(-1, 65535)),
    Param("ToPort", Integer(-1, 65535)),
    Param("IpRanges", ListOf(Struct(Param("CidrIp", String(max_length=64), required=True),
                                    Param("Description", String()))), default=[]),
    Param("Groups", ListOf(Struct(Param("GroupName", GROUP_NAME), Param("GroupId", Ec2Id("sg")),
                                  Param("UserId", String()), Param("Description", String()))), default=[]),
)
_RULE_PARAMS = [
    Param("GroupName", GROUP_NAME),
    Param("GroupId", Ec2Id("sg")),
    Param("IpPermissions", ListOf(_PERMISSION, max_items=100), default=[]),
    Param("IpProtocol", String(max_length=16)),
    Param("FromPort", Integer(-1, 65535)),
    Param("ToPort", Integer(-1, 65535)),
    Param("CidrIp", String(max_length=64)),
    Param("SourceSecurityGroupName", GROUP_NAME),
    Param("SourceSecurityGroupOwnerId", String()),
]


def _compute() -> compute_api.API:
    return compute_api.API()


def _find_group(ctxt: context.RequestContext, group_name: str | None, group_id: int | None) -> Any:
    if group_id is not None:
        return db.security_group_get(ctxt, group_id)
    if group_name:
        try:
            return db.security_group_get_by_name(ctxt, ctxt.project_id, group_name)
        except exception.NotFound:
            raise EC2APIError("InvalidGroup.NotFound", f"The security group '{group_name}' does not exist") from None
    raise EC2APIError("MissingParameter", "The request must contain the parameter GroupName or GroupId")


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise EC2APIError("InvalidParameterValue", f"Value ({value[:64]}) for parameter cidrIp is invalid. "
                          "This is not a valid CIDR block.") from None
    if network.version != 4:
        raise EC2APIError("InvalidParameterValue", "Only IPv4 CIDR blocks are supported")
    return str(network)


def _ports(protocol: str, from_port: int | None, to_port: int | None) -> tuple[int, int]:
    if from_port is None or to_port is None:
        raise EC2APIError("MissingParameter", f"A {protocol} rule needs FromPort and ToPort")
    if protocol == "icmp":
        if not -1 <= from_port <= 255 or not -1 <= to_port <= 255:
            raise EC2APIError("InvalidParameterValue", "ICMP type and code must be between -1 and 255")
        return from_port, to_port
    if not 0 <= from_port <= 65535 or not 0 <= to_port <= 65535:
        raise EC2APIError("InvalidParameterValue", f"{protocol} ports must be between 0 and 65535")
    if from_port > to_port:
        raise EC2APIError("InvalidParameterValue", f"FromPort ({from_port}) is greater than ToPort ({to_port})")
    return from_port, to_port


def _rules_from_request(ctxt: context.RequestContext, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    """Rule values (protocol, from_port, to_port, and cidr or group_id) the request names."""
    permissions = list(kwargs["ip_permissions"])
    if kwargs["ip_protocol"] or kwargs["cidr_ip"] or kwargs["source_security_group_name"]:
        permissions.append({
            "ip_protocol": kwargs["ip_protocol"] or "tcp",
            "from_port": kwargs["from_port"], "to_port": kwargs["to_port"],
            "ip_ranges": [{"cidr_ip": kwargs["cidr_ip"]}] if kwargs["cidr_ip"] else [],
            "groups": [{"group_name": kwargs["source_security_group_name"], "group_id": None,
                        "user_id": kwargs["source_security_group_owner_id"]}]
            if kwargs["source_security_group_name"] else [],
        })
    if not permissions:
        raise EC2APIError("MissingParameter", "The request must contain IpPermissions")
    rules = []
    for permission in permissions:
        protocol = PROTOCOLS.get(permission["ip_protocol"].lower())
        if protocol is None:
            raise EC2APIError("InvalidParameterValue", f"Invalid IP protocol '{permission['ip_protocol'][:16]}': "
                              "use tcp, udp or icmp")
        from_port, to_port = _ports(protocol, permission["from_port"], permission["to_port"])
        base = {"protocol": protocol, "from_port": from_port, "to_port": to_port}
        sources = [{"cidr": _cidr(r["cidr_ip"])} for r in permission["ip_ranges"]]
        for source in permission["groups"]:
            if source["group_id"] is not None:
                group = db.security_group_get(ctxt, source["group_id"])
            elif source["group_name"]:
                owner = source.get("user_id") or ctxt.project_id
                if owner != ctxt.project_id and not ctxt.is_admin:
                    raise EC2APIError("InvalidGroup.NotFound",
                                      f"The security group '{source['group_name']}' does not exist")
                try:
                    group = db.security_group_get_by_name(ctxt, owner, source["group_name"])
                except exception.NotFound:
                    raise EC2APIError("InvalidGroup.NotFound",
                                      f"The security group '{source['group_name']}' does not exist") from None
            else:
                raise EC2APIError("MissingParameter", "A source group needs GroupName or GroupId")
            sources.append({"group_id": group["id"]})
        if not sources:
            sources.append({"cidr": "0.0.0.0/0"})
        rules.extend(dict(base, **source) for source in sources)
    return rules


def _same(rule: Any, values: dict[str, Any]) -> bool:
    return all(rule[key] == values.get(key) for key in ("protocol", "from_port", "to_port", "cidr", "group_id"))


@actions.register("AuthorizeSecurityGroupIngress", roles=NETADMIN, params=_RULE_PARAMS)
def authorize_security_group_ingress(ctxt: context.RequestContext, **kwargs: Any) -> dict[str, Any]:
    group = _find_group(ctxt, kwargs["group_name"], kwargs["group_id"])
    rules = _rules_from_request(ctxt, kwargs)
    existing = db.security_group_rule_get_by_security_group(ctxt, group["id"])
    for values in rules:
        if any(_same(rule, values) for rule in existing):
            raise EC2APIError("InvalidPermission.Duplicate", "The specified rule already exists in "
                              f"security group {ec2utils.id_to_ec2_id(group['id'], 'sg')}")
    if quota.allowed(ctxt, ctxt.project_id, "security_group_rules", len(existing), len(rules)) < len(rules):
        raise EC2APIError("RulesPerSecurityGroupLimitExceeded",
                          "The maximum number of rules per security group has been reached")
    for values in rules:
        db.security_group_rule_create(ctxt, dict(values, parent_group_id=group["id"]))
    _compute().trigger_security_group_rules_refresh(ctxt, group["id"])
    return {"return": True}


@actions.register("RevokeSecurityGroupIngress", roles=NETADMIN, params=_RULE_PARAMS)
def revoke_security_group_ingress(ctxt: context.RequestContext, **kwargs: Any) -> dict[str, Any]:
    group = _find_group(ctxt, kwargs["group_name"], kwargs["group_id"])
    rules = _rules_from_request(ctxt, kwargs)
    existing = db.security_group_rule_get_by_security_group(ctxt, group["id"])
    doomed = []
    for values in rules:
        match = [rule for rule in existing if _same(rule, values)]
        if not match:
            raise EC2APIError("InvalidPermission.NotFound", "The specified rule does not exist in this "
                              "security group.")
        doomed.extend(match)
    for rule in doomed:
        db.security_group_rule_destroy(ctxt, rule["id"])
    _compute().trigger_security_group_rules_refresh(ctxt, group["id"])
    return {"return": True}


@actions.register("CreateSecurityGroup", roles=NETADMIN, params=[
    Param("GroupName", GROUP_NAME, required=True),
    Param("GroupDescription", String(max_length=255, min_length=1), required=True),
    Param("VpcId", String()),
    Param("TagSpecification", tagging.TAG_SPECIFICATIONS, default=[], dest="tag_specifications"),
])
def create_security_group(ctxt: context.RequestContext, group_name: str, group_description: str,
                          vpc_id: str | None, tag_specifications: list[dict[str, Any]]) -> dict[str, Any]:
    if vpc_id:
        raise exception.UnsupportedOperation(reason="this cloud has no VPCs")
    new_tags = tagging.tags_for(tag_specifications, "security-group")
    compute_api.API.ensure_default_security_group(ctxt)
    if db.security_group_exists(ctxt, ctxt.project_id, group_name):
        raise EC2APIError("InvalidGroup.Duplicate", f"The security group '{group_name}' already exists")
    in_use = len(db.security_group_get_by_project(ctxt, ctxt.project_id))
    if quota.allowed(ctxt, ctxt.project_id, "security_groups", in_use, 1) < 1:
        raise EC2APIError("SecurityGroupLimitExceeded", "You have reached the limit of security groups")
    group = db.security_group_create(ctxt, {"name": group_name, "description": group_description,
                                            "user_id": ctxt.user_id, "project_id": ctxt.project_id})
    tagging.apply(ctxt, "security-group", group["id"], new_tags)
    return {"return": True, "groupId": ec2utils.id_to_ec2_id(group["id"], "sg"),
            "tagSet": [{"key": k, "value": v} for k, v in new_tags.items()]}


@actions.register("DeleteSecurityGroup", roles=NETADMIN, params=[
    Param("GroupName", GROUP_NAME),
    Param("GroupId", Ec2Id("sg")),
])
def delete_security_group(ctxt: context.RequestContext, group_name: str | None, group_id: int | None) -> bool:
    group = _find_group(ctxt, group_name, group_id)
    if group["name"] == "default":
        raise EC2APIError("CannotDelete", "the default security group cannot be deleted")
    if db.security_group_in_use(ctxt, group["id"]):
        raise EC2APIError("InvalidGroup.InUse", f"Group {ec2utils.id_to_ec2_id(group['id'], 'sg')} is used by "
                          "instances")
    db.security_group_destroy(ctxt, group["id"])
    tagging.delete_all(ctxt, "security-group", group["id"])
    return True


def _group_names(ctxt: context.RequestContext) -> dict[int, tuple[str, str]]:
    rows = db.security_group_get_all(ctxt.elevated()) if ctxt.is_admin else \
        db.security_group_get_by_project(ctxt, ctxt.project_id)
    return {row["id"]: (row["name"], row["project_id"]) for row in rows}


def render_permissions(rules: list[Any], names: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    grouped: dict[tuple[Any, Any, Any], dict[str, Any]] = {}
    for rule in rules:
        key = (rule["protocol"], rule["from_port"], rule["to_port"])
        entry = grouped.setdefault(key, {"ipProtocol": rule["protocol"], "fromPort": rule["from_port"],
                                         "toPort": rule["to_port"], "groups": [], "ipRanges": []})
        if rule["group_id"] is not None:
            name, owner = names.get(rule["group_id"], ("", ""))
            entry["groups"].append({"userId": owner, "groupId": ec2utils.id_to_ec2_id(rule["group_id"], "sg"),
                                    "groupName": name})
        elif rule["cidr"]:
            entry["ipRanges"].append({"cidrIp": rule["cidr"]})
    return list(grouped.values())


@actions.register("DescribeSecurityGroups", roles=ALL, params=[
    Param("GroupName", ListOf(GROUP_NAME), default=[]),
    Param("GroupId", ListOf(Ec2Id("sg")), default=[]),
    Param("Filter", Filters("group-name", "group-id", "description", "owner-id", "ip-permission.cidr",
                            "ip-permission.protocol", "ip-permission.from-port", "ip-permission.to-port",
                            "ip-permission.group-name", "tag:"), default={}, dest="filters"),
])
def describe_security_groups(ctxt: context.RequestContext, group_name: list[str], group_id: list[int],
                             filters: dict[str, list[str]]) -> dict[str, Any]:
    compute_api.API.ensure_default_security_group(ctxt)
    groups = db.security_group_get_all(ctxt) if ctxt.is_admin else \
        db.security_group_get_by_project(ctxt, ctxt.project_id)
    for name in group_name:
        if not any(g["name"] == name and g["project_id"] == ctxt.project_id for g in groups):
            raise EC2APIError("InvalidGroup.NotFound", f"The security group '{name}' does not exist")
    for gid in group_id:
        if not any(g["id"] == gid for g in groups):
            raise EC2APIError("InvalidGroup.NotFound",
                              f"The security group '{ec2utils.id_to_ec2_id(gid, 'sg')}' does not exist")
    if group_name:
        groups = [g for g in groups if g["name"] in group_name and g["project_id"] == ctxt.project_id]
    if group_id:
        groups = [g for g in groups if g["id"] in group_id]
    names = {g["id"]: (g["name"], g["project_id"]) for g in groups}
    names.update(_group_names(ctxt))
    all_tags = db.tag_get_by_resources(ctxt, "security-group", [g["id"] for g in groups])
    values = {
        "group-name": lambda g: [g["name"]],
        "group-id": lambda g: [ec2utils.id_to_ec2_id(g["id"], "sg")],
        "description": lambda g: [g["description"]],
        "owner-id": lambda g: [g["project_id"]],
        "ip-permission.cidr": lambda g: [r["cidr"] for r in g.rules if r["cidr"]],
        "ip-permission.protocol": lambda g: [r["protocol"] for r in g.rules],
        "ip-permission.from-port": lambda g: [r["from_port"] for r in g.rules],
        "ip-permission.to-port": lambda g: [r["to_port"] for r in g.rules],
        "ip-permission.group-name": lambda g: [names.get(r["group_id"], ("",))[0] for r in g.rules
                                               if r["group_id"] is not None],
    }
    groups = [g for g in groups if tagging.matches(filters, values, g, all_tags.get(g["id"], {}))]
    return {"securityGroupInfo": [{
        "ownerId": g["project_id"],
        "groupId": ec2utils.id_to_ec2_id(g["id"], "sg"),
        "groupName": g["name"],
        "groupDescription": g["description"],
        "ipPermissions": render_permissions(list(g.rules), names),
        "ipPermissionsEgress": [],
        "tagSet": [{"key": k, "value": v or ""} for k, v in sorted(all_tags.get(g["id"], {}).items())],
    } for g in groups]}
