"""/servers: create, list, detail, show, update, delete, and /servers/{id}/ips."""

from __future__ import annotations

import base64
import binascii
import datetime
import logging
import re
from typing import Any

from nova import exception, gc_pause
from nova.api.openstack import block_device_mapping, faults, server_view
from nova.api.openstack.wsgi import ApiRequest, Result, int_field, page, string_field
from nova.compute import api as compute_api
from nova.compute import block_devices, instance_types
from nova.image import api as image_api

LOG = logging.getLogger(__name__)
MAX_LIMIT = 1000


def ref_id(value: Any, name: str) -> str:
    """The id at the end of an id or an href (``.../images/3``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise faults.Fault(400, f"'{name}' is a required property and must be a string.")
    return value.strip().rstrip("/").rsplit("/", 1)[-1]


def image_number(image_id: str, name: str = "imageRef") -> int:
    """nova's image ids are integers (the images table has no uuid); ami-XXXXXXXX is accepted too."""
    text = image_id[4:] if image_id.startswith("ami-") else image_id
    try:
        number = int(text, 16) if image_id.startswith("ami-") else int(text)
    except ValueError:
        number = -1
    if not 0 < number < 2**31:
        raise faults.Fault(400, f"Invalid {name} provided: {image_id[:64]!r}.")
    return number


