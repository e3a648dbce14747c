"""v1.0/v1.1 /servers: the v2.1 controller's lookups, listing and paging with
the first Nova's views, create arguments, actions and ``/meta``.

Servers are named by their uuid in both versions.  What this cloud cannot do
is a clear fault, not a silent success: personality files (the compute
drivers cannot inject files) are 501, and so are rebuild, resize (with
confirmResize/revertResize) and changePassword.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from nova import exception
from nova.api.openstack import faults, server_view
from nova.api.openstack.server_actions import ServerActionsController
from nova.api.openstack.servers import image_number, ref_id
from nova.api.openstack.v11 import formats
from nova.api.openstack.wsgi import ApiRequest, Result, string_field
from nova.compute import instance_types

LOG = logging.getLogger(__name__)
_UNSUPPORTED = {
    "rebuild": "Rebuild is not supported by this cloud's compute service; delete the server and create a new one.",
    "resize": "Resize is not supported by this cloud's compute driver.",
    "confirmResize": "Resize is not supported by this cloud's compute driver, so there is no resize to confirm.",
    "revertResize": "Resize is not supported by this cloud's compute driver, so there is no resize to revert.",
    "changePassword": "The compute driver cannot set a server's password.",
}


def is_v10(req: ApiRequest) -> bool:
    return req.webob.environ.get(formats.VERSION_KEY) == "v1.0"


def addresses(nics: list[dict[str, Any]], v10: bool) -> dict[str, list[Any]]:
    """Fixed addresses are ``private``, floating ones ``public``, as in the first Nova."""
    found: dict[str, list[Any]] = {"public": [], "private": []}
    for nic in nics:
        kind = "public" if nic["type"] == "floating" else "private"
        version = 6 if ":" in (nic["address"] or "") else 4
        found[kind].append(nic["address"] if v10 else {"version": version, "addr": nic["address"]})
    return found


def view(req: ApiRequest, instance: Any, nics: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A server as v1.0 or v1.1 shows it: the summary without ``nics``, the detail with them."""
    server: dict[str, Any] = {"id": instance["uuid"], "name": instance["display_name"] or instance["hostname"] or ""}
    if not is_v10(req):
        server["links"] = req.links("servers", instance["uuid"])
    if nics is None:
        return server
    flavor = server_view.flavor_id(instance)
    status = server_view.status_of(instance)
    server.update({"status": status, "progress": 100 if status == "ACTIVE" else 0,
                   "hostId": _host_id(instance),
                   "metadata": instance.metadata_dict, "addresses": addresses(nics, is_v10(req)),
                   "created": server_view.isotime(instance["created_at"]),
                   "updated": server_view.isotime(instance["updated_at"] or instance["created_at"])})
    if is_v10(req):
        server.update({"imageId": int(instance["image_id"] or 0), "flavorId": int(flavor)})
    else:
        server.update({"imageRef": f"{req.base_url}/images/{instance['image_id']}" if instance["image_id"] else "",
                       "flavorRef": f"{req.base_url}/flavors/{flavor}"})
    return server


def _host_id(instance: Any) -> str:
    if not instance["host"]:
        return ""
    return hashlib.sha224((instance["project_id"] + instance["host"]).encode()).hexdigest()


