"""S3 access control lists: canned ACLs, x-amz-grant-* headers, AccessControlPolicy documents.

An ACL is stored as ``{"owner": project, "grants": [{"id"|"uri": ..., "permission": ...}]}``.
Grantees are projects (canonical user id = project id) or the AllUsers,
AuthenticatedUsers and LogDelivery groups; an anonymous request is only
AllUsers.  LogDelivery (S3's server access log writer) is stored and shown
as AWS does, but nova-objectstore delivers no access logs, so it lets no
request in.  ``aws-exec-read`` gives the owner FULL_CONTROL and, on AWS,
lets EC2 read AMI bundles; here the cloud reads bundles with its own admin
credentials, so no further grant is stored.
"""

from __future__ import annotations

import re
from typing import Any

from nova import context, exception
from nova.auth import manager
from nova.objectstore.errors import S3Error, invalid_argument
from nova.objectstore.xmlutil import element, owner, parse

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY)
PERMISSIONS = ("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP")
CANNED = ("private", "public-read", "public-read-write", "authenticated-read", "bucket-owner-read",
          "bucket-owner-full-control", "aws-exec-read", "log-delivery-write")
GRANT_HEADERS = {f"x-amz-grant-{p.lower().replace('_', '-')}": p for p in PERMISSIONS}
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}type"
_GRANTEE = re.compile(r'\s*(id|uri|emailAddress)\s*=\s*"?([^",]*)"?\s*(?:,|$)', re.IGNORECASE)


def malformed_acl() -> S3Error:
    return S3Error("MalformedACLError", "The XML you provided was not well-formed or did not validate against "
                   "our published schema.", 400)


def default(project_id: str) -> dict[str, Any]:
    return {"owner": project_id, "grants": [{"id": project_id, "permission": "FULL_CONTROL"}]}


def canned(name: str, owner_id: str, bucket_owner: str | None = None) -> dict[str, Any]:
    """The ACL a canned name (x-amz-acl) stands for."""
    acl = default(owner_id)
    extra = {"public-read": [(ALL_USERS, "READ")], "public-read-write": [(ALL_USERS, "READ"), (ALL_USERS, "WRITE")],
             "authenticated-read": [(AUTHENTICATED_USERS, "READ")],
             "log-delivery-write": [(LOG_DELIVERY, "WRITE"), (LOG_DELIVERY, "READ_ACP")]}
    if name not in CANNED:
        raise invalid_argument("Invalid canned ACL", "x-amz-acl", name[:100])
    acl["grants"] += [{"uri": uri, "permission": perm} for uri, perm in extra.get(name, [])]
    if name.startswith("bucket-owner-") and bucket_owner and bucket_owner != owner_id:
        permission = "READ" if name == "bucket-owner-read" else "FULL_CONTROL"
        acl["grants"].append({"id": bucket_owner, "permission": permission})
    return acl


def _check_project(project_id: str) -> None:
    try:
        manager.AuthManager().get_project(project_id)
    except exception.NotFound:
        raise invalid_argument("Invalid id", "CanonicalUser/ID", project_id[:100]) from None


def _grantee(kind: str, value: str) -> dict[str, str]:
    kind = kind.lower()
    if kind == "emailaddress":
        raise S3Error("UnresolvableGrantByEmailAddress", "The email address you provided does not match any "
                      "account on record.", 400, EmailAddress=value[:100])
    if kind == "uri":
        if value not in GROUPS:
            raise invalid_argument("Invalid group uri", "uri", value[:200])
        return {"uri": value}
    _check_project(value)
    return {"id": value}


def from_headers(headers: Any, owner_id: str, bucket_owner: str | None = None) -> dict[str, Any] | None:
    """The ACL that x-amz-acl or x-amz-grant-* ask for, None if neither is present."""
    name = headers.get("x-amz-acl")
    grant_values = {h: headers[h] for h in GRANT_HEADERS if headers.get(h) is not None}
    if name is not None and grant_values:
        raise S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed", 400)
    if name is not None:
        return canned(name.strip(), owner_id, bucket_owner)
    if not grant_values:
        return None
    grants = []
    for header, value in grant_values.items():
        pos, value = 0, value.strip()
        while pos < len(value):
            match = _GRANTEE.match(value, pos)
            if not match or match.end() == pos:
                raise invalid_argument("Invalid grant header value", header, value[:200])
            grants.append({**_grantee(match.group(1), match.group(2)), "permission": GRANT_HEADERS[header]})
            pos = match.end()
    return {"owner": owner_id, "grants": grants}


def from_xml(body: bytes, owner_id: str) -> dict[str, Any]:
    """An AccessControlPolicy document as an ACL; MalformedACLError when it is not one."""
    tree = parse(body, "AccessControlPolicy", malformed_acl)
    grants = []
    for node in tree.iter("Grant"):
        grantee, permission = node.find("Grantee"), node.findtext("Permission")
        if grantee is None or (permission or "").strip() not in PERMISSIONS:
            raise malformed_acl()
        fields = {c.tag: (c.text or "").strip() for c in grantee}
        kind = grantee.get(_XSI, "")
        if kind == "CanonicalUser" and fields.get("ID"):
            who = _grantee("id", fields["ID"])
        elif kind == "Group" and fields.get("URI"):
            who = _grantee("uri", fields["URI"])
        elif kind == "AmazonCustomerByEmail" and fields.get("EmailAddress"):
            who = _grantee("emailAddress", fields["EmailAddress"])
        else:
            raise malformed_acl()
        grants.append({**who, "permission": permission.strip()})
    return {"owner": owner_id, "grants": grants}


def to_xml(acl: dict[str, Any]) -> list[str]:
    """The children of an AccessControlPolicy document."""
    xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    grants = []
    for grant in acl["grants"]:
        if "uri" in grant:
            who = f'<Grantee {xsi} xsi:type="Group">{element("URI", grant["uri"])}</Grantee>'
        else:
            who = (f'<Grantee {xsi} xsi:type="CanonicalUser">{element("ID", grant["id"])}'
                   f'{element("DisplayName", grant["id"])}</Grantee>')
        grants.append(f"<Grant>{who}{element('Permission', grant['permission'])}</Grant>")
    return [owner(acl["owner"]), "<AccessControlList>" + "".join(grants) + "</AccessControlList>"]


def is_public(acl: dict[str, Any] | None) -> bool:
    return bool(acl) and any(g.get("uri") in (ALL_USERS, AUTHENTICATED_USERS) for g in acl["grants"])


def allows(acl: dict[str, Any] | None, ctxt: context.RequestContext, permission: str,
           ignore_public: bool = False) -> bool:
    """Does ``acl`` give ``ctxt`` (a project, or anonymous when it has none) ``permission``?"""
    if not acl:
        return False
    for grant in acl["grants"]:
        if grant["permission"] not in (permission, "FULL_CONTROL"):
            continue
        if "id" in grant and ctxt.project_id is not None and grant["id"] == ctxt.project_id:
            return True
        if ignore_public:
            continue
        if grant.get("uri") == ALL_USERS or (grant.get("uri") == AUTHENTICATED_USERS and ctxt.project_id):
            return True
    return False
