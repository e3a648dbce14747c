"""The image API v2 application: routes, token authentication and the handlers."""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from typing import IO, Any, Iterator

import webob
import webob.dec

from nova import context as nova_context
from nova import exception, utils
from nova.api import jsonapp
from nova.api.image import faults, views
from nova.api.image.faults import Fault
from nova.api.jsonapp import json_response
from nova.image import api as image_api

LOG = logging.getLogger(__name__)

DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
MAX_BODY = 64 * 1024
CHUNK = 64 * 1024
VERSIONS = (("v2.9", "CURRENT"), ("v2.0", "SUPPORTED"))

def _image_id(value: str) -> int:
    """nova's image ids are integers; any other id names no image."""
    number = utils.decimal(value, 18)
    if number is None:
        raise exception.ImageNotFound(image_id=value[:40])
    return number


def _file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                return
            yield chunk
    finally:
        handle.close()


class ImageApp(jsonapp.JsonApp):
    """Version documents (no token needed) and ``/v2/images`` (a token from the identity API)."""

    def __init__(self) -> None:
        super().__init__()
        self.images = image_api.API()
        self.public_routes = [re.compile(r"^/?$"), re.compile(r"^/versions/?$")]
        self.routes: list[jsonapp.Route] = [
            (re.compile(r"^/v2/images/?$"), {"GET": self.index, "POST": self.create}),
            (re.compile(r"^/v2/images/(?P<image_id>[^/]+)/?$"), {"GET": self.show, "DELETE": self.delete}),
            (re.compile(r"^/v2/images/(?P<image_id>[^/]+)/file/?$"), {"GET": self.download, "PUT": self.upload}),
        ]

    def render_fault(self, exc: BaseException, request_id: str) -> webob.Response:
        return faults.render(exc, request_id)

    def dispatch(self, req: webob.Request, request_id: str) -> webob.Response:
        if any(p.match(req.path_info) for p in self.public_routes):
            self.check_read(req)
            return self.versions(req)
        return super().dispatch(req, request_id)

    def versions(self, req: webob.Request) -> webob.Response:
        base = req.host_url
        values = [{"id": version, "status": status, "links": [{"rel": "self", "href": f"{base}/v2/"}]}
                  for version, status in VERSIONS]
        return json_response({"versions": values}, status=300 if req.path_info.strip("/") == "" else 200)

    # -- images ------------------------------------------------------------------
    def _render(self, ctxt: nova_context.RequestContext, image: dict[str, Any]) -> dict[str, Any]:
        return views.render(image, self.images.visibility_of(ctxt, image))

    def index(self, req: webob.Request, ctxt: nova_context.RequestContext, params: dict[str, str]) -> webob.Response:
        query = req.GET
        limit = DEFAULT_LIMIT
        if "limit" in query:
            try:
                limit = int(query["limit"])
            except ValueError:
                raise Fault(400, "limit must be an integer") from None
            if limit < 0:
                raise Fault(400, "limit must not be negative")
        limit = min(limit, MAX_LIMIT)
        marker = None
        if "marker" in query:
            marker = utils.decimal(query["marker"], 18)
            if marker is None:
                raise Fault(400, f"marker {query['marker'][:40]} could not be found")
        states = views.states_for(query["status"]) if "status" in query else None
        visibility = query.get("visibility")
        if visibility == "community":
            visibility = "public"
        images, more = self.images.get_page(ctxt, name=query.get("name"), states=states, visibility=visibility,
                                            owner=query.get("owner"), marker=marker, limit=limit)
        body: dict[str, Any] = {"images": [self._render(ctxt, i) for i in images], "first": "/v2/images",
                                "schema": "/v2/schemas/images"}
        if more and images:
            kept = [(k, v) for k, v in query.items() if k not in ("marker", "limit")]
            body["next"] = "/v2/images?" + urllib.parse.urlencode(kept + [("marker", images[-1]["id"]),
                                                                          ("limit", limit)])
        return json_response(body)

    def show(self, req: webob.Request, ctxt: nova_context.RequestContext, params: dict[str, str]) -> webob.Response:
        return json_response(self._render(ctxt, self.images.show(ctxt, _image_id(params["image_id"]))))

    def create(self, req: webob.Request, ctxt: nova_context.RequestContext, params: dict[str, str]) -> webob.Response:
        if req.content_length is not None and req.content_length > MAX_BODY:
            raise Fault(413, "The request body is too large.")
        try:
            body = json.loads(req.body_file.read(MAX_BODY + 1) or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise Fault(400, "The request body is not valid JSON.") from None
        image = self.images.create(ctxt, views.parse_create(body))
        response = json_response(self._render(ctxt, image), status=201)
        response.headers["Location"] = f"{req.host_url}/v2/images/{image['id']}"
        return response

    def delete(self, req: webob.Request, ctxt: nova_context.RequestContext, params: dict[str, str]) -> webob.Response:
        self.images.delete(ctxt, _image_id(params["image_id"]))
        return webob.Response(status=204)

    def upload(self, req: webob.Request, ctxt: nova_context.RequestContext, params: dict[str, str]) -> webob.Response:
        image_id = _image_id(params["image_id"])
        if req.content_length is not None:
            source = req.body_file
        elif req.headers.get("Transfer-Encoding", "").lower() == "chunked":
            source = req.environ["wsgi.input"]
        else:
            raise Fault(411, "Send the image's bytes with a Content-Length or chunked.")
        image = self.images.upload(ctxt, image_id, source)
        LOG.info("Uploaded %s bytes into image %s", image["size"], image["id"])
        return webob.Response(status=204)

    def download(self, req: webob.Request, ctxt: nova_context.RequestContext,
                 params: dict[str, str]) -> webob.Response:
        image_id = _image_id(params["image_id"])
        image = self.images.show(ctxt, image_id)
        if image["state"] != "available":
            return webob.Response(status=204)
        image, handle = self.images.open_file(ctxt, image_id)
        response = webob.Response(status=200, content_type="application/octet-stream")
        response.app_iter = _file_chunks(handle)
        response.content_length = image["size"]
        if image["checksum"]:
            response.headers["Content-MD5"] = image["checksum"]
        return response
