"""The image API's errors: ``{"error": {"code", "title", "message"}}`` with the matching status.

``FAULTS`` is the one table from nova exceptions to statuses (first match
wins); a nova exception it does not name keeps its own client-error code,
anything else is a 500 naming the request id.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

import webob

from nova import exception

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


class Fault(Exception):
    """An error answer the handlers raise directly."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> webob.Response:
    body = {"error": {"code": status, "title": HTTPStatus(status).phrase, "message": message}}
    response = webob.Response(status=status, content_type="application/json", charset="UTF-8")
    response.text = json.dumps(body)
    return response


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
