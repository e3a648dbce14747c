"""OpenStack faults: the one table from nova exceptions to fault names and statuses.

A fault body is ``{"itemNotFound": {"code": 404, "message": "..."}}``.  An
unexpected failure is a ``computeFault`` 500 naming the request id, with the
traceback in the log only.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Iterable

import webob
import webob.dec

from nova import exception, wsgi
from nova.rpc import common as rpc_common

LOG = logging.getLogger(__name__)

# status -> fault name, as the compute API reference names them.
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "notAcceptable",
    409: "conflict",
    413: "overLimit",
    415: "badMediaType",
    500: "computeFault",
    501: "notImplemented",
    503: "serviceUnavailable",
}

# nova exception class -> status where the exception's own ``code`` is not the
# OpenStack answer (most classes carry the right one: 400, 403, 404, 409, 503).
# Checked in order, so subclasses come before their bases.
EXCEPTION_STATUS: list[tuple[type[Exception], int]] = [
    (exception.TokenNotFound, 401),
    (exception.InstanceInvalidState, 409),
    (exception.Duplicate, 409),
    # The v2.1 reference answers an exceeded quota with 403 (413 is for rate limits).
    (exception.QuotaError, 403),
    (exception.NoValidHost, 503),
    # A daemon that does not answer or cannot be reached; a RemoteError stays a 500.
    (rpc_common.Timeout, 503),
    (rpc_common.BrokerUnavailable, 503),
    (rpc_common.PublishError, 503),
    (exception.ImageNotActive, 400),
]


# Seconds a client should wait before retrying a 503 (an outage of the database, broker or a daemon).
RETRY_AFTER = "1"


class Fault(Exception):
    """An OpenStack fault raised by the front end itself (bad body, wrong project...)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def status_of(exc: Exception) -> int:
    for cls, status in EXCEPTION_STATUS:
        if isinstance(exc, cls):
            return status
    code = getattr(exc, "code", 500)
    return code if code in FAULT_NAMES and code != 500 else 500


def fault_response(status: int, message: str, headers: dict[str, str] | None = None) -> webob.Response:
    name = FAULT_NAMES.get(status, "computeFault")
    body = {name: {"code": status, "message": message}}
    response = webob.Response(status=status, content_type="application/json", charset="UTF-8")
    response.text = json.dumps(body)
    if status == 503:
        response.headers["Retry-After"] = RETRY_AFTER
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def from_exception(exc: Exception, request_id: str) -> webob.Response:
    """The fault a user sees for ``exc``; 500s name the request id and log the traceback."""
    if isinstance(exc, Fault):
        return fault_response(exc.status, exc.message, exc.headers)
    if isinstance(exc, exception.NovaException):
        status = status_of(exc)
        if status != 500:
            LOG.info("%s: %s", type(exc).__name__, exc, extra={"request_id": request_id})
            return fault_response(status, str(exc))
    LOG.error("Unexpected error in request %s", request_id, exc_info=(type(exc), exc, exc.__traceback__),
              extra={"request_id": request_id})
    return fault_response(500, f"Unexpected API Error. Request {request_id} failed; "
                               "the compute API log has the details.")


class FaultWrapper(wsgi.Middleware):
    """Turn anything raised below into a JSON fault."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        req = webob.Request(environ)
        try:
            response = req.get_response(self.application)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            response = from_exception(exc, wsgi.request_id_of(environ))
        return response(environ, start_response)
