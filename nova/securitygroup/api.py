"""The security-group service API: groups, rules, source groups, the ``default`` group and quotas.

A rule request is a dict: ``protocol`` (tcp, udp, icmp or their numbers;
``-1`` or ``all`` for every protocol, stored as None, without ports),
``from_port``, ``to_port``, ``cidrs`` (a list of CIDR blocks) and
``source_groups`` (a list of ``{"id": ..., "name": ..., "owner": ...}``; a
name is looked up in ``owner``'s project, the caller's by default).  One
request becomes one rule row per CIDR and source group, or one rule for
``0.0.0.0/0`` when it names neither.  Compute hosts are told to refresh after
every change.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any, Iterable

from nova import context as nova_context
from nova import exception, quota
from nova.db import api as db
from nova.tag import api as tag_api

Context = nova_context.RequestContext
LOG = logging.getLogger(__name__)
RESOURCE_TYPE = "security-group"
DEFAULT = "default"
PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "6": "tcp", "17": "udp", "1": "icmp"}
ALL_PROTOCOLS = ("-1", "all")
RULE_KEYS = ("protocol", "from_port", "to_port", "cidr", "group_id")


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise exception.InvalidSecurityGroupRule(reason=f"Value ({value[:64]}) for parameter cidrIp is invalid. "
                                                 "This is not a valid CIDR block.") from None
    if network.version != 4:
        raise exception.InvalidSecurityGroupRule(reason="Only IPv4 CIDR blocks are supported")
    return str(network)


def _ports(protocol: str, from_port: int | None, to_port: int | None) -> tuple[int, int]:
    if from_port is None or to_port is None:
        raise exception.MissingParameter(f"A {protocol} rule needs FromPort and ToPort")
    if protocol == "icmp":
        if not -1 <= from_port <= 255 or not -1 <= to_port <= 255:
            raise exception.InvalidSecurityGroupRule(reason="ICMP type and code must be between -1 and 255")
        return from_port, to_port
    if not 0 <= from_port <= 65535 or not 0 <= to_port <= 65535:
        raise exception.InvalidSecurityGroupRule(reason=f"{protocol} ports must be between 0 and 65535")
    if from_port > to_port:
        raise exception.InvalidSecurityGroupRule(reason=f"FromPort ({from_port}) is greater than ToPort ({to_port})")
    return from_port, to_port


def _same(rule: Any, values: dict[str, Any]) -> bool:
    return all(rule[key] == values.get(key) for key in RULE_KEYS)


def _refresh(ctxt: Context, group_id: int) -> None:
    from nova.compute import api as compute_api  # compute.api imports this module

    compute_api.API().trigger_security_group_rules_refresh(ctxt, group_id)


class API:
    def get(self, ctxt: Context, group_id: int) -> Any:
        """SecurityGroupNotFound also for another project's group."""
        return db.security_group_get(ctxt, group_id)

    def get_by_name(self, ctxt: Context, name: str, project_id: str | None = None) -> Any:
        """The group ``name`` of the project; the caller's own ``default`` always exists (as in EC2)."""
        project_id = project_id or ctxt.project_id
        if name == DEFAULT and project_id == ctxt.project_id:
            return self.ensure_default(ctxt)
        try:
            return db.security_group_get_by_name(ctxt, project_id, name)
        except exception.NotFound:
            raise exception.SecurityGroupNameNotFound(name=name, security_group_id=name,
                                                      project_id=project_id) from None

    def ensure_default(self, ctxt: Context, with_rules: bool = True) -> Any:
        """The project's ``default`` group, created on first use as in the first Nova; without
        ``with_rules`` when found, one statement and a row whose rules may not be read."""
        try:
            return db.security_group_get_by_name(ctxt, ctxt.project_id, DEFAULT, with_rules=with_rules)
        except exception.NotFound:
            pass
        try:
            return db.security_group_create(ctxt, {"name": DEFAULT, "description": DEFAULT,
                                                   "user_id": ctxt.user_id, "project_id": ctxt.project_id})
        except exception.SecurityGroupExists:
            return db.security_group_get_by_name(ctxt, ctxt.project_id, DEFAULT, with_rules=with_rules)

    def get_all(self, ctxt: Context, names: Iterable[str] = (), ids: Iterable[int] = (),
                after_id: int | None = None, limit: int | None = None) -> list[Any]:
        """The groups the caller sees (all of them for an admin) by id, as plain rows each with
        ``rules``; ``after_id`` and ``limit`` cut a page in SQL.

        ``names`` (of the caller's project) and ``ids`` narrow the list; one
        that does not exist raises its NotFound.  The number of SQL queries
        does not depend on the number of groups or rules.
        """
        self.ensure_default(ctxt)
        groups = db.security_group_get_listing(ctxt, None if ctxt.is_admin else ctxt.project_id, after_id, limit)
        names, ids = list(names), list(ids)
        for name in names:
            if not any(g["name"] == name and g["project_id"] == ctxt.project_id for g in groups):
                raise exception.SecurityGroupNameNotFound(name=name, security_group_id=name,
                                                          project_id=ctxt.project_id)
        for group_id in ids:
            if not any(g["id"] == group_id for g in groups):
                raise exception.SecurityGroupNotFound(security_group_id=group_id)
        if names:
            groups = [g for g in groups if g["name"] in names and g["project_id"] == ctxt.project_id]
        if ids:
            groups = [g for g in groups if g["id"] in ids]
        return groups

    def source_group_names(self, ctxt: Context, groups: Iterable[Any]) -> dict[int, tuple[str, str]]:
        """``{id: (name, owner project)}`` of the groups and of every source group their rules name."""
        groups = list(groups)
        names = {g["id"]: (g["name"], g["project_id"]) for g in groups}
        wanted = {r["group_id"] for g in groups for r in g.rules if r["group_id"] is not None} - set(names)
        if wanted:
            names.update(db.security_group_get_names(ctxt, sorted(wanted)))
        return names

    def create(self, ctxt: Context, name: str, description: str, tags: dict[str, str | None] | None = None) -> Any:
        """A new group of the caller's project, within the project's ``security_groups`` quota."""
        self.ensure_default(ctxt)
        if db.security_group_exists(ctxt, ctxt.project_id, name):
            raise exception.SecurityGroupExists(name=name, project_id=ctxt.project_id)
        in_use = db.security_group_count_by_project(ctxt, ctxt.project_id)
        if quota.allowed(ctxt, ctxt.project_id, "security_groups", in_use, 1) < 1:
            raise exception.SecurityGroupLimitExceeded()
        group = db.security_group_create(ctxt, {"name": name, "description": description,
                                                "user_id": ctxt.user_id, "project_id": ctxt.project_id})
        if tags:
            tag_api.API().apply(ctxt, RESOURCE_TYPE, group["id"], tags)
        LOG.info("Created security group %s (%s) in project %s", group["id"], name, ctxt.project_id)
        return group

    def delete(self, ctxt: Context, group_id: int) -> None:
        """Delete a group with its rules and tags; not ``default``, not while instances use it."""
        group = self.get(ctxt, group_id)
        if group["name"] == DEFAULT:
            raise exception.SecurityGroupCannotDelete()
        if db.security_group_in_use(ctxt, group["id"]):
            raise exception.SecurityGroupInUse(security_group_id=group["id"])
        db.security_group_destroy(ctxt, group["id"])
        tag_api.API().delete_all(ctxt, RESOURCE_TYPE, group["id"])
        LOG.info("Deleted security group %s", group["id"])

    def authorize(self, ctxt: Context, group_id: int, requests: list[dict[str, Any]]) -> list[Any]:
        """Add the rules ``requests`` name; none may exist already, all must fit the rule quota."""
        group = self.get(ctxt, group_id)
        rules = self.rules_from_requests(ctxt, requests)
        existing = db.security_group_rule_get_by_security_group(ctxt, group["id"])
        for values in rules:
            if any(_same(rule, values) for rule in existing):
                raise exception.SecurityGroupRuleExists(security_group_id=group["id"])
        if quota.allowed(ctxt, ctxt.project_id, "security_group_rules", len(existing), len(rules)) < len(rules):
            raise exception.SecurityGroupRuleLimitExceeded()
        created = [db.security_group_rule_create(ctxt, dict(values, parent_group_id=group["id"]))
                   for values in rules]
        _refresh(ctxt, group["id"])
        return created

    def revoke(self, ctxt: Context, group_id: int, requests: list[dict[str, Any]],
               missing_ok: bool = False) -> list[dict[str, Any]]:
        """Remove the rules ``requests`` name.

        Each must exist, unless ``missing_ok`` (EC2's behaviour today): then the
        rules that do are removed and the values of those that do not are returned.
        """
        group = self.get(ctxt, group_id)
        rules = self.rules_from_requests(ctxt, requests)
        existing = db.security_group_rule_get_by_security_group(ctxt, group["id"])
        doomed, unknown = [], []
        for values in rules:
            match = [rule for rule in existing if _same(rule, values)]
            if not match and not missing_ok:
                raise exception.SecurityGroupRuleNotInGroup(rule_id=None, security_group_id=group["id"])
            if not match:
                unknown.append(values)
            doomed.extend(match)
        for rule in doomed:
            db.security_group_rule_destroy(ctxt, rule["id"])
        if doomed:
            _refresh(ctxt, group["id"])
        return unknown

    def names_of(self, ctxt: Context, group_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """``{id: (name, owner project)}`` of groups by id (source groups of rules)."""
        wanted = sorted(set(group_ids))
        return db.security_group_get_names(ctxt, wanted) if wanted else {}

    def get_rule(self, ctxt: Context, rule_id: int) -> Any:
        """A rule of one of the caller's groups; SecurityGroupRuleNotFound otherwise."""
        rule = db.security_group_rule_get(ctxt, rule_id)
        self.get(ctxt, rule["parent_group_id"])
        return rule

    def delete_rule(self, ctxt: Context, rule_id: int) -> None:
        rule = self.get_rule(ctxt, rule_id)
        db.security_group_rule_destroy(ctxt, rule["id"])
        _refresh(ctxt, rule["parent_group_id"])

    def rules_from_requests(self, ctxt: Context, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Validated rule values (protocol, from_port, to_port, and cidr or group_id), each once."""
        if not requests:
            raise exception.MissingParameter(param="IpPermissions")
        rules: list[dict[str, Any]] = []
        for request in requests:
            name = str(request.get("protocol") or "").strip().lower()
            protocol = PROTOCOLS.get(name)
            if name in ALL_PROTOCOLS:
                base: dict[str, Any] = {"protocol": None, "from_port": None, "to_port": None}
            elif protocol is None:
                raise exception.InvalidSecurityGroupRule(
                    reason=f"Invalid IP protocol '{str(request.get('protocol'))[:16]}': use tcp, udp, icmp or -1")
            else:
                from_port, to_port = _ports(protocol, request.get("from_port"), request.get("to_port"))
                base = {"protocol": protocol, "from_port": from_port, "to_port": to_port}
            sources: list[dict[str, Any]] = [{"cidr": _cidr(c), "group_id": None} for c in request.get("cidrs", ())]
            sources += [{"cidr": None, "group_id": self._source_group(ctxt, s)["id"]}
                        for s in request.get("source_groups", ())]
            if not sources:
                sources.append({"cidr": "0.0.0.0/0", "group_id": None})
            for source in sources:
                rule = dict(base, **source)
                if rule not in rules:  # the same rule given twice in one request is one rule
                    rules.append(rule)
        return rules

    def _source_group(self, ctxt: Context, source: dict[str, Any]) -> Any:
        if source.get("id") is not None:
            return self.get(ctxt, source["id"])
        name = source.get("name")
        if not name:
            raise exception.MissingParameter("A source group needs GroupName or GroupId")
        owner = source.get("owner") or ctxt.project_id
        if owner != ctxt.project_id and not ctxt.is_admin:
            raise exception.SecurityGroupNameNotFound(name=name, security_group_id=name, project_id=owner)
        return self.get_by_name(ctxt, name, owner)


tag_api.register_taggable(RESOURCE_TYPE, lambda ctxt, group_id: API().get(ctxt, group_id))
