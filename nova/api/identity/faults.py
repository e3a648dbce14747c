"""The identity API's errors: ``{"error": {"code", "title", "message"}}`` with the matching status.

``FAULTS`` is the one table from nova exceptions to statuses: who is not
proven is 401, whatever the reason, so a stranger cannot tell an unknown user
from a wrong password or a project from a project it is not in.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

import webob

from nova import exception
from nova.api.jsonapp import Fault  # noqa: F401 - the handlers' Fault

LOG = logging.getLogger(__name__)

# First match wins: subclasses before their bases.
FAULTS: tuple[tuple[type[Exception], int], ...] = (
    (exception.AuthenticationFailed, 401),
    (exception.UserNotFound, 401),
    (exception.ProjectNotFound, 401),
    (exception.ProjectMembershipNotFound, 401),
    (exception.UserHasNoProject, 401),
    (exception.TokenNotFound, 401),
    (exception.NotAuthorized, 403),
    (exception.NotFound, 404),
    (exception.Invalid, 400),
)

UNAUTHORIZED_MESSAGE = "The request you have made requires authentication."


def error_response(status: int, message: str) -> webob.Response:
    """Keystone's error body, which the image API answers with too."""
    body = {"error": {"code": status, "title": HTTPStatus(status).phrase, "message": message}}
    response = webob.Response(status=status, content_type="application/json", charset="UTF-8")
    response.text = json.dumps(body)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Keystone uri=\"/v3\""
    return response


def status_of(exc: exception.NovaException) -> int:
    for cls, status in FAULTS:
        if isinstance(exc, cls):
            return status
    return 500


def render(exc: BaseException, request_id: str) -> webob.Response:
    """The error answer for ``exc``; an unexpected one is a 500 naming the request id."""
    if isinstance(exc, Fault):
        return error_response(exc.status, exc.message)
    if isinstance(exc, exception.NovaException):
        status = status_of(exc)
        if status == 401:
            LOG.info("Authentication refused: %s", exc)
            return error_response(401, UNAUTHORIZED_MESSAGE)
        if status != 500:
            return error_response(status, str(exc))
    LOG.exception("Unexpected error in the identity API")
    return error_response(500, f"An unexpected error prevented the server from answering (request {request_id}).")
