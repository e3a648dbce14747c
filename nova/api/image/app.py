"""The image API v2 application: routes, token authentication and the handlers."""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from typing import IO, Any, Callable, Iterator

import webob
import webob.dec

from nova import context as nova_context
from nova import exception, wsgi
from nova.api.image import faults, views
from nova.api.image.faults import Fault
from nova.auth import manager
from nova.image import api as image_api

LOG = logging.getLogger(__name__)

DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
MAX_BODY = 64 * 1024
CHUNK = 64 * 1024
VERSIONS = (("v2.9", "CURRENT"), ("v2.0", "SUPPORTED"))

Handler = Callable[[webob.Request, nova_context.RequestContext, dict[str, str]], webob.Response]


def json_response(body: Any, status: int = 200) -> webob.Response:
    response = webob.Response(status=status, content_type="application/json", charset="UTF-8")
    response.text = json.dumps(body)
    return response


def _image_id(value: str) -> int:
    """nova's image ids are integers; any other id names no image."""
    if not value.isdigit():
        raise exception.ImageNotFound(image_id=value)
    return int(value)


def _file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                return
            yield chunk
    finally:
        handle.close()


class ImageApp:
    """Version documents (no token needed) and ``/v2/images`` (a token from the identity API)."""

    def __init__(self) -> None:
        self.auth = manager.AuthManager()
        self.images = image_api.API()
        self.public_routes = [re.compile(r"^/?$"), re.compile(r"^/versions/?$")]
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (re.compile(r"^/v2/images/?$"), {"GET": self.index, "POST": self.create}),
            (re.compile(r"^/v2/images/(?P<image_id>[^/]+)/?$"), {"GET": self.show, "DELETE": self.delete}),
            (re.compile(r"^/v2/images/(?P<image_id>[^/]+)/file/?$"), {"GET": self.download, "PUT": self.upload}),
        ]

    @classmethod
    def factory(cls, global_config: dict[str, str], **local_config: str) -> "ImageApp":
        return cls()

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        request_id = wsgi.request_id_of(req.environ)
        try:
            if any(p.match(req.path_info) for p in self.public_routes):
                if req.method not in ("GET", "HEAD"):
                    raise Fault(405, f"The method {req.method} is not allowed on {req.path_info}.")
                response = self.versions(req)
            else:
                handler, params = self._route(req)
                response = handler(req, self._context(req, request_id), params)
        except Exception as exc:  # one place turns every failure into the API's error body
            response = faults.render(exc, request_id)
        response.headers["x-openstack-request-id"] = request_id
        return response

    def _route(self, req: webob.Request) -> tuple[Handler, dict[str, str]]:
        for pattern, methods in self.routes:
            match = pattern.match(req.path_info)
            if match:
                method = "GET" if req.method == "HEAD" else req.method
                if method not in methods:
                    raise Fault(405, f"The method {req.method} is not allowed on {req.path_info}.")
                return methods[method], match.groupdict()
        raise Fault(404, f"Could not find {req.path_info}.")

    def _context(self, req: webob.Request, request_id: str) -> nova_context.RequestContext:
        token = req.headers.get("X-Auth-Token", "")
        if not token:
            raise Fault(401, "This server could not verify that you are authorized: send X-Auth-Token.")
        try:
            creds = self.auth.authenticate_token(token)
        except exception.NotFound:
            raise Fault(401, "The token is unknown or has expired.") from None
        return creds.to_context(request_id=request_id, remote_address=req.remote_addr)

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
            if not query["marker"].isdigit():
                raise Fault(400, f"marker {query['marker']} could not be found")
            marker = int(query["marker"])
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
