"""The identity API v3 application: routes, handlers and the version documents."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import webob
import webob.dec

from nova import exception
from nova.api import jsonapp
from nova.api.identity import faults, tokens
from nova.api.identity.faults import Fault
from nova.api.jsonapp import json_response
from nova.auth.credentials import Credentials

LOG = logging.getLogger(__name__)

VERSION_ID = "v3.14"
VERSION_UPDATED = "2020-04-07T00:00:00Z"
MEDIA_TYPES = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
MAX_BODY = 64 * 1024

def _version(base_url: str) -> dict[str, Any]:
    return {"id": VERSION_ID, "status": "stable", "updated": VERSION_UPDATED, "media-types": MEDIA_TYPES,
            "links": [{"rel": "self", "href": f"{base_url}/v3/"}]}


class IdentityApp(jsonapp.JsonApp):
    """``GET /``, ``GET /v3``, ``/v3/auth/tokens``, ``/v3/auth/catalog``, the caller's projects."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: list[jsonapp.Route] = [
            (re.compile(r"^/?$"), {"GET": self.versions}),
            (re.compile(r"^/v3/?$"), {"GET": self.version}),
            (re.compile(r"^/v3/auth/tokens/?$"), {"POST": self.issue_token, "GET": self.validate_token,
                                                  "HEAD": self.check_token, "DELETE": self.revoke_token}),
            (re.compile(r"^/v3/auth/catalog/?$"), {"GET": self.get_catalog}),
            (re.compile(r"^/v3/auth/projects/?$"), {"GET": self.auth_projects}),
            (re.compile(r"^/v3/users/(?P<user_id>[^/]+)/projects/?$"), {"GET": self.user_projects}),
        ]

    def render_fault(self, exc: BaseException, request_id: str) -> webob.Response:
        return faults.render(exc, request_id)

    def dispatch(self, req: webob.Request, request_id: str) -> webob.Response:
        """Identity handlers authenticate by themselves (a password, or the subject token)."""
        handler, params = self.route(req)
        return handler(req, params)

    def versions(self, req: webob.Request, params: dict[str, str]) -> webob.Response:
        return json_response({"versions": {"values": [_version(req.host_url)]}}, status=300)

    def version(self, req: webob.Request, params: dict[str, str]) -> webob.Response:
        return json_response({"version": _version(req.host_url)})

    # -- tokens ----------------------------------------------------------------
    def issue_token(self, req: webob.Request, params: dict[str, str]) -> webob.Response:
        wanted = tokens.parse_password_auth(_json_body(req))
        creds = self.auth.credentials_for_password(wanted.user, wanted.password, wanted.project)
        token = self.auth.create_token(creds.user_id, creds.project_id)
        info = self.auth.describe_token(token)
        LOG.info("Issued a token to %s in project %s", creds.user_id, creds.project_id)
        body = tokens.render_token(token, info, with_catalog="nocatalog" not in req.GET)
        return json_response(body, status=201, headers={"X-Subject-Token": token})

    def _subject(self, req: webob.Request) -> tuple[str, Any]:
        """The token named by X-Subject-Token, which the caller (X-Auth-Token) may look at.

        A caller sees its own user's tokens, an admin anyone's; any other token
        is not found.
        """
        caller = self._caller(req)
        subject = req.headers.get("X-Subject-Token", "")
        if not subject:
            raise Fault(400, "Missing the X-Subject-Token header.")
        try:
            info = self.auth.describe_token(subject)
        except exception.TokenNotFound:
            raise Fault(404, "The token in X-Subject-Token is unknown or has expired.") from None
        if info.credentials.user_id != caller.user_id and not caller.is_admin:
            raise Fault(404, "The token in X-Subject-Token is unknown or has expired.")
        return subject, info

    def validate_token(self, req: webob.Request, params: dict[str, str]) -> webob.Response:
        subject, info = self._subject(req)
        body = tokens.render_token(subject, info, with_catalog="nocatalog" not in req.GET)
        return json_response(body, headers={"X-Subject-Token": subject})

    def check_token(self, req: webob.Request, params: dict[str, str]) -> webob.Response:
        subject, _ = self._subject(req)
        return webob.Response(status=200, headers={"X-Subject-Token": subject})

    def revoke_token(self, req: webob.Request, params: dict[str, str]) -> webob.Response:
        subject, info = self._subject(req)
        try:
            self.auth.delete_token(subject)
        except exception.TokenNotFound:
            raise Fault(404, "The token in X-Subject-Token is unknown or has expired.") from None
        LOG.info("Revoked a token of %s", info.credentials.user_id)
        return webob.Response(status=204)

    # -- catalog and projects ----------------------------------------------------
    def _caller(self, req: webob.Request) -> Credentials:
        token = req.headers.get("X-Auth-Token", "")
        if not token:
            raise exception.AuthenticationFailed()
        return self.auth.authenticate_token(token)

    def get_catalog(self, req: webob.Request, params: dict[str, str]) -> webob.Response:
        self._caller(req)
        return json_response({"catalog": tokens.render_catalog(), "links": self._links(req)})

    def auth_projects(self, req: webob.Request, params: dict[str, str]) -> webob.Response:
        return self._projects_of(req, self._caller(req).user_id)

    def user_projects(self, req: webob.Request, params: dict[str, str]) -> webob.Response:
        caller = self._caller(req)
        if params["user_id"] != caller.user_id and not caller.is_admin:
            raise Fault(403, "You may list only your own projects.")
        try:
            self.auth.get_user(params["user_id"])
        except exception.UserNotFound:
            raise Fault(404, f"Could not find user {params['user_id']}.") from None
        return self._projects_of(req, params["user_id"])

    def _projects_of(self, req: webob.Request, user_id: str) -> webob.Response:
        projects = [tokens.render_project(p, req.host_url) for p in self.auth.get_projects(user_id)]
        return json_response({"projects": projects, "links": self._links(req)})

    @staticmethod
    def _links(req: webob.Request) -> dict[str, Any]:
        return {"self": req.path_url, "previous": None, "next": None}


def _json_body(req: webob.Request) -> Any:
    if req.content_length is not None and req.content_length > MAX_BODY:
        raise Fault(413, "The request body is too large.")
    try:
        return json.loads(req.body_file.read(MAX_BODY + 1) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Fault(400, "The request body is not valid JSON.") from None