class ServersController:
    def __init__(self) -> None:
        self.compute = compute_api.API()

    def lookup(self, req: ApiRequest, server_id: str) -> Any:
        return self.compute.get_by_uuid(req.ctxt, server_id)

    # -- create ---------------------------------------------------------------

    def create(self, req: ApiRequest) -> Result:
        server = req.body("server")
        name = string_field(server, "name")
        image_id, mappings = self._image_and_mappings(req, server)
        flavor = instance_types.get_instance_type_by_flavor_id(ref_id(server.get("flavorRef"), "flavorRef"))
        key_name = string_field(server, "key_name", required=False)
        zone = string_field(server, "availability_zone", required=False)
        groups = server.get("security_groups")
        if groups is not None:
            if not isinstance(groups, list) or not all(isinstance(g, dict) and isinstance(g.get("name"), str)
                                                      for g in groups):
                raise faults.Fault(400, "'security_groups' must be a list of {\"name\": ...} objects.")
            groups = [g["name"] for g in groups]
        user_data = self._user_data(server.get("user_data"))
        metadata = server.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise faults.Fault(400, "'metadata' must be an object.")
        min_count = int_field(server.get("min_count", 1), "min_count", 1)
        max_count = int_field(server.get("max_count", min_count), "max_count", 1)
        if min_count > max_count:
            raise faults.Fault(400, "min_count must be less than or equal to max_count.")
        try:
            reservation_id, instances = self.compute.create(
                req.ctxt, flavor["name"], image_id, min_count=min_count, max_count=max_count, key_name=key_name,
                security_groups=groups, user_data=user_data, availability_zone=zone, display_name=name,
                metadata=metadata, block_device_mapping=mappings)
        except exception.ImageNotFound:
            raise faults.Fault(400, f"Can not find requested image {image_id}.") from None
        except exception.KeypairNotFound:
            raise faults.Fault(400, f"Invalid key_name provided: {key_name}.") from None
        except exception.SecurityGroupNotFound as exc:
            raise faults.Fault(400, str(exc)) from None
        LOG.info("Created %d server(s) in %s", len(instances), reservation_id)
        if server.get("return_reservation_id") is True or req.body().get("return_reservation_id") is True:
            return Result({"reservation_id": reservation_id}, 202)
        first = instances[0]
        body = {"server": {"id": first["uuid"], "links": req.links("servers", first["uuid"]),
                           "OS-DCF:diskConfig": "MANUAL",
                           "security_groups": [{"name": g} for g in (groups or ["default"])]}}
        return Result(body, 202, {"Location": f"{req.base_url}/servers/{first['uuid']}"})

    @staticmethod
    def _image_and_mappings(req: ApiRequest, server: dict[str, Any]) -> tuple[int | None, list[dict[str, Any]]]:
        """The image to boot (None: a boot volume instead) and the block device mappings, from either syntax."""
        v2, v1 = server.get("block_device_mapping_v2"), server.get("block_device_mapping")
        if v2 is not None and v1 is not None:
            raise faults.Fault(400, "Using block_device_mapping and block_device_mapping_v2 together is not allowed.")
        image_ref = server.get("imageRef")
        if image_ref in (None, "") and (v2 is not None or v1 is not None):
            image_id = None
        else:
            image_id = image_number(ref_id(image_ref, "imageRef"))
        if v1 is not None:
            return image_id, block_device_mapping.from_v1(v1, image_id).mappings
        if v2 is None:
            return image_id, []
        image_root = None
        if image_id is not None:
            try:
                image = image_api.API().show(req.ctxt, image_id)
            except exception.ImageNotFound:
                raise faults.Fault(400, f"Can not find requested image {image_id}.") from None
            image_root = block_devices.image_mappings(image)[0]
        return image_id, block_device_mapping.from_v2(v2, image_id, image_root).mappings

    @staticmethod
    def _user_data(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > 65535:
            raise faults.Fault(400, "'user_data' must be a base64 string of at most 65535 characters.")
        try:
            return base64.b64decode(value, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            raise faults.Fault(400, "User data needs to be valid base 64.") from None

    # -- read -----------------------------------------------------------------

    def index(self, req: ApiRequest) -> dict[str, Any]:
        instances = self._list(req)
        body: dict[str, Any] = {"servers": [server_view.summary(req, i) for i in instances]}
        self._next_link(req, instances, body)
        return body

    def detail(self, req: ApiRequest) -> dict[str, Any]:
        instances = self._list(req)
        with gc_pause.collection_paused():  # tens of thousands of dicts, no cycles (see nova.gc_pause)
            body: dict[str, Any] = {"servers": [server_view.detail(req, i, server_view.listed_nics(i), i.volumes)
                                                for i in instances]}
        self._next_link(req, instances, body)
        return body

    def _list(self, req: ApiRequest) -> list[Any]:
        filters: dict[str, Any] = {}
        if not (req.ctxt.is_admin and req.param("all_tenants") not in (None, "0", "false", "False")):
            filters["project_id"] = req.ctxt.project_id
        status = req.param("status")
        if status:
            filters["vm_state"] = server_view.vm_states_for_status(status)
            if not filters["vm_state"]:
                return []
        name = req.param("name")
        if not (name or req.param("image") or req.param("flavor") or req.param("changes-since")
                or (status and status.upper() in ("REBOOT", "HARD_REBOOT"))):
            # nothing is matched here: the database cuts the page (newest first, after the marker)
            limit = req.param("limit")
            marker = req.param("marker")
            try:
                return self.compute.get_listing(
                    req.ctxt, filters, limit=None if limit is None else int_field(limit, "limit", 0, MAX_LIMIT),
                    newest_first=True, marker=marker or None)
            except exception.MarkerNotFound:
                raise faults.Fault(400, f"marker [{marker[:40]}] not found") from None
        instances = self.compute.get_listing(req.ctxt, filters, newest_first=True)
        if name:
            try:
                pattern = re.compile(name[:255])
            except re.error:
                raise faults.Fault(400, "Invalid filter: 'name' is not a regular expression.") from None
            instances = [i for i in instances if pattern.search(i["display_name"] or "")]
        image = req.param("image")
        if image:
            instances = [i for i in instances if i["image_id"] == ref_id(image, "image")]
        flavor = req.param("flavor")
        if flavor:
            instances = [i for i in instances if server_view.flavor_id(i) == ref_id(flavor, "flavor")]
        if status and status.upper() in ("REBOOT", "HARD_REBOOT"):
            instances = [i for i in instances if server_view.status_of(i) == status.upper()]
        since = req.param("changes-since")
        if since:
            when = self._time(since)
            instances = [i for i in instances if (i["updated_at"] or i["created_at"]) >= when]
        return self._page(req, instances)

    @staticmethod
    def _time(text: str) -> datetime.datetime:
        try:
            when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise faults.Fault(400, f"Invalid changes-since value {text[:40]!r}.") from None
        if when.tzinfo is not None:
            when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return when

    @staticmethod
    def _page(req: ApiRequest, instances: list[Any]) -> list[Any]:
        return page(req, instances, lambda i: i["uuid"], MAX_LIMIT)

    @staticmethod
    def _next_link(req: ApiRequest, instances: list[Any], body: dict[str, Any]) -> None:
        limit = req.param("limit")
        if limit is None or not instances or len(instances) != int(limit):
            return
        params = "&".join(f"{k}={v}" for k, v in req.params.items() if k != "marker")
        path = "servers/detail" if req.webob.path_info.rstrip("/").endswith("/detail") else "servers"
        href = f"{req.base_url}/{path}?{params}&marker={instances[-1]['uuid']}"
        body["servers_links"] = [{"rel": "next", "href": href}]

    def show(self, req: ApiRequest, server_id: str) -> dict[str, Any]:
        instance = self.lookup(req, server_id)
        nics, volumes = server_view.nics_of(req, [instance]), server_view.volumes_of(req, [instance])
        return {"server": server_view.detail(req, instance, nics[instance["id"]], volumes.get(instance["id"]))}

    def update(self, req: ApiRequest, server_id: str) -> dict[str, Any]:
        values = req.body("server")
        instance = self.lookup(req, server_id)
        unknown = set(values) - {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig", "description"}
        if unknown:
            raise faults.Fault(400, f"Additional properties are not allowed ({', '.join(sorted(unknown))[:80]}).")
        if "name" in values:
            instance = self.compute.rename(req.ctxt, instance["id"], string_field(values, "name"))
        return self.show(req, instance["uuid"])

    def delete(self, req: ApiRequest, server_id: str) -> Result:
        instance = self.lookup(req, server_id)
        self.compute.delete(req.ctxt, instance["id"])
        return Result(None, 204)

    # -- ips --------------------------------------------------------------------

    def ips(self, req: ApiRequest, server_id: str) -> dict[str, Any]:
        instance = self.lookup(req, server_id)
        return {"addresses": server_view.addresses(server_view.nics_of(req, [instance])[instance["id"]])}

    def ips_by_network(self, req: ApiRequest, server_id: str, network: str) -> dict[str, Any]:
        found = self.ips(req, server_id)["addresses"]
        if network not in found:
            raise faults.Fault(404, f"Instance is not a member of specified network {network[:64]!r}.")
        return {network: found[network]}
