"""Security groups: Create/Delete/DescribeSecurityGroups and
Authorize/RevokeSecurityGroupIngress.

This cloud is EC2-Classic: egress rules belong to VPC groups, so
Authorize/RevokeSecurityGroupEgress answer ``InvalidParameterValue``.
Revoking a rule that is not there succeeds and lists it under
``unknownIpPermissionSet``, as EC2 does today; ``IpProtocol -1`` is every
protocol.

Groups, rules, source groups, the ``default`` group and the quotas live
behind ``nova.securitygroup.api``; this module turns EC2 parameters into the
API's rule requests and renders groups.  Ids shown to clients are
``sg-%08x`` of database ids.
"""

from __future__ import annotations

from typing import Any, Callable

from nova import context, exception, gc_pause
from nova.api.ec2 import ec2utils, xmlutil
from nova.api.ec2.actions import ALL, NETADMIN, ActionSet
from nova.api.ec2.cloud import tags as tagging
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Ec2Id, Filters, Integer, ListOf, Param, String, Struct
from nova.securitygroup import api as security_group_api

actions = ActionSet()
GROUP_NAME = String(max_length=255, min_length=1, pattern=r"[\x20-\x7e]+")

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


def _api() -> security_group_api.API:
    return security_group_api.API()


def _group_id(ctxt: context.RequestContext, group_name: str | None, group_id: int | None) -> int:
    if group_id is not None:
        return group_id
    if group_name:
        return _api().get_by_name(ctxt, group_name)["id"]
    raise EC2APIError("MissingParameter", "The request must contain the parameter GroupName or GroupId")


