"""The image API's errors: ``{"error": {"code", "title", "message"}}`` with the matching status.

``FAULTS`` is the one table from nova exceptions to statuses (first match
wins); a nova exception it does not name keeps its own client-error code,
anything else is a 500 naming the request id.
"""

from __future__ import annotations

import logging

import webob

from nova import exception
from nova.api.identity.faults import error_response
from nova.api.jsonapp import Fault  # noqa: F401 - the handlers' Fault

LOG = logging.getLogger(__name__)

FAULTS: tuple[tuple[type[Exception], int], ...] = (
    (exception.TokenNotFound, 401),
    (exception.AuthenticationFailed, 401),
    (exception.ImageNotFound, 404),
    (exception.ImageDataExists, 409),
    (exception.ImageNotActive, 409),
    (exception.ImageProtected, 403),
    (exception.NotAuthorized, 403),
    (exception.NotFound, 404),
    (exception.Duplicate, 409),
    (exception.QuotaError, 413),
    (exception.Invalid, 400),
)


def render(exc: BaseException, request_id: str) -> webob.Response:
    if isinstance(exc, Fault):
        return error_response(exc.status, exc.message)
    if isinstance(exc, exception.NovaException):
        for cls, status in FAULTS:
            if isinstance(exc, cls):
                return error_response(status, str(exc))
        if 400 <= exc.code < 500 or exc.code == 503:
            return error_response(exc.code, str(exc))
    LOG.exception("Unexpected error in the image API")
    return error_response(500, f"An unexpected error prevented the server from answering (request {request_id}).")
