"""/os-floating-ips and /os-floating-ip-pools."""

from __future__ import annotations

from typing import Any

from nova import exception
from nova.api.openstack import faults
from nova.api.openstack.wsgi import ApiRequest, Result
from nova.compute import api as compute_api
from nova.network import api as network_api

POOL = "nova"


class FloatingIpsController:
    def __init__(self) -> None:
        self.network = network_api.API()

    def _views(self, req: ApiRequest, addresses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        instance_ids = sorted({a["instance_id"] for a in addresses if a["instance_id"] is not None})
        uuids = {}
        if instance_ids:
            uuids = {i["id"]: i["uuid"] for i in compute_api.API().get_all(req.ctxt, {"instance_ids": instance_ids})}
        return [{"id": a["id"], "ip": a["address"], "fixed_ip": a["fixed_address"], "pool": POOL,
                 "instance_id": uuids.get(a["instance_id"])} for a in addresses]

    def index(self, req: ApiRequest) -> dict[str, Any]:
        mine = [a for a in self.network.get_floating_ips(req.ctxt) if a["project_id"] == req.ctxt.project_id]
        return {"floating_ips": self._views(req, sorted(mine, key=lambda a: a["id"]))}

    def show(self, req: ApiRequest, floating_ip_id: str) -> dict[str, Any]:
        return {"floating_ip": self._views(req, [self._get(req, floating_ip_id)])[0]}

    def _get(self, req: ApiRequest, floating_ip_id: str) -> dict[str, Any]:
        address = self.network.get_floating_ip_by_id(req.ctxt, floating_ip_id)
        if address["project_id"] != req.ctxt.project_id:
            raise exception.FloatingIpNotFound(address=floating_ip_id[:40])
        return address

    def create(self, req: ApiRequest) -> dict[str, Any]:
        raw = req.webob.body.strip()
        if raw:
            body = req.body()
            pool = body.get("pool") if isinstance(body, dict) else None
            if pool is not None and pool != POOL:
                raise faults.Fault(404, f"Floating IP pool not found: {str(pool)[:64]}")
        try:
            address = self.network.allocate_floating_ip(req.ctxt)
        except exception.NoMoreFloatingIps:
            raise faults.Fault(404, f"No more floating IPs in pool {POOL}.") from None
        return {"floating_ip": self._views(req, [self.network.get_floating_ip(req.ctxt, address)])[0]}

    def delete(self, req: ApiRequest, floating_ip_id: str) -> Result:
        address = self._get(req, floating_ip_id)
        self.network.release_floating_ip(req.ctxt, address["address"])
        return Result(None, 202)


class FloatingIpPoolsController:
    def index(self, req: ApiRequest) -> dict[str, Any]:
        return {"floating_ip_pools": [{"name": POOL}]}
