"""/os-security-groups and /os-security-group-rules."""

from __future__ import annotations

from typing import Any

from nova import exception
from nova.api.openstack import faults
from nova.api.openstack.wsgi import ApiRequest, Result, int_field, string_field
from nova.securitygroup import api as securitygroup_api


def _number(value: str, what: str) -> int:
    """Ids in URLs; a malformed one is a missing one."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 < number < 2**31:
        raise faults.Fault(404, f"{what} {value[:40]} could not be found.")
    return number


def rule_view(rule: Any, names: dict[int, tuple[str, str]]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": rule["id"], "parent_group_id": rule["parent_group_id"],
                            "ip_protocol": rule["protocol"], "from_port": rule["from_port"],
                            "to_port": rule["to_port"], "ip_range": {}, "group": {}}
    if rule["group_id"] is not None:
        name, owner = names.get(rule["group_id"], ("", ""))
        view["group"] = {"name": name, "tenant_id": owner}
    else:
        view["ip_range"] = {"cidr": rule["cidr"]}
    return view


class SecurityGroupsController:
    def __init__(self) -> None:
        self.groups = securitygroup_api.API()

    def _view(self, req: ApiRequest, group: Any, names: dict[int, tuple[str, str]] | None = None) -> dict[str, Any]:
        names = names if names is not None else self.groups.source_group_names(req.ctxt, [group])
        return {"id": group["id"], "name": group["name"], "description": group["description"],
                "tenant_id": group["project_id"], "rules": [rule_view(r, names) for r in group.rules]}

    def _get(self, req: ApiRequest, group_id: str) -> Any:
        return self.groups.get_all(req.ctxt, ids=[_number(group_id, "Security group")])[0]

    def index(self, req: ApiRequest) -> dict[str, Any]:
        groups = [g for g in self.groups.get_all(req.ctxt) if g["project_id"] == req.ctxt.project_id
                  or (req.ctxt.is_admin and req.param("all_tenants"))]
        names = self.groups.source_group_names(req.ctxt, groups)
        return {"security_groups": [self._view(req, g, names) for g in groups]}

    def show(self, req: ApiRequest, group_id: str) -> dict[str, Any]:
        return {"security_group": self._view(req, self._get(req, group_id))}

    def create(self, req: ApiRequest) -> dict[str, Any]:
        values = req.body("security_group")
        name = string_field(values, "name")
        description = string_field(values, "description", allow_empty=True)
        group = self.groups.create(req.ctxt, name, description or "")
        return {"security_group": self._view(req, self._get(req, str(group["id"])))}

    def update(self, req: ApiRequest, group_id: str) -> dict[str, Any]:
        raise faults.Fault(501, "Security groups cannot be renamed here.")

    def delete(self, req: ApiRequest, group_id: str) -> Result:
        group = self._get(req, group_id)
        try:
            self.groups.delete(req.ctxt, group["id"])
        except (exception.SecurityGroupCannotDelete, exception.SecurityGroupInUse) as exc:
            raise faults.Fault(400, str(exc)) from None
        return Result(None, 202)


class SecurityGroupRulesController:
    def __init__(self) -> None:
        self.groups = securitygroup_api.API()

    def create(self, req: ApiRequest) -> dict[str, Any]:
        values = req.body("security_group_rule")
        parent = values.get("parent_group_id")
        if parent is None:
            raise faults.Fault(400, "'parent_group_id' is a required property.")
        parent_id = int_field(parent, "parent_group_id", 0)
        group = self.groups.get(req.ctxt, parent_id)
        request: dict[str, Any] = {"protocol": values.get("ip_protocol"),
                                   "from_port": self._port(values.get("from_port"), "from_port"),
                                   "to_port": self._port(values.get("to_port"), "to_port")}
        if values.get("group_id") is not None:
            request["source_groups"] = [{"id": int_field(values["group_id"], "group_id", 0)}]
        elif values.get("cidr") is not None:
            request["cidrs"] = [string_field(values, "cidr")]
        try:
            rule = self.groups.authorize(req.ctxt, group["id"], [request])[0]
        except exception.SecurityGroupRuleExists as exc:
            raise faults.Fault(400, str(exc)) from None
        names = self.groups.source_group_names(req.ctxt, [group])
        if rule["group_id"] is not None and rule["group_id"] not in names:
            names[rule["group_id"]] = (self.groups.get(req.ctxt, rule["group_id"])["name"], req.ctxt.project_id)
        return {"security_group_rule": rule_view(rule, names)}

    @staticmethod
    def _port(value: Any, name: str) -> int | None:
        return None if value is None else int_field(value, name, -1, 65535)

    def delete(self, req: ApiRequest, rule_id: str) -> Result:
        self.groups.delete_rule(req.ctxt, _number(rule_id, "Security group rule"))
        return Result(None, 202)