class ServersController(ServerActionsController):
    """The v2.1 controller with v1.x views; ``lookup`` keeps another project's ids a 404."""

    # -- read ----------------------------------------------------------------------

    def index(self, req: ApiRequest) -> dict[str, Any]:
        return {"servers": [view(req, i, None) for i in self._list(req)]}

    def detail(self, req: ApiRequest) -> dict[str, Any]:
        return {"servers": [view(req, i, server_view.listed_nics(i)) for i in self._list(req)]}

    def show(self, req: ApiRequest, server_id: str) -> dict[str, Any]:
        instance = self.lookup(req, server_id)
        return {"server": view(req, instance, server_view.nics_of(req, [instance])[instance["id"]])}

    def ips(self, req: ApiRequest, server_id: str) -> dict[str, Any]:
        instance = self.lookup(req, server_id)
        return {"addresses": addresses(server_view.nics_of(req, [instance])[instance["id"]], is_v10(req))}

    def ips_by_network(self, req: ApiRequest, server_id: str, network: str) -> dict[str, Any]:
        found = self.ips(req, server_id)["addresses"]
        if network not in found:
            raise faults.Fault(404, f"There is no address list {network[:64]!r}; use public or private.")
        return {network: found[network]}

    # -- write ---------------------------------------------------------------------

    def create(self, req: ApiRequest) -> Result:
        server = req.body("server")
        name = string_field(server, "name")
        if is_v10(req):
            image, flavor_ref = server.get("imageId"), server.get("flavorId")
            image_name, flavor_name = "imageId", "flavorId"
        else:
            image, flavor_ref = server.get("imageRef"), server.get("flavorRef")
            image_name, flavor_name = "imageRef", "flavorRef"
        image_id = image_number(ref_id(image, image_name), image_name)
        flavor = instance_types.get_instance_type_by_flavor_id(ref_id(flavor_ref, flavor_name))
        metadata = server.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise faults.Fault(400, "'metadata' must be an object of strings.")
        if formats.decode_personality(server.get("personality")):
            raise faults.Fault(501, "Personality files are not supported: the compute drivers of this cloud "
                                    "cannot inject files. Pass the files in user data or fetch them at boot.")
        try:
            _reservation, instances = self.compute.create(req.ctxt, flavor["name"], image_id, display_name=name,
                                                          metadata=metadata)
        except exception.ImageNotFound:
            raise faults.Fault(400, f"Can not find requested image {image_id}.") from None
        instance = instances[0]
        LOG.info("Created server %s", instance["uuid"])
        return Result({"server": view(req, instance, [])}, 202,
                      {"Location": f"{req.base_url}/servers/{instance['uuid']}"})

    def update(self, req: ApiRequest, server_id: str) -> Result:
        values = req.body("server")
        instance = self.lookup(req, server_id)
        unknown = set(values) - {"name", "adminPass"}
        if unknown:
            raise faults.Fault(400, f"Only 'name' can be updated, not {', '.join(sorted(unknown))[:80]}.")
        if "adminPass" in values:
            raise faults.Fault(501, _UNSUPPORTED["changePassword"])
        if "name" in values:
            self.compute.rename(req.ctxt, instance["id"], string_field(values, "name"))
        return Result(None, 204)

    def action(self, req: ApiRequest, server_id: str) -> Result:
        body = req.body()
        if isinstance(body, dict) and len(body) == 1:
            (name, _args), = body.items()
            if name in _UNSUPPORTED:
                self.lookup(req, server_id)
                raise faults.Fault(501, _UNSUPPORTED[name])
            if name not in ("reboot", "createImage"):
                raise faults.Fault(400, f"There is no such action: {name[:64]}")
        return super().action(req, server_id)

    # -- /servers/{id}/meta ----------------------------------------------------------

    def meta_index(self, req: ApiRequest, server_id: str) -> dict[str, Any]:
        return {"metadata": self.lookup(req, server_id).metadata_dict}

    def meta_create(self, req: ApiRequest, server_id: str) -> dict[str, Any]:
        instance = self.lookup(req, server_id)
        metadata = metadata_body(req)
        return {"metadata": self.compute.update_metadata(req.ctxt, instance["id"], metadata)}

    def meta_replace(self, req: ApiRequest, server_id: str) -> dict[str, Any]:
        instance = self.lookup(req, server_id)
        metadata = metadata_body(req)
        return {"metadata": self.compute.update_metadata(req.ctxt, instance["id"], metadata, replace=True)}

    def meta_show(self, req: ApiRequest, server_id: str, key: str) -> dict[str, Any]:
        metadata = self.lookup(req, server_id).metadata_dict
        if key not in metadata:
            raise exception.InstanceMetadataNotFound(instance_id=server_id, key=key[:255])
        return {"meta": {key: metadata[key]}}

    def meta_update(self, req: ApiRequest, server_id: str, key: str) -> dict[str, Any]:
        instance = self.lookup(req, server_id)
        item = meta_item_body(req, key)
        self.compute.update_metadata(req.ctxt, instance["id"], item)
        return {"meta": item}

    def meta_delete(self, req: ApiRequest, server_id: str, key: str) -> Result:
        instance = self.lookup(req, server_id)
        self.compute.delete_metadata_item(req.ctxt, instance["id"], key)
        return Result(None, 204)


def metadata_body(req: ApiRequest) -> dict[str, str]:
    body = req.body()
    metadata = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise faults.Fault(400, "The body must be {\"metadata\": {\"key\": \"value\", ...}} with string values.")
    return metadata


def meta_item_body(req: ApiRequest, key: str) -> dict[str, str]:
    item = req.body("meta")
    if len(item) != 1 or key not in item:
        raise faults.Fault(400, "The body must be {\"meta\": {KEY: VALUE}} naming the key in the URL.")
    if not isinstance(item[key], str):
        raise faults.Fault(400, "A metadata value must be a string.")
    return item
