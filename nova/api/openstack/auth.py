"""``X-Auth-Token`` to a RequestContext, and the microversion headers of v2.1."""

from __future__ import annotations

import logging
import re

import webob
import webob.dec

from nova import exception, wsgi
from nova.api.openstack import faults
from nova.api.openstack.wsgi import CONTEXT_KEY
from nova.auth import manager

LOG = logging.getLogger(__name__)

MIN_VERSION = MAX_VERSION = "2.1"
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)\s*$")


class TokenAuth(wsgi.Middleware):
    """Look the token up through AuthManager; 401 without one or with an unknown or expired one."""

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        token = req.headers.get("X-Auth-Token", "").strip()
        if not token:
            raise faults.Fault(401, "Authentication required: send a token in X-Auth-Token.")
        try:
            credentials = manager.AuthManager().authenticate_token(token)
        except (exception.TokenNotFound, exception.NotFound):
            raise faults.Fault(401, "The token is unknown or has expired.") from None
        ctxt = credentials.to_context(request_id=wsgi.request_id_of(req.environ), remote_address=req.remote_addr)
        req.environ[CONTEXT_KEY] = ctxt
        return req.get_response(self.application)


def requested_version(req: webob.Request) -> str:
    """The microversion asked for (2.1 when none; 'latest' is the newest)."""
    value = None
    header = req.headers.get("OpenStack-API-Version")
    if header:
        for part in header.split(","):
            service, _, version = part.strip().partition(" ")
            if service.lower() == "compute":
                value = version.strip()
    if value is None:
        value = req.headers.get("X-OpenStack-Nova-API-Version")
    if not value:
        return MIN_VERSION
    if value.strip().lower() == "latest":
        return MAX_VERSION
    match = _VERSION.match(value)
    if not match:
        raise faults.Fault(400, f"API version string {value[:32]!r} is not in the format MAJOR.MINOR.")
    if (int(match.group(1)), int(match.group(2))) != (2, 1):
        raise faults.Fault(406, f"Version {value.strip()} is not supported by the API. "
                                f"Minimum is {MIN_VERSION} and maximum is {MAX_VERSION}.")
    return MIN_VERSION


def add_version_headers(response: webob.Response, version: str = MAX_VERSION) -> None:
    response.headers["OpenStack-API-Version"] = f"compute {version}"
    response.headers["X-OpenStack-Nova-API-Version"] = version
    response.headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"


class Microversion(wsgi.Middleware):
    """Check the requested microversion and echo the one served (also on faults)."""

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        try:
            version = requested_version(req)
        except faults.Fault as fault:
            response = faults.fault_response(fault.status, fault.message)
        else:
            try:
                response = req.get_response(self.application)
            except Exception as exc:  # noqa: BLE001 - rendered with the headers below
                response = faults.from_exception(exc, wsgi.request_id_of(req.environ))
            add_version_headers(response, version)
            return response
        add_version_headers(response)
        return response
