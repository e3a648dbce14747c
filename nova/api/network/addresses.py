"""``/v2.0/networks``, ``/v2.0/ports`` and ``/v2.0/floatingips`` over ``nova.network.api`` and ``nova.compute.api``.

The floating pool ``nova`` is the one external network (floating IPs are
created on it); every fixed network is an internal network.  A port is an
instance's fixed address (``<instance uuid>_<fixed address>``), listed only
by ``device_id``.  Associating a floating IP names a port; ``port_id: null``
disassociates it.
"""

from __future__ import annotations

import logging
from typing import Any

import webob

from nova import context as nova_context
from nova import exception
from nova.api.network import common
from nova.api.network.faults import Fault
from nova.compute import api as compute_api
from nova.network import api as network_api

LOG = logging.getLogger(__name__)
Context = nova_context.RequestContext
POOL = "nova"
POOL_ID = common.derived_id("floating-pool", POOL)
NETWORK_FILTERS = ("id", "name", "router:external", "shared", "status", "project_id", "tenant_id")
PORT_FILTERS = ("id", "device_id", "network_id", "mac_address", "device_owner")
FLOATING_FILTERS = ("id", "floating_ip_address", "fixed_ip_address", "port_id", "floating_network_id",
                    "status", "project_id", "tenant_id")


def fixed_network_id(label: str) -> str:
    return common.derived_id("fixed-network", label)


def _network_view(ctxt: Context, network_id: str, name: str, external: bool, cidr: str | None,
                  project_id: str | None) -> dict[str, Any]:
    view = {"id": network_id, "name": name, "status": "ACTIVE", "admin_state_up": True, "shared": project_id is None,
            "router:external": external, "subnets": [], "mtu": 1500, "description": cidr or "",
            "availability_zones": ["nova"], "port_security_enabled": True, "is_default": external}
    view.update(common.project_fields(ctxt, project_id))
    return view


