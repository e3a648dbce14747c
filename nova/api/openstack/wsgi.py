"""The shared machinery of every OpenStack API version: a request as the
controllers see it, JSON bodies, results, the serializer hook and the
dispatch from a Routes match to a controller method.

A controller method takes an ``ApiRequest`` and the URL's variables and
returns a ``Result`` (or a plain dict for a 200).  It raises nova
exceptions or ``faults.Fault``; ``faults.FaultWrapper`` renders them.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import routes
import webob
import webob.dec

from nova import context as nova_context
from nova.api.openstack import faults

LOG = logging.getLogger(__name__)
CONTEXT_KEY = "nova.context"
MAX_BODY = 1024 * 1024


@dataclass
class Result:
    """What a controller answers: a body (None for no content), a status and headers."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


STREAM_ITEMS = 200  # a top-level list longer than this is written (and sent) this many items at a time


def json_chunks(body: Any) -> Iterator[bytes]:
    """``json.dumps(body)`` in pieces, the same bytes: a long list member of a top-level object
    (``servers`` of servers/detail) is written ``STREAM_ITEMS`` items at a time, so a listing of
    thousands leaves while it is being written and is never one string.  Anything else is one piece."""
    if not isinstance(body, dict) or not any(type(v) is list and len(v) > STREAM_ITEMS for v in body.values()) \
            or not all(type(k) is str for k in body):
        yield json.dumps(body).encode("utf-8")
        return
    dumps = json.dumps
    head = "{"
    for number, (key, value) in enumerate(body.items()):
        head += (", " if number else "") + dumps(key) + ": "
        if type(value) is not list or len(value) <= STREAM_ITEMS:
            head += dumps(value)
            continue
        yield (head + "[").encode("utf-8")
        for start in range(0, len(value), STREAM_ITEMS):
            piece = dumps(value[start:start + STREAM_ITEMS])[1:-1]  # the items, without the list's brackets
            yield ((", " if start else "") + piece).encode("utf-8")
        head = "]"
    yield (head + "}").encode("utf-8")


def set_json_body(response: webob.Response, body: Any) -> None:
    """``body`` as the JSON of ``response``: one piece with its length, or streamed (``json_chunks``)."""
    chunks = json_chunks(body)
    first = next(chunks)
    second = next(chunks, None)
    if second is None:
        response.body = first
    else:
        response.app_iter = itertools.chain((first, second), chunks)


class JSONSerializer:
    """The body format; v1.1 adds an XML serializer chosen by ``Accept`` or the URL's extension."""

    content_type = "application/json"

    def serialize(self, body: Any) -> bytes:
        return json.dumps(body).encode("utf-8")

    def set_body(self, response: webob.Response, body: Any) -> None:
        set_json_body(response, body)


class ApiRequest:
    """One API call: the context, the parsed body and query, and URL builders for links."""

    def __init__(self, req: webob.Request, ctxt: nova_context.RequestContext, project_in_url: str | None) -> None:
        self.webob = req
        self.ctxt = ctxt
        self.project_in_url = project_in_url
        self.params = req.GET
        self._body: Any = None

    @functools.cached_property
    def base_url(self) -> str:
        """The version's root as the client addressed it (with the project id when the URL had one)."""
        root = self.webob.host_url + self.webob.script_name
        return root + (f"/{self.project_in_url}" if self.project_in_url else "")

    @functools.cached_property
    def bookmark_url(self) -> str:
        return self.webob.host_url + (f"/{self.project_in_url}" if self.project_in_url else "")

    def links(self, collection: str, item_id: Any) -> list[dict[str, str]]:
        return [{"rel": "self", "href": f"{self.base_url}/{collection}/{item_id}"},
                {"rel": "bookmark", "href": f"{self.bookmark_url}/{collection}/{item_id}"}]

    def body(self, root: str | None = None) -> Any:
        """The JSON body (its ``root`` member, which must be an object, when named)."""
        if self._body is None:
            raw = self.webob.body
            if len(raw) > MAX_BODY:
                raise faults.Fault(413, "Request body is too large.")
            if not raw.strip():
                raise faults.Fault(400, "The request has no body.")
            try:
                self._body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise faults.Fault(400, "Malformed request body: it is not JSON.") from None
        if root is None:
            return self._body
        if not isinstance(self._body, dict) or not isinstance(self._body.get(root), dict):
            raise faults.Fault(400, f"The body must be an object with a '{root}' object.")
        return self._body[root]

    def param(self, name: str) -> str | None:
        return self.params.get(name)


def require_admin(req: ApiRequest) -> None:
    if not req.ctxt.is_admin:
        raise faults.Fault(403, "Policy doesn't allow this operation: it needs an admin.")


def string_field(values: dict[str, Any], name: str, required: bool = True, max_length: int = 255,
                 allow_empty: bool = False) -> str | None:
    """A string member of a body, checked; 400 naming the field otherwise."""
    value = values.get(name)
    if value is None:
        if required:
            raise faults.Fault(400, f"'{name}' is a required property.")
        return None
    if not isinstance(value, str):
        raise faults.Fault(400, f"'{name}' must be a string.")
    value = value.strip()
    if (not value and not allow_empty) or len(value) > max_length:
        raise faults.Fault(400, f"'{name}' must be 1 to {max_length} characters.")
    return value


