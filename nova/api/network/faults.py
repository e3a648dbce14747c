"""The network API's errors: ``{"NeutronError": {"type", "message", "detail"}}`` with the matching status.

``FAULTS`` is the one table from nova exceptions to a status and Neutron's
error type (first match wins); a nova exception it does not name keeps its
own client-error code, anything else is a 500 naming the request id.
"""

from __future__ import annotations

import json
import logging

import webob

from nova import exception
from nova.api.jsonapp import Fault  # noqa: F401 - the handlers' Fault

LOG = logging.getLogger(__name__)

FAULTS: tuple[tuple[type[Exception], int, str], ...] = (
    (exception.TokenNotFound, 401, "Unauthorized"),
    (exception.AuthenticationFailed, 401, "Unauthorized"),
    (exception.SecurityGroupRuleNotFound, 404, "SecurityGroupRuleNotFound"),
    (exception.SecurityGroupNotFound, 404, "SecurityGroupNotFound"),
    (exception.FloatingIpNotFound, 404, "FloatingIPNotFound"),
    (exception.InstanceNotFound, 404, "PortNotFound"),
    (exception.FixedIpNotFoundForInstance, 404, "PortNotFound"),
    (exception.SecurityGroupRuleExists, 409, "SecurityGroupRuleExists"),
    (exception.SecurityGroupExists, 409, "SecurityGroupExists"),
    (exception.SecurityGroupCannotDelete, 409, "SecurityGroupCannotRemoveDefault"),
    (exception.SecurityGroupInUse, 409, "SecurityGroupInUse"),
    (exception.NoMoreFloatingIps, 409, "ExternalIpAddressExhausted"),
    (exception.QuotaError, 409, "OverQuota"),
    (exception.InvalidSecurityGroupRule, 400, "InvalidInput"),
    (exception.NotAuthorized, 403, "PolicyNotAuthorized"),
    (exception.NotFound, 404, "HTTPNotFound"),
    (exception.Duplicate, 409, "Conflict"),
    (exception.Invalid, 400, "HTTPBadRequest"),
)

TYPES = {400: "HTTPBadRequest", 401: "Unauthorized", 403: "HTTPForbidden", 404: "HTTPNotFound",
         405: "HTTPMethodNotAllowed", 409: "HTTPConflict", 413: "HTTPRequestEntityTooLarge",
         500: "HTTPInternalServerError", 503: "HTTPServiceUnavailable"}


def error_response(status: int, kind: str, message: str) -> webob.Response:
    response = webob.Response(status=status, content_type="application/json", charset="UTF-8")
    response.text = json.dumps({"NeutronError": {"type": kind, "message": message, "detail": ""}})
    return response


def render(exc: BaseException, request_id: str) -> webob.Response:
    if isinstance(exc, Fault):
        return error_response(exc.status, exc.kind or TYPES.get(exc.status, "HTTPError"), exc.message)
    if isinstance(exc, exception.NovaException):
        for cls, status, kind in FAULTS:
            if isinstance(exc, cls):
                return error_response(status, kind, str(exc))
        if 400 <= exc.code < 500 or exc.code == 503:
            return error_response(exc.code, TYPES.get(exc.code, "HTTPError"), str(exc))
    LOG.exception("Unexpected error in the network API (request %s)", request_id)
    return error_response(500, TYPES[500],
                          f"An unexpected error prevented the server from answering (request {request_id}).")
