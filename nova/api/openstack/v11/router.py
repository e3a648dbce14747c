"""The v1.0/v1.1 routes on the shared Router, with XML request bodies and per-request response formats."""

from __future__ import annotations

from typing import Any

import webob

from nova.api.openstack import faults, floating_ips, keypairs, security_groups, volume_attachments, volumes
from nova.api.openstack.router import volume_routes
from nova.api.openstack.v11 import formats, ratelimit, resources
from nova.api.openstack.v11.servers import ServersController
from nova.api.openstack.wsgi import MAX_BODY, ApiRequest, Result, Route, Router, set_json_body


class V11Request(ApiRequest):
    """An ApiRequest whose body may also be XML (``Content-Type: application/xml``)."""

    def body(self, root: str | None = None) -> Any:
        if self._body is None and "xml" in (self.webob.content_type or ""):
            raw = self.webob.body
            if len(raw) > MAX_BODY:
                raise faults.Fault(413, "Request body is too large.")
            if not raw.strip():
                raise faults.Fault(400, "The request has no body.")
            self._body = formats.from_xml(raw)
        return super().body(root)


class _VersionDocument:
    def show(self, req: ApiRequest) -> dict[str, Any]:
        return version_document(req.webob)


def version_document(req: webob.Request) -> dict[str, Any]:
    version = req.environ.get(formats.VERSION_KEY, "v1.1")
    status = "CURRENT" if version == "v1.1" else "DEPRECATED"
    return {"version": {"id": version, "status": status, "updated": "2011-01-21T11:33:21Z",
                        "links": [{"rel": "self", "href": f"{req.host_url}/{version}/"}]}}


class V11Router(Router):
    request_class = V11Request

    def __init__(self, route_list: list[Route]) -> None:
        super().__init__(route_list)
        self.controllers["_version"] = _VersionDocument()

    def render(self, result: Result, req: webob.Request | None = None) -> webob.Response:
        fmt = formats.format_of(req) if req is not None else "json"
        response = webob.Response(status=result.status)
        if result.body is None:
            response.content_type = None
            response.body = b""
        else:
            response.content_type = formats.CONTENT_TYPES[fmt]
            response.charset = "UTF-8"
            namespace = formats.namespace_of(req) if req is not None else formats.NAMESPACES["v1.1"]
            if fmt == "json":
                set_json_body(response, result.body)
            else:
                response.body = formats.serialize(result.body, fmt, namespace)
        for key, value in result.headers.items():
            response.headers[key] = value
        return response


def v11_routes() -> list[Route]:
    servers, flavor, image = ServersController(), resources.FlavorsController(), resources.ImagesController()
    keypair = keypairs.KeypairsController()
    groups, rules = security_groups.SecurityGroupsController(), security_groups.SecurityGroupRulesController()
    floating = floating_ips.FloatingIpsController()
    extensions = resources.ExtensionsController()
    disks, snapshots = volumes.VolumesController(), volumes.SnapshotsController()
    attachments = volume_attachments.VolumeAttachmentsController()
    return [
        ("GET", "/", _VersionDocument(), "show"),
        ("GET", "/servers", servers, "index"),
        ("POST", "/servers", servers, "create"),
        ("GET", "/servers/detail", servers, "detail"),
        ("GET", "/servers/{server_id}", servers, "show"),
        ("PUT", "/servers/{server_id}", servers, "update"),
        ("DELETE", "/servers/{server_id}", servers, "delete"),
        ("POST", "/servers/{server_id}/action", servers, "action"),
        ("GET", "/servers/{server_id}/ips", servers, "ips"),
        ("GET", "/servers/{server_id}/ips/{network}", servers, "ips_by_network"),
        ("GET", "/servers/{server_id}/meta", servers, "meta_index"),
        ("POST", "/servers/{server_id}/meta", servers, "meta_create"),
        ("PUT", "/servers/{server_id}/meta", servers, "meta_replace"),
        ("GET", "/servers/{server_id}/meta/{key}", servers, "meta_show"),
        ("PUT", "/servers/{server_id}/meta/{key}", servers, "meta_update"),
        ("DELETE", "/servers/{server_id}/meta/{key}", servers, "meta_delete"),
        ("GET", "/flavors", flavor, "index"),
        ("GET", "/flavors/detail", flavor, "detail"),
        ("GET", "/flavors/{flavor_id}", flavor, "show"),
        ("GET", "/images", image, "index"),
        ("POST", "/images", image, "create"),
        ("GET", "/images/detail", image, "detail"),
        ("GET", "/images/{image_id}", image, "show"),
        ("DELETE", "/images/{image_id}", image, "delete"),
        ("GET", "/images/{image_id}/meta", image, "meta_index"),
        ("POST", "/images/{image_id}/meta", image, "meta_create"),
        ("GET", "/images/{image_id}/meta/{key}", image, "meta_show"),
        ("PUT", "/images/{image_id}/meta/{key}", image, "meta_update"),
        ("DELETE", "/images/{image_id}/meta/{key}", image, "meta_delete"),
        ("GET", "/limits", ratelimit.LimitsController(), "index"),
        ("GET", "/extensions", extensions, "index"),
        ("GET", "/extensions/{alias}", extensions, "show"),
        ("GET", "/os-keypairs", keypair, "index"),
        ("POST", "/os-keypairs", keypair, "create"),
        ("DELETE", "/os-keypairs/{name}", keypair, "delete"),
        ("GET", "/os-security-groups", groups, "index"),
        ("POST", "/os-security-groups", groups, "create"),
        ("GET", "/os-security-groups/{group_id}", groups, "show"),
        ("DELETE", "/os-security-groups/{group_id}", groups, "delete"),
        ("POST", "/os-security-group-rules", rules, "create"),
        ("DELETE", "/os-security-group-rules/{rule_id}", rules, "delete"),
        ("GET", "/os-floating-ips", floating, "index"),
        ("POST", "/os-floating-ips", floating, "create"),
        ("GET", "/os-floating-ips/{floating_ip_id}", floating, "show"),
        ("DELETE", "/os-floating-ips/{floating_ip_id}", floating, "delete"),
        *volume_routes(disks, snapshots, attachments),
    ]


def v11_factory(global_config: dict[str, str], **local_config: str) -> V11Router:
    """paste.app_factory for /v1.0 and /v1.1 (the version comes from the fault filter's ``version``)."""
    return V11Router(v11_routes())
