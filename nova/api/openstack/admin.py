"""Availability zones, quota sets, and the admin-only os-services and os-hypervisors."""

from __future__ import annotations

from typing import Any

from nova import availability_zones, quota_sets
from nova.api.openstack import faults
from nova.api.openstack.server_view import isotime
from nova.api.openstack.wsgi import ApiRequest, require_admin, string_field
from nova.compute import host_api

# quota resource -> API name; the API also shows resources nova does not limit.
_QUOTA_NAMES = {"instances": "instances", "cores": "cores", "ram": "ram", "floating_ips": "floating_ips",
                "metadata_items": "metadata_items", "security_groups": "security_groups",
                "security_group_rules": "security_group_rules", "key_pairs": "key_pairs",
                "volumes": "volumes", "gigabytes": "gigabytes"}
_FIXED_QUOTAS = {"fixed_ips": -1, "injected_files": 5, "injected_file_content_bytes": 10240,
                 "injected_file_path_bytes": 255, "server_groups": 10, "server_group_members": 10}


def _quota_view(project_id: str, limits: dict[str, int]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": project_id}
    view.update({api: limits[resource] for resource, api in _QUOTA_NAMES.items()})
    view.update(_FIXED_QUOTAS)
    return view


class AvailabilityZonesController:
    def index(self, req: ApiRequest) -> dict[str, Any]:
        return {"availabilityZoneInfo": [{"zoneName": name, "zoneState": {"available": True}, "hosts": None}
                                         for name in availability_zones.get_zones(req.ctxt)]}

    def detail(self, req: ApiRequest) -> dict[str, Any]:
        require_admin(req)
        zones = []
        for zone in availability_zones.get_zone_tree(req.ctxt):
            hosts = {host: {s.binary: {"available": s.alive, "active": s.enabled, "updated_at": isotime(s.updated_at)}
                            for s in services} for host, services in zone.hosts.items()}
            zones.append({"zoneName": zone.name, "zoneState": {"available": True}, "hosts": hosts or None})
        return {"availabilityZoneInfo": zones}


class QuotaSetsController:
    def show(self, req: ApiRequest, project_id_q: str) -> dict[str, Any]:
        return {"quota_set": _quota_view(project_id_q, quota_sets.get(req.ctxt, project_id_q))}

    def defaults(self, req: ApiRequest, project_id_q: str) -> dict[str, Any]:
        return {"quota_set": _quota_view(project_id_q, quota_sets.defaults())}

    def update(self, req: ApiRequest, project_id_q: str) -> dict[str, Any]:
        require_admin(req)
        values = req.body("quota_set")
        by_api = {api: resource for resource, api in _QUOTA_NAMES.items()}
        changes = {}
        for name, limit in values.items():
            if name in ("force", "id") or name in _FIXED_QUOTAS:
                continue
            if name not in by_api:
                raise faults.Fault(400, f"Bad key(s) {name[:64]} in quota_set")
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise faults.Fault(400, f"Quota '{name}' must be an integer.")
            changes[by_api[name]] = limit
        limits = quota_sets.update(req.ctxt, project_id_q, changes)
        view = _quota_view(project_id_q, limits)
        del view["id"]
        return {"quota_set": view}


def _service_view(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "binary": row["binary"], "host": row["host"],
            "zone": row["availability_zone"] or "nova", "status": "disabled" if row["disabled"] else "enabled",
            "state": "up" if host_api.service_is_up(row) else "down",
            "updated_at": isotime(row["updated_at"] or row["created_at"]), "disabled_reason": None,
            "forced_down": False}


class ServicesController:
    def index(self, req: ApiRequest) -> dict[str, Any]:
        require_admin(req)
        rows = host_api.get_services(req.ctxt, req.param("host"), req.param("binary"))
        return {"services": [_service_view(r) for r in rows]}

    def _set(self, req: ApiRequest, enabled: bool) -> dict[str, Any]:
        require_admin(req)
        values = req.body()
        if not isinstance(values, dict):
            raise faults.Fault(400, "The body must be an object with 'host' and 'binary'.")
        host, binary = string_field(values, "host"), string_field(values, "binary")
        host_api.set_service_enabled(req.ctxt, host, binary, enabled)
        return {"service": {"host": host, "binary": binary, "status": "enabled" if enabled else "disabled"}}

    def enable(self, req: ApiRequest) -> dict[str, Any]:
        return self._set(req, True)

    def disable(self, req: ApiRequest) -> dict[str, Any]:
        return self._set(req, False)


def _hypervisor_view(hypervisor: host_api.Hypervisor, detailed: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"id": hypervisor.id, "hypervisor_hostname": hypervisor.host,
                            "state": "up" if hypervisor.alive else "down",
                            "status": "enabled" if hypervisor.enabled else "disabled"}
    if detailed:
        node, usage = hypervisor.node, hypervisor.usage
        memory, disk = node["memory_mb"] or 0, node["local_gb"] or 0
        memory_used = usage.get("memory_mb", node["memory_mb_used"] or 0)
        disk_used = usage.get("local_gb", node["local_gb_used"] or 0)
        view.update({"vcpus": node["vcpus"] or 0, "memory_mb": memory, "local_gb": disk,
                     "vcpus_used": usage.get("vcpus", node["vcpus_used"] or 0), "memory_mb_used": memory_used,
                     "local_gb_used": disk_used, "free_ram_mb": memory - memory_used,
                     "free_disk_gb": disk - disk_used, "disk_available_least": disk - disk_used,
                     "hypervisor_type": node["hypervisor_type"] or "fake",
                     "hypervisor_version": node["hypervisor_version"] or 0, "current_workload": 0,
                     "running_vms": usage.get("instances", 0), "host_ip": None, "cpu_info": node["cpu_info"] or "",
                     "service": {"id": hypervisor.service_id, "host": hypervisor.host, "disabled_reason": None}})
    return view


class HypervisorsController:
    def index(self, req: ApiRequest) -> dict[str, Any]:
        require_admin(req)
        return {"hypervisors": [_hypervisor_view(h, False) for h in host_api.get_hypervisors(req.ctxt)]}

    def detail(self, req: ApiRequest) -> dict[str, Any]:
        require_admin(req)
        return {"hypervisors": [_hypervisor_view(h, True) for h in host_api.get_hypervisors(req.ctxt)]}

    def show(self, req: ApiRequest, hypervisor_id: str) -> dict[str, Any]:
        require_admin(req)
        return {"hypervisor": _hypervisor_view(host_api.get_hypervisor(req.ctxt, hypervisor_id), True)}
