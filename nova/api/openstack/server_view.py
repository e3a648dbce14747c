"""How a server looks in the compute API v2.1: status from vm_state and
task_state, addresses by network label, the OS-EXT-* fields.  Attached volumes
show with ``delete_on_termination`` and an admin sees the root device name
(both from microversion 2.3 in the reference; shown here at 2.1)."""

from __future__ import annotations

import datetime
import functools
import hashlib
from typing import Any

from nova.api.openstack.wsgi import ApiRequest
from nova.compute import states
from nova.network import api as network_api
from nova.volume import api as volume_api
from nova.volume import devices

_STATUS = {
    states.BUILDING: "BUILD",
    states.ACTIVE: "ACTIVE",
    states.STOPPED: "SHUTOFF",
    states.PAUSED: "PAUSED",
    states.SUSPENDED: "SUSPENDED",
    states.RESCUED: "RESCUE",
    states.ERROR: "ERROR",
    states.DELETED: "DELETED",
}
# Tasks that show as their own status while they run.
_TASK_STATUS = {states.REBOOTING: "REBOOT", states.REBOOTING_HARD: "HARD_REBOOT"}


def status_of(instance: Any) -> str:
    if instance["vm_state"] == states.ACTIVE and instance["task_state"] in _TASK_STATUS:
        return _TASK_STATUS[instance["task_state"]]
    return _STATUS.get(instance["vm_state"], "UNKNOWN")


def vm_states_for_status(status: str) -> list[str]:
    """The vm_states a ``status`` filter selects (none for an unknown status)."""
    status = status.upper()
    if status in ("REBOOT", "HARD_REBOOT"):
        return [states.ACTIVE]
    return [vm for vm, name in _STATUS.items() if name == status]


def isotime(when: datetime.datetime | None) -> str | None:
    if not when:
        return None
    if when.tzinfo is None and when.year >= 1000:  # the database's naive UTC times: isoformat is 10x strftime
        return when.isoformat(timespec="seconds") + "Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def addresses(nics: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for nic in nics:
        version = 6 if ":" in (nic["address"] or "") else 4
        found.setdefault(nic["label"], []).append({
            "addr": nic["address"], "version": version, "OS-EXT-IPS:type": nic["type"],
            "OS-EXT-IPS-MAC:mac_addr": nic["mac"]})
    return found


def nics_of(req: ApiRequest, instances: list[Any]) -> dict[int, list[dict[str, Any]]]:
    """Every instance's NICs in one query."""
    return network_api.API().get_instance_nics(req.ctxt, [i["id"] for i in instances])


def listed_nics(instance: Any) -> list[dict[str, Any]]:
    """The NICs of an instance from ``compute.API.get_listing``, shaped as ``nics_of`` gives them."""
    nics = []
    for nic in instance.nics:
        nics.append({"label": nic["label"], "address": nic["address"], "mac": nic["mac"], "type": "fixed"})
        nics += [{"label": nic["label"], "address": floating, "mac": nic["mac"], "type": "floating"}
                 for floating in nic["floating"]]
    return nics


def volumes_of(req: ApiRequest, instances: list[Any]) -> dict[int, list[Any]]:
    """Every instance's attached volumes in one query."""
    return volume_api.API().get_by_instances(req.ctxt, [i["id"] for i in instances])


def flavor_id(instance: Any) -> str:
    flavor = instance.instance_type
    return str(flavor["flavorid"]) if flavor is not None else str(instance["instance_type_id"])


def image_ref(req: ApiRequest, instance: Any) -> dict[str, Any] | str:
    """The image the server booted; "" for one booted from a volume without an image."""
    if not instance["image_id"]:
        return ""
    return {"id": instance["image_id"], "links": [
        {"rel": "bookmark", "href": f"{req.bookmark_url}/images/{instance['image_id']}"}]}


@functools.lru_cache(maxsize=4096)
def _host_id(project_id: str, host: str) -> str:
    """The ``hostId`` a project sees for a host (the same for all its servers there: computed once)."""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def summary(req: ApiRequest, instance: Any) -> dict[str, Any]:
    return {"id": instance["uuid"], "name": instance["display_name"] or instance["hostname"] or "",
            "links": req.links("servers", instance["uuid"])}


def detail(req: ApiRequest, instance: Any, nics: list[dict[str, Any]],
           volumes: list[Any] | None = None) -> dict[str, Any]:
    host_id = ""
    if instance["host"]:
        host_id = _host_id(instance["project_id"], instance["host"])
    flavor = flavor_id(instance)
    created = isotime(instance["created_at"])
    updated = isotime(instance["updated_at"]) if instance["updated_at"] else created
    server = {
        "id": instance["uuid"],
        "name": instance["display_name"] or instance["hostname"] or "",
        "links": req.links("servers", instance["uuid"]),
        "status": status_of(instance),
        "tenant_id": instance["project_id"],
        "user_id": instance["user_id"],
        "metadata": instance.metadata_dict,
        "hostId": host_id,
        "image": image_ref(req, instance),
        "flavor": {"id": flavor, "links": [{"rel": "bookmark", "href": f"{req.bookmark_url}/flavors/{flavor}"}]},
        "created": created,
        "updated": updated,
        "addresses": addresses(nics),
        "accessIPv4": "",
        "accessIPv6": "",
        "progress": 100 if instance["vm_state"] == states.ACTIVE else 0,
        "key_name": instance["key_name"],
        "config_drive": "",
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": instance["availability_zone"] or "",
        "OS-EXT-STS:vm_state": instance["vm_state"],
        "OS-EXT-STS:task_state": instance["task_state"],
        "OS-EXT-STS:power_state": instance["power_state"] or 0,
        "OS-SRV-USG:launched_at": isotime(instance["launched_at"]),
        "OS-SRV-USG:terminated_at": isotime(instance["terminated_at"]),
        "security_groups": [{"name": g["name"]} for g in instance.security_groups],
        "os-extended-volumes:volumes_attached": [
            {"id": str(v["id"]), "delete_on_termination": bool(v["delete_on_termination"])}
            for v in sorted(volumes or [], key=lambda v: v["id"])],
    }
    if req.ctxt.is_admin:
        server.update({"OS-EXT-SRV-ATTR:host": instance["host"],
                       "OS-EXT-SRV-ATTR:hypervisor_hostname": instance["host"],
                       "OS-EXT-SRV-ATTR:instance_name": instance.name,
                       "OS-EXT-SRV-ATTR:root_device_name": instance["root_device_name"] or devices.ROOT})
    if instance["vm_state"] == states.ERROR and instance["fault"]:
        server["fault"] = {"code": 500, "message": instance["fault"][:255],
                           "created": isotime(instance["updated_at"])}
    return server
