"""Reading a ``POST /v3/auth/tokens`` body and rendering a token, its catalog and projects."""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass
from typing import Any

from nova.api.identity.faults import Fault
from nova.auth import catalog
from nova.auth.tokens import TokenInfo

DOMAIN = {"id": "default", "name": "Default"}
MEMBER_ROLE = "member"


@dataclass(frozen=True)
class PasswordAuth:
    user: str
    password: str
    project: str


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Fault(400, f"Expecting an object at {where}.")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise Fault(400, f"Expecting a non-empty string at {where}.")
    return value


def _check_domain(entity: dict[str, Any], where: str) -> None:
    """Only the domain ``Default`` exists: another one names nothing the caller may use."""
    if "domain" not in entity:
        return
    domain = _object(entity["domain"], f"{where}.domain")
    if "id" in domain and _string(domain["id"], f"{where}.domain.id") != DOMAIN["id"]:
        raise Fault(401, "Unknown domain.")
    if "name" in domain and _string(domain["name"], f"{where}.domain.name").lower() != DOMAIN["name"].lower():
        raise Fault(401, "Unknown domain.")


def _id_or_name(entity: dict[str, Any], where: str) -> str:
    """nova's ids are the names: either names the user or project."""
    for key in ("id", "name"):
        if key in entity:
            return _string(entity[key], f"{where}.{key}")
    raise Fault(400, f"Expecting {where}.id or {where}.name.")


def parse_password_auth(body: Any) -> PasswordAuth:
    """The user, password and project of a password authentication scoped to a project.

    A malformed body is 400; an unsupported method or scope (unscoped,
    domain or system scope) is 401, as it proves nothing.
    """
    auth = _object(_object(body, "the top level").get("auth"), "auth")
    identity = _object(auth.get("identity"), "auth.identity")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise Fault(400, "Expecting a list of method names at auth.identity.methods.")
    if methods != ["password"]:
        raise Fault(401, "Only the password authentication method is supported.")
    user = _object(_object(identity.get("password"), "auth.identity.password").get("user"),
                   "auth.identity.password.user")
    user_name = _id_or_name(user, "auth.identity.password.user")
    password = user.get("password")
    if not isinstance(password, str):
        raise Fault(400, "Expecting a string at auth.identity.password.user.password.")
    _check_domain(user, "auth.identity.password.user")
    scope = auth.get("scope")
    if scope is None or scope == "unscoped":
        raise Fault(401, "A token must be scoped to a project: name one in auth.scope.project.")
    scope = _object(scope, "auth.scope")
    if "project" not in scope:
        raise Fault(401, "Only project-scoped tokens are supported: name a project in auth.scope.project.")
    project = _object(scope["project"], "auth.scope.project")
    project_name = _id_or_name(project, "auth.scope.project")
    _check_domain(project, "auth.scope.project")
    return PasswordAuth(user_name, password, project_name)


def isotime(at: datetime.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def audit_id(token: str) -> str:
    digest = hashlib.sha256(b"audit:" + token.encode("utf-8")).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def render_catalog() -> list[dict[str, Any]]:
    return [{"id": service["id"], "type": service["type"], "name": service["name"],
             "endpoints": [{"id": e["id"], "interface": e["interface"], "region": e["region"],
                            "region_id": e["region"], "url": e["url"]} for e in service["endpoints"]]}
            for service in catalog.services()]


def render_token(token: str, info: TokenInfo, with_catalog: bool = True) -> dict[str, Any]:
    """The ``token`` body: every project member holds ``member``, plus nova's roles in that project."""
    creds = info.credentials
    roles = [MEMBER_ROLE] + [r for r in creds.roles if r != MEMBER_ROLE]
    body: dict[str, Any] = {
        "methods": ["password"],
        "user": {"id": creds.user_id, "name": creds.user_id, "domain": dict(DOMAIN), "password_expires_at": None},
        "project": {"id": creds.project_id, "name": creds.project_id, "domain": dict(DOMAIN)},
        "roles": [{"id": role, "name": role} for role in roles],
        "is_domain": False,
        "audit_ids": [audit_id(token)],
        "issued_at": isotime(info.issued_at),
        "expires_at": isotime(info.expires_at),
    }
    if with_catalog:
        body["catalog"] = render_catalog()
    return {"token": body}


def render_project(project: Any, base_url: str) -> dict[str, Any]:
    return {"id": project["id"], "name": project["name"], "description": project["description"] or "",
            "domain_id": DOMAIN["id"], "parent_id": DOMAIN["id"], "enabled": True, "is_domain": False,
            "tags": [], "options": {}, "links": {"self": f"{base_url}/v3/projects/{project['id']}"}}