class Networks:
    def __init__(self) -> None:
        self.network = network_api.API()

    def _all(self, ctxt: Context) -> list[dict[str, Any]]:
        views = [_network_view(ctxt, POOL_ID, POOL, True, None, None)]
        seen = set()
        for net in self.network.get_networks(ctxt):
            if net["label"] not in seen:
                seen.add(net["label"])
                views.append(_network_view(ctxt, fixed_network_id(net["label"]), net["label"], False, net["cidr"],
                                           net["project_id"]))
        for view in views:
            if view["shared"]:
                view["project_id"] = view["tenant_id"] = ""
        return views

    def index(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        query = webob.multidict.MultiDict((k, v.capitalize() if v in ("true", "false") else v)
                                          for k, v in req.GET.items())
        return common.json_response({"networks": [n for n in self._all(ctxt)
                                                  if common.matches(n, query, NETWORK_FILTERS)]})

    def show(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        for view in self._all(ctxt):
            if view["id"] == params["id"]:
                return common.json_response({"network": view})
        raise Fault(404, f"Network {params['id'][:40]} could not be found.", "NetworkNotFound")


def _port_id(instance_uuid: str, fixed_address: str) -> str:
    return f"{instance_uuid}_{fixed_address}"


class Ports:
    def __init__(self) -> None:
        self.compute = compute_api.API()
        self.network = network_api.API()

    def ports_of(self, ctxt: Context, instance_uuid: str) -> list[dict[str, Any]]:
        """The instance's NICs as ports (none for an instance the caller cannot see)."""
        try:
            instance = self.compute.get_by_uuid(ctxt, instance_uuid)
        except exception.InstanceNotFound:
            return []
        nics = self.network.get_instance_nics(ctxt, [instance["id"]])[instance["id"]]
        ports = []
        for nic in nics:
            if nic["type"] != "fixed":
                continue
            port = {"id": _port_id(instance["uuid"], nic["address"]), "name": "", "device_id": instance["uuid"],
                    "device_owner": "compute:nova", "mac_address": nic["mac"], "status": "ACTIVE",
                    "admin_state_up": True, "network_id": fixed_network_id(nic["label"]),
                    "fixed_ips": [{"subnet_id": None, "ip_address": nic["address"]}],
                    "security_groups": [], "binding:vnic_type": "normal"}
            port.update(common.project_fields(ctxt, instance["project_id"]))
            ports.append(port)
        return ports

    def index(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        device = req.GET.get("device_id")
        if not device:
            raise Fault(400, "This cloud lists ports by device_id (a server's id) only.", "InvalidInput")
        ports = [p for p in self.ports_of(ctxt, device) if common.matches(p, req.GET, PORT_FILTERS)]
        return common.json_response({"ports": ports})

    def show(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        return common.json_response({"port": self.find(ctxt, params["id"])})

    def find(self, ctxt: Context, port_id: str) -> dict[str, Any]:
        instance_uuid, _, address = port_id.partition("_")
        for port in self.ports_of(ctxt, instance_uuid) if address else []:
            if port["id"] == port_id:
                return port
        raise Fault(404, f"Port {port_id[:80]} could not be found.", "PortNotFound")


class FloatingIps:
    def __init__(self) -> None:
        self.compute = compute_api.API()
        self.network = network_api.API()
        self.ports = Ports()

    def _views(self, ctxt: Context, addresses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        instance_ids = sorted({a["instance_id"] for a in addresses if a["instance_id"] is not None})
        uuids = {}
        if instance_ids:
            uuids = {i["id"]: i["uuid"] for i in self.compute.get_all(ctxt, {"instance_ids": instance_ids})}
        views = []
        for a in addresses:
            instance_uuid = uuids.get(a["instance_id"])
            port = _port_id(instance_uuid, a["fixed_address"]) if instance_uuid and a["fixed_address"] else None
            view = {"id": str(a["id"]), "floating_ip_address": a["address"], "floating_network_id": POOL_ID,
                    "fixed_ip_address": a["fixed_address"] if port else None, "port_id": port, "router_id": None,
                    "status": "ACTIVE" if port else "DOWN", "description": "", "dns_name": "", "dns_domain": "",
                    "port_details": None, "port_forwardings": [], "qos_policy_id": None}
            view.update(common.project_fields(ctxt, a["project_id"]))
            views.append(view)
        return views

    def _mine(self, ctxt: Context) -> list[dict[str, Any]]:
        return sorted((a for a in self.network.get_floating_ips(ctxt) if a["project_id"] == ctxt.project_id),
                      key=lambda a: a["id"])

    def _get(self, ctxt: Context, floating_id: str) -> dict[str, Any]:
        common.number(floating_id, "FloatingIPNotFound", "Floating IP")
        for address in self._mine(ctxt):
            if str(address["id"]) == floating_id:
                return address
        raise Fault(404, f"Floating IP {floating_id[:40]} could not be found", "FloatingIPNotFound")

    def index(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        return common.json_response({"floatingips": [f for f in self._views(ctxt, self._mine(ctxt))
                                                     if common.matches(f, req.GET, FLOATING_FILTERS)]})

    def show(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        return common.json_response({"floatingip": self._views(ctxt, [self._get(ctxt, params["id"])])[0]})

    def create(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        values = common.body_of(req, "floatingip")
        network = values.get("floating_network_id")
        if not isinstance(network, str) or not network:
            raise Fault(400, "Invalid input: 'floating_network_id' is required.")
        if network != POOL_ID:
            raise Fault(404, f"Network {network[:40]} could not be found.", "NetworkNotFound")
        for key in ("floating_ip_address", "subnet_id"):
            if values.get(key) is not None:
                raise Fault(400, f"{key} cannot be chosen on this cloud.", "InvalidInput")
        port = self.ports.find(ctxt, values["port_id"]) if values.get("port_id") is not None else None
        address = self.network.allocate_floating_ip(ctxt)
        LOG.info("Allocated floating IP %s (request %s)", address, ctxt.request_id)
        if port is not None:
            self.network.associate_floating_ip(ctxt, address, self._fixed_of(port, values))
        return common.json_response({"floatingip": self._views(ctxt, [self.network.get_floating_ip(ctxt, address)])[0]},
                                    status=201)

    @staticmethod
    def _fixed_of(port: dict[str, Any], values: dict[str, Any]) -> str:
        wanted = values.get("fixed_ip_address")
        addresses = [ip["ip_address"] for ip in port["fixed_ips"]]
        if wanted is None:
            return addresses[0]
        if wanted not in addresses:
            raise Fault(400, f"Port {port['id'][:80]} does not have fixed IP {str(wanted)[:40]}.", "InvalidInput")
        return wanted

    def update(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        address = self._get(ctxt, params["id"])
        values = common.body_of(req, "floatingip")
        if "port_id" not in values:
            raise Fault(400, "Invalid input: only port_id can be updated.", "InvalidInput")
        if values["port_id"] is None:
            self.network.disassociate_floating_ip(ctxt, address["address"])
            LOG.info("Disassociated floating IP %s (request %s)", address["address"], ctxt.request_id)
        else:
            if not isinstance(values["port_id"], str):
                raise Fault(400, "Invalid input for port_id: it must be a string or null.")
            fixed = self._fixed_of(self.ports.find(ctxt, values["port_id"]), values)
            if address["fixed_address"] and address["fixed_address"] != fixed:
                self.network.disassociate_floating_ip(ctxt, address["address"])
            if address["fixed_address"] != fixed:
                self.network.associate_floating_ip(ctxt, address["address"], fixed)
            LOG.info("Associated floating IP %s with %s (request %s)", address["address"], fixed, ctxt.request_id)
        return common.json_response({"floatingip": self._views(ctxt, [self._get(ctxt, params["id"])])[0]})

    def delete(self, req: webob.Request, ctxt: Context, params: dict[str, str]) -> webob.Response:
        address = self._get(ctxt, params["id"])
        self.network.release_floating_ip(ctxt, address["address"])
        LOG.info("Released floating IP %s (request %s)", address["address"], ctxt.request_id)
        return webob.Response(status=204)
