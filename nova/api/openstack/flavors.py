"""/flavors: list, detail, show; admins create and delete (os-flavor-manage)."""

from __future__ import annotations

from typing import Any

from nova import exception
from nova.api.openstack import faults
from nova.api.openstack.wsgi import ApiRequest, Result, int_field, page, require_admin, string_field
from nova.compute import instance_types


def _summary(req: ApiRequest, flavor: Any) -> dict[str, Any]:
    flavor_id = str(flavor["flavorid"])
    return {"id": flavor_id, "name": flavor["name"], "links": req.links("flavors", flavor_id)}


def _detail(req: ApiRequest, flavor: Any) -> dict[str, Any]:
    body = _summary(req, flavor)
    body.update({"ram": flavor["memory_mb"], "vcpus": flavor["vcpus"], "disk": flavor["local_gb"],
                 "swap": flavor["swap"] or "", "rxtx_factor": float(flavor["rxtx_cap"] or 1.0),
                 "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": False,
                 "os-flavor-access:is_public": True})
    return body


class FlavorsController:
    def _all(self, req: ApiRequest) -> list[Any]:
        flavors = sorted(instance_types.get_all_types(), key=lambda f: f["flavorid"])
        min_ram, min_disk = req.param("minRam"), req.param("minDisk")
        if min_ram is not None:
            flavors = [f for f in flavors if f["memory_mb"] >= int_field(min_ram, "minRam", 0)]
        if min_disk is not None:
            flavors = [f for f in flavors if f["local_gb"] >= int_field(min_disk, "minDisk", 0)]
        return page(req, flavors, lambda f: str(f["flavorid"]))

    def index(self, req: ApiRequest) -> dict[str, Any]:
        return {"flavors": [_summary(req, f) for f in self._all(req)]}

    def detail(self, req: ApiRequest) -> dict[str, Any]:
        return {"flavors": [_detail(req, f) for f in self._all(req)]}

    def show(self, req: ApiRequest, flavor_id: str) -> dict[str, Any]:
        return {"flavor": _detail(req, instance_types.get_instance_type_by_flavor_id(flavor_id))}

    def create(self, req: ApiRequest) -> dict[str, Any]:
        require_admin(req)
        values = req.body("flavor")
        name = string_field(values, "name")
        flavor_id = values.get("id")
        if flavor_id is not None:
            flavor_id = int_field(flavor_id, "id", 0)
        try:
            flavor = instance_types.create(
                req.ctxt, name, int_field(values.get("ram"), "ram", 1), int_field(values.get("vcpus"), "vcpus", 1),
                int_field(values.get("disk"), "disk", 0), flavor_id,
                swap=int_field(values.get("swap") or 0, "swap", 0))
        except exception.InstanceTypeExists as exc:
            raise faults.Fault(409, str(exc)) from None
        return {"flavor": _detail(req, flavor)}

    def delete(self, req: ApiRequest, flavor_id: str) -> Result:
        require_admin(req)
        instance_types.destroy(req.ctxt, flavor_id)
        return Result(None, 202)
