"""What the network API's resource modules share: JSON answers, request bodies, ids and filters."""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable

import webob

from nova import context as nova_context
from nova import utils
from nova.api.jsonapp import json_response  # noqa: F401  (the resource modules answer with it)
from nova.api.network.faults import Fault

MAX_BODY = 64 * 1024
EPOCH = "1970-01-01T00:00:00Z"
Handler = Callable[[webob.Request, nova_context.RequestContext, dict[str, str]], webob.Response]
_NAMESPACE = uuid.UUID("6f1c6a5e-2b0d-4c1e-9a43-3b7f2d1c0a91")


def body_of(req: webob.Request, key: str) -> dict[str, Any]:
    """The object under ``key`` of a JSON body (400 when the body is not one)."""
    if req.content_length is not None and req.content_length > MAX_BODY:
        raise Fault(413, "The request body is too large.")
    try:
        body = json.loads(req.body_file.read(MAX_BODY + 1) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Fault(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise Fault(400, f"The request body must be a JSON object with a '{key}' object.")
    return body[key]


def number(value: str, kind: str, what: str) -> int:
    """An integer id from a URL; anything else names nothing (404 with Neutron's type ``kind``)."""
    number = utils.decimal(value, 9)
    if not number:
        raise Fault(404, f"{what} {value[:40]} could not be found.", kind)
    return number


def derived_id(kind: str, name: str) -> str:
    """A uuid that stays the same for the same thing across restarts and daemons."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


def string(values: dict[str, Any], key: str, default: str = "", limit: int = 255) -> str:
    value = values.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str) or len(value) > limit:
        raise Fault(400, f"Invalid input for {key}: it must be a string of at most {limit} characters.",
                    "HTTPBadRequest")
    return value


def matches(item: dict[str, Any], query: webob.multidict.MultiDict, keys: tuple[str, ...]) -> bool:
    """Neutron's list filters: ``key=value`` (repeated keys: any of them) on the item's fields."""
    for key in keys:
        wanted = query.getall(key)
        if wanted and str(item.get(key)) not in wanted and not (item.get(key) is None and "" in wanted):
            return False
    return True


def project_fields(ctxt: nova_context.RequestContext, project_id: str | None) -> dict[str, Any]:
    project = project_id or ctxt.project_id
    return {"project_id": project, "tenant_id": project, "created_at": EPOCH, "updated_at": EPOCH,
            "revision_number": 0, "tags": []}
