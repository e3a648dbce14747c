"""The version documents: ``GET /`` lists the versions, ``GET /v2.1`` describes one."""

from __future__ import annotations

from typing import Any

import webob
import webob.dec

from nova.api.openstack import auth, faults
from nova.api.openstack.wsgi import JSONSerializer

_VERSIONS = {
    "v2.0": {"status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z",
             "path": "v2"},
    "v2.1": {"status": "CURRENT", "version": auth.MAX_VERSION, "min_version": auth.MIN_VERSION,
             "updated": "2013-07-23T11:33:21Z", "path": "v2.1"},
}
_MEDIA_TYPES = [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}]


def _describe(host_url: str, version_id: str, detailed: bool) -> dict[str, Any]:
    info = _VERSIONS[version_id]
    links = [{"rel": "self", "href": f"{host_url}/{info['path']}/"}]
    doc: dict[str, Any] = {"id": version_id, "status": info["status"], "version": info["version"],
                           "min_version": info["min_version"], "updated": info["updated"], "links": links}
    if detailed:
        links.append({"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"})
        doc["media-types"] = _MEDIA_TYPES
    return doc


def _respond(body: Any, status: int = 200) -> webob.Response:
    response = webob.Response(status=status, content_type=JSONSerializer.content_type, charset="UTF-8")
    response.body = JSONSerializer().serialize(body)
    auth.add_version_headers(response)
    return response


def document(req: webob.Request) -> dict[str, Any]:
    """The version document of the version ``req`` was sent to."""
    version_id = "v2.0" if req.script_name.rstrip("/").endswith("/v2") else "v2.1"
    return {"version": _describe(req.host_url, version_id, True)}


class Versions:
    """``/``: every version (200 for the root, 300 Multiple Choices for other paths)."""

    @classmethod
    def factory(cls, global_config: dict[str, str], **local_config: str) -> "Versions":
        return cls()

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        if req.method not in ("GET", "HEAD"):
            return faults.fault_response(405, "The version document is read-only.")
        versions = [_describe(req.host_url, v, False) for v in _VERSIONS]
        if req.path_info.strip("/"):
            return _respond({"choices": versions}, 300)
        return _respond({"versions": versions})


class VersionDocument:
    """``/v2.1`` (and ``/v2``) with or without a trailing slash: that version, without a token."""

    def __init__(self, application: Any, version_id: str) -> None:
        self.application = application
        self.version_id = version_id

    @classmethod
    def factory(cls, global_config: dict[str, str], **local_config: str) -> Any:
        return lambda app: cls(app, local_config.get("version", "v2.1"))

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> Any:
        if req.path_info in ("", "/") and req.method in ("GET", "HEAD"):
            return _respond({"version": _describe(req.host_url, self.version_id, True)})
        return req.get_response(self.application)