def _rule_requests(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    """The security-group API's rule requests for ``IpPermissions.N`` and the flat parameters."""
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
    return [{
        "protocol": p["ip_protocol"], "from_port": p["from_port"], "to_port": p["to_port"],
        "cidrs": [r["cidr_ip"] for r in p["ip_ranges"]],
        "source_groups": [{"id": g["group_id"], "name": g["group_name"], "owner": g.get("user_id")}
                          for g in p["groups"]],
    } for p in permissions]


@actions.register("AuthorizeSecurityGroupIngress", roles=NETADMIN, params=_RULE_PARAMS)
def authorize_security_group_ingress(ctxt: context.RequestContext, **kwargs: Any) -> dict[str, Any]:
    group_id = _group_id(ctxt, kwargs["group_name"], kwargs["group_id"])
    _api().authorize(ctxt, group_id, _rule_requests(kwargs))
    return {"return": True}


@actions.register("RevokeSecurityGroupIngress", roles=NETADMIN, params=_RULE_PARAMS)
def revoke_security_group_ingress(ctxt: context.RequestContext, **kwargs: Any) -> dict[str, Any]:
    group_id = _group_id(ctxt, kwargs["group_name"], kwargs["group_id"])
    unknown = _api().revoke(ctxt, group_id, _rule_requests(kwargs), missing_ok=True)
    names = _api().names_of(ctxt, [r["group_id"] for r in unknown if r["group_id"] is not None])
    return {"return": True, "unknownIpPermissionSet": render_permissions(unknown, names) if unknown else None}


_EGRESS_PARAMS = [p for p in _RULE_PARAMS if p.name != "GroupName"] + [
    Param("TagSpecification", tagging.TAG_SPECIFICATIONS, default=[], dest="tag_specifications")]


def _no_egress(ctxt: context.RequestContext, group_id: int | None) -> EC2APIError:
    if group_id is None:
        raise EC2APIError("MissingParameter", "The request must contain the parameter GroupId")
    _api().get(ctxt, group_id)
    return EC2APIError("InvalidParameterValue",
                       "Egress rules belong to VPC security groups; this cloud has no VPCs (EC2-Classic).")


@actions.register("AuthorizeSecurityGroupEgress", roles=NETADMIN, params=_EGRESS_PARAMS)
def authorize_security_group_egress(ctxt: context.RequestContext, **kwargs: Any) -> dict[str, Any]:
    raise _no_egress(ctxt, kwargs["group_id"])


@actions.register("RevokeSecurityGroupEgress", roles=NETADMIN, params=_EGRESS_PARAMS)
def revoke_security_group_egress(ctxt: context.RequestContext, **kwargs: Any) -> dict[str, Any]:
    raise _no_egress(ctxt, kwargs["group_id"])


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
    new_tags = tagging.tags_for(tag_specifications, security_group_api.RESOURCE_TYPE)
    group = _api().create(ctxt, group_name, group_description, new_tags)
    return {"return": True, "groupId": ec2utils.id_to_ec2_id(group["id"], "sg"),
            "tagSet": [{"key": k, "value": v} for k, v in new_tags.items()]}


@actions.register("DeleteSecurityGroup", roles=NETADMIN, params=[
    Param("GroupName", GROUP_NAME),
    Param("GroupId", Ec2Id("sg")),
])
def delete_security_group(ctxt: context.RequestContext, group_name: str | None, group_id: int | None) -> bool:
    _api().delete(ctxt, _group_id(ctxt, group_name, group_id))
    return True


def render_permissions(rules: list[Any], names: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    grouped: dict[tuple[Any, Any, Any], dict[str, Any]] = {}
    for rule in rules:
        key = (rule["protocol"], rule["from_port"], rule["to_port"])
        entry = grouped.setdefault(key, {"ipProtocol": rule["protocol"] or "-1", "fromPort": rule["from_port"],
                                         "toPort": rule["to_port"], "groups": [], "ipRanges": []})
        if rule["group_id"] is not None:
            name, owner = names.get(rule["group_id"], ("", ""))
            entry["groups"].append({"userId": owner, "groupId": ec2utils.id_to_ec2_id(rule["group_id"], "sg"),
                                    "groupName": name})
        elif rule["cidr"]:
            entry["ipRanges"].append({"cidrIp": rule["cidr"]})
    return list(grouped.values())


_GROUP_FILTERS: dict[str, Callable[[Any], list[Any]]] = {
    "group-name": lambda g: [g["name"]],
    "group-id": lambda g: [ec2utils.id_to_ec2_id(g["id"], "sg")],
    "description": lambda g: [g["description"]],
    "owner-id": lambda g: [g["project_id"]],
    "ip-permission.cidr": lambda g: [r["cidr"] for r in g.rules if r["cidr"]],
    "ip-permission.protocol": lambda g: [r["protocol"] or "-1" for r in g.rules],
    "ip-permission.from-port": lambda g: [r["from_port"] for r in g.rules if r["from_port"] is not None],
    "ip-permission.to-port": lambda g: [r["to_port"] for r in g.rules if r["to_port"] is not None],
    "ip-permission.group-id": lambda g: [ec2utils.id_to_ec2_id(r["group_id"], "sg") for r in g.rules
                                         if r["group_id"] is not None],
    # Filled per request: they need the source groups' names and owners.
    "ip-permission.group-name": lambda g: [],
    "ip-permission.user-id": lambda g: [],
    # EC2-Classic groups have no egress rules and no VPC.
    "egress.ip-permission.cidr": lambda g: [],
    "egress.ip-permission.protocol": lambda g: [],
    "egress.ip-permission.from-port": lambda g: [],
    "egress.ip-permission.to-port": lambda g: [],
    "egress.ip-permission.group-id": lambda g: [],
    "egress.ip-permission.group-name": lambda g: [],
    "egress.ip-permission.user-id": lambda g: [],
    "vpc-id": lambda g: [],
}


@actions.register("DescribeSecurityGroups", roles=ALL, params=[
    Param("GroupName", ListOf(GROUP_NAME), default=[]),
    Param("GroupId", ListOf(Ec2Id("sg")), default=[]),
    Param("Filter", Filters(*_GROUP_FILTERS, "tag:"), default={}, dest="filters"),
    Param("MaxResults", Integer(5, 1000)),
    Param("NextToken", String(max_length=64)),
])
def describe_security_groups(ctxt: context.RequestContext, group_name: list[str], group_id: list[int],
                             filters: dict[str, list[str]], max_results: int | None,
                             next_token: str | None) -> dict[str, Any]:
    """Groups by id; a page's NextToken is the last id shown.  Without names, ids or filters the
    page is cut in SQL; otherwise those are matched here on the groups after the token."""
    groups = tagging.listed(lambda: _api().get_all(ctxt, names=group_name, ids=group_id),
                            lambda after, limit: _api().get_all(ctxt, after_id=after, limit=limit),
                            bool(group_name or group_id or filters), max_results, next_token)
    with gc_pause.collection_paused():
        return _render_groups(ctxt, groups, filters, max_results)


def _render_groups(ctxt: context.RequestContext, groups: list[Any], filters: dict[str, list[str]],
                   max_results: int | None) -> dict[str, Any]:
    names = _api().source_group_names(ctxt, groups)
    all_tags = tagging.get_by_resources(ctxt, security_group_api.RESOURCE_TYPE, [g["id"] for g in groups])
    if filters:
        values = dict(_GROUP_FILTERS, **{
            "ip-permission.group-name": lambda g: [names.get(r["group_id"], ("",))[0] for r in g.rules
                                                   if r["group_id"] is not None],
            "ip-permission.user-id": lambda g: [names.get(r["group_id"], ("", ""))[1] for r in g.rules
                                                if r["group_id"] is not None],
        })
        groups = [g for g in groups if tagging.matches(filters, values, g, all_tags.get(g["id"], {}))]
    shown, token = tagging.id_page(groups, max_results)
    return {"securityGroupInfo": xmlutil.items([{
        "ownerId": g["project_id"],
        "groupId": ec2utils.id_to_ec2_id(g["id"], "sg"),
        "groupName": g["name"],
        "groupDescription": g["description"],
        "ipPermissions": render_permissions(g.rules, names),
        "ipPermissionsEgress": [],
        "tagSet": [{"key": k, "value": v or ""} for k, v in sorted(all_tags.get(g["id"], {}).items())],
    } for g in shown]), "nextToken": token}
