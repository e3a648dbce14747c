"""v1.0/v1.1 flavors, images (create = snapshot of a server, ``/meta``) and ``/extensions``.

Listing, paging and lookups are the v2.1 controllers'; only the views differ.
"""

from __future__ import annotations

from typing import Any

from nova import exception
from nova.api.openstack import faults, flavors, images
from nova.api.openstack.servers import ref_id
from nova.api.openstack.v11.servers import ServersController, is_v10, meta_item_body, metadata_body
from nova.api.openstack.wsgi import ApiRequest, Result, string_field
from nova.compute import instance_types


class FlavorsController(flavors.FlavorsController):
    @staticmethod
    def _view(req: ApiRequest, flavor: Any, detail: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"id": int(flavor["flavorid"]), "name": flavor["name"]}
        if not is_v10(req):
            body["links"] = req.links("flavors", flavor["flavorid"])
        if detail:
            body.update({"ram": flavor["memory_mb"], "disk": flavor["local_gb"]})
        return body

    def index(self, req: ApiRequest) -> dict[str, Any]:
        return {"flavors": [self._view(req, f, False) for f in self._all(req)]}

    def detail(self, req: ApiRequest) -> dict[str, Any]:
        return {"flavors": [self._view(req, f, True) for f in self._all(req)]}

    def show(self, req: ApiRequest, flavor_id: str) -> dict[str, Any]:
        return {"flavor": self._view(req, instance_types.get_instance_type_by_flavor_id(flavor_id), True)}


class ImagesController(images.ImagesController):
    def _view(self, req: ApiRequest, image: dict[str, Any], detail: bool) -> dict[str, Any]:
        full = images._detail(req, image)
        body: dict[str, Any] = {"id": int(image["id"]), "name": full["name"]}
        if not is_v10(req):
            body["links"] = full["links"]
        if not detail:
            return body
        body.update({"status": full["status"], "created": full["created"], "updated": full["updated"]})
        if full["status"] == "SAVING":
            body["progress"] = 0
        if not is_v10(req):
            body["metadata"] = full["metadata"]
        server = (image.get("properties") or {}).get("instance_id")
        if server is not None:
            uuid = self._server_uuid(req, server)
            if uuid and is_v10(req):
                body["serverId"] = uuid
            elif uuid:
                body["serverRef"] = f"{req.base_url}/servers/{uuid}"
        return body

    @staticmethod
    def _server_uuid(req: ApiRequest, instance_id: Any) -> str | None:
        try:
            rows = ServersController().compute.get_all(req.ctxt, {"instance_ids": [int(instance_id)]})
        except (ValueError, TypeError, exception.Invalid):
            return None
        return rows[0]["uuid"] if rows else None

    def index(self, req: ApiRequest) -> dict[str, Any]:
        return {"images": [self._view(req, i, False) for i in self._all(req)]}

    def detail(self, req: ApiRequest) -> dict[str, Any]:
        return {"images": [self._view(req, i, True) for i in self._all(req)]}

    def show(self, req: ApiRequest, image_id: str) -> dict[str, Any]:
        return {"image": self._view(req, self._get(req, image_id), True)}

    def create(self, req: ApiRequest) -> Result:
        """A snapshot of one of the caller's servers (``serverId`` in v1.0, ``serverRef`` in v1.1)."""
        values = req.body("image")
        name = string_field(values, "name")
        field = "serverId" if is_v10(req) else "serverRef"
        servers = ServersController()
        instance = servers.lookup(req, ref_id(values.get(field, values.get("serverId")), field))
        image = servers.compute.snapshot(req.ctxt, instance["id"], name)
        return Result({"image": self._view(req, self.images.show(req.ctxt, image["id"]), True)}, 202)

    def delete(self, req: ApiRequest, image_id: str) -> Result:
        super().delete(req, image_id)
        return Result(None, 204)

    # -- /images/{id}/meta ---------------------------------------------------------

    def _properties(self, req: ApiRequest, image_id: str) -> dict[str, Any]:
        return dict(self._get(req, image_id).get("properties") or {})

    def _save(self, req: ApiRequest, image_id: str, properties: dict[str, Any]) -> dict[str, str]:
        image = self._get(req, image_id)
        try:
            saved = self.images.set_properties(req.ctxt, image["id"], properties)
        except exception.ImageNotOwned:
            raise faults.Fault(403, f"Image {image['id']} belongs to another project.") from None
        return {str(k): str(v) for k, v in (saved.get("properties") or {}).items() if v is not None}

    def meta_index(self, req: ApiRequest, image_id: str) -> dict[str, Any]:
        return {"metadata": {str(k): str(v) for k, v in self._properties(req, image_id).items() if v is not None}}

    def meta_create(self, req: ApiRequest, image_id: str) -> dict[str, Any]:
        properties = dict(self._properties(req, image_id), **metadata_body(req))
        return {"metadata": self._save(req, image_id, properties)}

    def meta_show(self, req: ApiRequest, image_id: str, key: str) -> dict[str, Any]:
        properties = self._properties(req, image_id)
        if properties.get(key) is None:
            raise faults.Fault(404, f"Image {image_id[:40]} has no metadata with key {key[:255]}.")
        return {"meta": {key: str(properties[key])}}

    def meta_update(self, req: ApiRequest, image_id: str, key: str) -> dict[str, Any]:
        item = meta_item_body(req, key)
        self._save(req, image_id, dict(self._properties(req, image_id), **item))
        return {"meta": item}

    def meta_delete(self, req: ApiRequest, image_id: str, key: str) -> Result:
        properties = self._properties(req, image_id)
        if properties.get(key) is None:
            raise faults.Fault(404, f"Image {image_id[:40]} has no metadata with key {key[:255]}.")
        properties[key] = None
        self._save(req, image_id, properties)
        return Result(None, 204)


# alias -> (name, namespace suffix, description); the era's names for what v2.1 also serves.
EXTENSIONS = {
    "os-keypairs": ("Keypairs", "keypairs", "Keypair support: /os-keypairs."),
    "security_groups": ("SecurityGroups", "securitygroups", "Security group support: /os-security-groups "
                                                            "and /os-security-group-rules."),
    "os-floating-ips": ("Floating_ips", "floating_ips", "Floating IP support: /os-floating-ips."),
    "os-volumes": ("Volumes", "volumes", "Volumes support: /os-volumes, /os-snapshots and "
                                         "/servers/{id}/os-volume_attachments."),
}


class ExtensionsController:
    @staticmethod
    def _view(alias: str) -> dict[str, Any]:
        name, suffix, description = EXTENSIONS[alias]
        return {"name": name, "alias": alias, "description": description, "links": [],
                "namespace": f"http://docs.openstack.org/ext/{suffix}/api/v1.1",
                "updated": "2011-03-25T00:00:00+00:00"}

    def index(self, req: ApiRequest) -> dict[str, Any]:
        return {"extensions": [self._view(alias) for alias in EXTENSIONS]}

    def show(self, req: ApiRequest, alias: str) -> dict[str, Any]:
        if alias not in EXTENSIONS:
            raise faults.Fault(404, f"There is no extension {alias[:64]!r}.")
        return {"extension": self._view(alias)}
