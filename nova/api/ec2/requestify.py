"""From parameters to an action call and back: Requestify, Authorizer, Executor.

``Requestify`` names the action and types its arguments; ``Authorizer``
checks the caller's roles against the action's; ``Executor`` calls it and
renders the XML.  Each turns its failures into EC2 errors (``faults``).
"""

from __future__ import annotations

import datetime
import itertools
import logging
import re
from dataclasses import dataclass
from typing import Any

import webob
import webob.dec

from nova import wsgi
from nova.api.ec2 import faults, params, xmlutil
from nova.api.ec2.actions import Action
from nova.api.ec2.authenticate import CONTEXT_KEY, PARAMS_KEY
from nova.api.ec2.cloud import CloudController
from nova.api.ec2.faults import EC2APIError

LOG = logging.getLogger(__name__)

REQUEST_KEY = "ec2.request"
_VERSION_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
FIRST_VERSION = "2006-06-26"  # the first EC2 API; xmlutil.DEFAULT_VERSION is the newest this API speaks


def check_version(version: str) -> None:
    """Refuse a ``Version`` that is not a date between the first EC2 API and the newest this one speaks."""
    try:
        valid = bool(_VERSION_RE.match(version)) and datetime.date.fromisoformat(version) is not None
    except ValueError:
        valid = False
    if not valid or not FIRST_VERSION <= version <= xmlutil.DEFAULT_VERSION:
        raise EC2APIError("NoSuchVersion", f"The requested version ({version[:40]}) of service AmazonEC2 does not "
                          f"exist; versions {FIRST_VERSION} to {xmlutil.DEFAULT_VERSION} are served")


@dataclass
class APIRequest:
    action: Action
    version: str
    kwargs: dict[str, Any]
    dry_run: bool = False


def build_request(controller: CloudController, raw: dict[str, str]) -> APIRequest:
    raw = dict(raw)
    name = raw.pop("Action", None)
    version = raw.pop("Version", None) or xmlutil.DEFAULT_VERSION
    check_version(version)
    if not name:
        raise EC2APIError("MissingAction", "The request must contain the parameter Action")
    action = controller.get(name)
    if action is None:
        raise EC2APIError("InvalidAction", f"The action {name[:100]} is not valid for this web service.")
    kwargs = params.parse(raw, action.params)
    dry_run = bool(kwargs.pop("dry_run", False))
    return APIRequest(action, version, kwargs, dry_run)


class Requestify(wsgi.Middleware):
    def __init__(self, application: Any, controller: str = "nova.api.ec2.cloud.CloudController",
                 **local_config: str) -> None:
        super().__init__(application, **local_config)
        from nova import utils

        self.controller = utils.import_class(controller)()

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> Any:
        request_id = wsgi.request_id_of(req.environ)
        try:
            req.environ[REQUEST_KEY] = build_request(self.controller, req.environ.get(PARAMS_KEY, {}))
        except Exception as exc:  # noqa: BLE001 - every failure becomes an EC2 error
            return faults.response_for(exc, request_id)
        return self.application


class Authorizer(wsgi.Middleware):
    """Roles per action, as the first Nova: superusers may do everything."""

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> Any:
        ctxt = req.environ[CONTEXT_KEY]
        api_request: APIRequest = req.environ[REQUEST_KEY]
        if not api_request.action.allows(ctxt.roles, ctxt.is_admin):
            LOG.info("User %s (roles %s) may not call %s", ctxt.user_id, ",".join(ctxt.roles) or "none",
                     api_request.action.name)
            return faults.error_response(
                ctxt.request_id, 403, "UnauthorizedOperation",
                f"You are not authorized to perform {api_request.action.name} "
                f"(it needs one of the roles: {', '.join(api_request.action.roles) or 'cloudadmin'}).")
        return self.application


class Executor:
    """The last step: call the action, render XML or an EC2 error."""

    @classmethod
    def factory(cls, global_config: dict[str, str], **local_config: str) -> "Executor":
        return cls()

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        ctxt = req.environ[CONTEXT_KEY]
        api_request: APIRequest = req.environ[REQUEST_KEY]
        if api_request.dry_run:
            return faults.error_response(ctxt.request_id, 412, "DryRunOperation",
                                         "Request would have succeeded, but DryRun flag is set.")
        try:
            result = api_request.action.func(ctxt, **api_request.kwargs)
            chunks = xmlutil.render_chunks(api_request.action.name, api_request.version, ctxt.request_id, result)
            first = next(chunks)
            second = next(chunks, None)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an EC2 error
            return faults.response_for(exc, ctxt.request_id)
        response = webob.Response(status=200, content_type="text/xml", charset="UTF-8")
        if second is None:
            response.body = first
        else:  # a listing's rows (xmlutil.Fragments): streamed, the rest written as it is sent
            response.app_iter = itertools.chain((first, second), chunks)
        return response


METADATA_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
                     "2008-02-01", "2008-09-01", "2009-04-04", "latest")


class Versions(wsgi.Middleware):
    """``GET /`` with no parameters lists the metadata versions; anything else goes on to the EC2 API."""

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> Any:
        if req.method == "GET" and not req.environ.get("QUERY_STRING") and req.path_info in ("", "/") \
                and "Authorization" not in req.headers:
            return webob.Response(text="\n".join(METADATA_VERSIONS), content_type="text/plain", charset="UTF-8")
        return self.application