def int_field(value: Any, name: str, minimum: int | None = None, maximum: int | None = 2**31 - 1) -> int:
    if isinstance(value, bool):
        raise faults.Fault(400, f"'{name}' must be an integer.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise faults.Fault(400, f"'{name}' must be an integer.") from None
    if isinstance(value, float) and value != number:
        raise faults.Fault(400, f"'{name}' must be an integer.")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise faults.Fault(400, f"'{name}' must be between {minimum} and {maximum}.")
    return number


def page(req: "ApiRequest", items: list[Any], key: Callable[[Any], str],
         max_limit: int | None = 2**31 - 1) -> list[Any]:
    """The items after ``?marker=`` (matched by ``key``; 400 when absent) and at most ``?limit=`` of them."""
    marker = req.param("marker")
    if marker:
        index = next((n for n, item in enumerate(items) if key(item) == marker), None)
        if index is None:
            raise faults.Fault(400, f"marker [{marker[:40]}] not found")
        items = items[index + 1:]
    limit = req.param("limit")
    if limit is not None:
        items = items[:int_field(limit, "limit", 0, max_limit)]
    return items


def offset_page(req: "ApiRequest", items: list[Any], max_limit: int = 1000) -> list[Any]:
    """At most ``?limit=`` (and ``max_limit``) items after the first ``?offset=`` ones."""
    offset = int_field(req.param("offset") or 0, "offset", 0)
    limit = req.param("limit")
    count = max_limit if limit is None else min(int_field(limit, "limit", 0), max_limit)
    return items[offset:offset + count]


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def bool_field(value: Any, name: str) -> bool:
    """A boolean member: true/false, or the strings the compute API takes for them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise faults.Fault(400, f"'{name}' must be a boolean.")


Route = tuple[str, str, Any, str]  # (method, path, controller, action)


class _VersionDocument:
    def show(self, req: ApiRequest) -> dict[str, Any]:
        from nova.api.openstack import versions

        return versions.document(req.webob)


version_document = _VersionDocument()


class Router:
    """Dispatch a version's requests with a Routes mapper.

    Every route is also reachable below ``/{project_id}``; ``require_project``
    (``/v2``) makes that prefix mandatory.  A project id in the URL must be
    the token's project.  v1.1 subclasses it with its own ``request_class``
    (XML bodies) and ``render`` (XML or JSON, chosen per request).
    """

    request_class: type[ApiRequest] = ApiRequest

    def __init__(self, route_list: Iterable[Route], require_project: bool = False,
                 serializer: JSONSerializer | None = None) -> None:
        self.mapper = routes.Mapper()
        self.serializer = serializer or JSONSerializer()
        self.controllers: dict[str, Any] = {}
        prefixes = ["/{project_id}"] if require_project else ["", "/{project_id}"]
        for prefix in prefixes:
            for method, path, controller, action in route_list:
                key = type(controller).__name__
                self.controllers[key] = controller
                self.mapper.connect(prefix + path, controller=key, action=action,
                                    conditions={"method": [method]})
        # The version's root with the project id (the catalog's endpoint): its version document.
        self.mapper.connect("/{project_id}", controller="_version", action="show", conditions={"method": ["GET"]})
        self.controllers["_version"] = version_document

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        path = req.path_info.rstrip("/") or "/"
        match = self.mapper.match(path, environ={"REQUEST_METHOD": req.method})
        if match is None:
            if self.mapper.match(path, environ={"REQUEST_METHOD": "GET"}) or any(
                    self.mapper.match(path, environ={"REQUEST_METHOD": m}) for m in ("POST", "PUT", "DELETE")):
                raise faults.Fault(405, f"Method {req.method} is not allowed on {req.path_info}.")
            raise faults.Fault(404, "The resource could not be found.")
        ctxt = req.environ[CONTEXT_KEY]
        kwargs = {k: v for k, v in match.items() if k not in ("controller", "action")}
        project_id = kwargs.pop("project_id", None)
        if project_id is not None and project_id != ctxt.project_id:
            raise faults.Fault(400, f"Malformed request URL: URL's project_id '{project_id[:64]}' doesn't "
                                    f"match Context's project_id '{ctxt.project_id}'")
        controller = self.controllers[match["controller"]]
        method: Callable[..., Any] = getattr(controller, match["action"])
        result = method(self.request_class(req, ctxt, project_id), **kwargs)
        if not isinstance(result, Result):
            result = Result(result)
        return self.render(result, req)

    def render(self, result: Result, req: webob.Request | None = None) -> webob.Response:
        response = webob.Response(status=result.status)
        if result.body is None:
            response.content_type = None
            response.body = b""
        else:
            response.content_type = self.serializer.content_type
            response.charset = "UTF-8"
            self.serializer.set_body(response, result.body)
        for key, value in result.headers.items():
            response.headers[key] = value
        return response

