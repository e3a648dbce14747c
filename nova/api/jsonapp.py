"""What the small JSON front ends share (identity v3, image v2, network v2.0).

Each is a table of ``(path regex, {method: handler})`` routes, answers every
failure with its own error body through ``render_fault``, and tags every
answer with ``x-openstack-request-id``.  Handlers raise ``Fault`` for the
mistakes only the front end can name; everything else is a nova exception
that the app's fault table maps.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

import webob
import webob.dec

from nova import context as nova_context
from nova import exception, wsgi
from nova.auth import manager

Handler = Callable[..., webob.Response]
Route = tuple[re.Pattern, dict[str, Handler]]


class Fault(Exception):
    """An error answer a handler raises directly (``kind`` is the API's error type, where it has one)."""

    def __init__(self, status: int, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> webob.Response:
    response = webob.Response(status=status, content_type="application/json", charset="UTF-8")
    response.text = json.dumps(body)
    response.headers.update(headers or {})
    return response


class JsonApp:
    """A WSGI app over ``self.routes``; subclasses set the routes and ``render_fault``."""

    routes: list[Route]
    not_found_message = "Could not find {path}."

    def __init__(self) -> None:
        self.auth = manager.AuthManager()

    @classmethod
    def factory(cls, global_config: dict[str, str], **local_config: str) -> "JsonApp":
        return cls()

    def render_fault(self, exc: BaseException, request_id: str) -> webob.Response:
        raise NotImplementedError

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        request_id = wsgi.request_id_of(req.environ)
        try:
            response = self.dispatch(req, request_id)
        except Exception as exc:  # one place turns every failure into the API's error body
            response = self.render_fault(exc, request_id)
        response.headers["x-openstack-request-id"] = request_id
        return response

    def dispatch(self, req: webob.Request, request_id: str) -> webob.Response:
        """Token-authenticated routes: ``handler(req, context, params)``."""
        handler, params = self.route(req)
        return handler(req, self.context(req, request_id), params)

    def route(self, req: webob.Request) -> tuple[Handler, dict[str, str]]:
        """The handler of the request's path and method; 405 or 404 otherwise.  HEAD is GET unless routed."""
        for pattern, methods in self.routes:
            match = pattern.match(req.path_info)
            if match:
                method = "GET" if req.method == "HEAD" and "HEAD" not in methods else req.method
                if method not in methods:
                    raise Fault(405, f"The method {req.method} is not allowed on {req.path_info}.")
                return methods[method], match.groupdict()
        raise Fault(404, self.not_found_message.format(path=req.path_info[:80]))

    def context(self, req: webob.Request, request_id: str) -> nova_context.RequestContext:
        """The caller of a request carrying ``X-Auth-Token`` (401 without one, or with a bad one)."""
        token = req.headers.get("X-Auth-Token", "")
        if not token:
            raise Fault(401, "Authentication required: send X-Auth-Token.")
        try:
            creds = self.auth.authenticate_token(token)
        except exception.NotFound:
            raise Fault(401, "The token is unknown or has expired.") from None
        return creds.to_context(request_id=request_id, remote_address=req.remote_addr)

    @staticmethod
    def check_read(req: webob.Request) -> None:
        """Version documents answer GET and HEAD only."""
        if req.method not in ("GET", "HEAD"):
            raise Fault(405, f"The method {req.method} is not allowed on {req.path_info}.")
