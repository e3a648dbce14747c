"""Who sent an S3 request: SigV4 (header or presigned) and SigV2 (header or query).

Credentials are the EC2 keys: a project's pair (``nova-manage credentials
create``), or the user's own ``ACCESS[:PROJECT]`` (a bare ``ACCESS`` acts
for the user's first project).  Only a presigned SigV4 URL signs the access
key; elsewhere (an Authorization header, SigV2) the user's own key is refused
unless it can mean one project only, so a request's project cannot be edited
after signing.  ``AuthManager`` looks the key up (with its cache) and
applies the one clock-skew rule (``--auth_max_clock_skew``); this module
maps their errors to S3's.  The result is a ``RequestContext`` and a ``Payload``
describing how the body must be checked.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import time
import urllib.parse

import webob

from nova import context, exception, flags
from nova.auth import manager, signer
from nova.auth.credentials import Credentials
from nova.objectstore.body import Payload
from nova.objectstore.errors import S3Error, access_denied

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

_STREAMING_SIGNED = (signer.STREAMING_PAYLOAD, signer.STREAMING_PAYLOAD + "-TRAILER")
_STREAMING_UNSIGNED = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def signature_mismatch() -> S3Error:
    return S3Error("SignatureDoesNotMatch", "The request signature we calculated does not match the "
                   "signature you provided. Check your key and signing method.", 403)


def lookup(access_key: str) -> Credentials:
    """The user and project an access key stands for, as S3 errors (``AuthManager`` caches it)."""
    try:
        return manager.AuthManager().credentials_for_access_key(access_key)
    except exception.AccessKeyNotFound:
        raise S3Error("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our "
                      "records.", 403, AWSAccessKeyId=access_key[:128]) from None
    except exception.ProjectNotFound as exc:
        raise access_denied(f"Project {exc.kwargs['project_id']} does not exist") from None
    except exception.ProjectMembershipNotFound as exc:
        raise access_denied(f"User is not a member of project {exc.kwargs['project_id']}") from None
    except exception.UserHasNoProject:
        raise access_denied("User belongs to no project") from None


def _require_key_names_project(access_key: str, creds: Credentials) -> None:
    """Once the signature is good: refuse the user's own key where the signature does not cover it."""
    try:
        manager.AuthManager.require_key_names_project(access_key, creds)
    except exception.UnsignedProjectKey as exc:
        raise access_denied(str(exc)) from None


def _check_skew(when: datetime.datetime, presigned: bool = False) -> None:
    try:
        manager.AuthManager.check_clock_skew(when, future_only=presigned)
    except exception.RequestTimeSkewed:
        if presigned:
            raise S3Error("RequestTimeTooSkewed", "The request's X-Amz-Date is in the future.", 403) from None
        raise S3Error("RequestTimeTooSkewed", "The difference between the request time and the current "
                      "time is too large.", 403) from None


def raw_headers(req: webob.Request) -> list[tuple[str, str]]:
    """The headers exactly as sent (the WSGI environ invents a Content-Type when there is none)."""
    raw = req.environ.get("headers_raw")
    if raw is not None:
        return [(name, value) for name, value in raw]
    return list(req.headers.items())


def _query(req: webob.Request) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(req.environ.get("QUERY_STRING", ""), keep_blank_values=True))


def authenticate(req: webob.Request, raw_path: str, v2_resource: str) -> tuple[context.RequestContext, Payload]:
    """Check the request's signature; raise S3Error unless it is good."""
    query = _query(req)
    authorization = req.headers.get("Authorization")
    payload = Payload(req.headers)
    try:
        parsed = signer.parse_sigv4(authorization, query, req.headers.get("X-Amz-Date"))
    except signer.SignatureError as exc:
        raise _sigv4_error(exc) from None
    if parsed is not None:
        creds = _sigv4(req, parsed, raw_path, payload)
    elif authorization and authorization.startswith("AWS "):
        creds = _sigv2_header(req, authorization[4:], v2_resource)
    elif "AWSAccessKeyId" in query and "Signature" in query:
        creds = _sigv2_query(req, query, v2_resource)
    elif authorization:
        raise S3Error("InvalidArgument", "Unsupported Authorization Type", 400,
                      ArgumentName="Authorization", ArgumentValue=authorization.split(" ")[0][:64])
    else:
        raise access_denied("Anonymous access is not allowed")
    ctxt = creds.to_context(remote_address=req.remote_addr)
    return ctxt, payload


def _sigv4_error(exc: signer.SignatureError) -> S3Error:
    """S3's answer to a malformed SigV4 request: as AWS, by where the mistake is."""
    if exc.code == "AuthorizationQueryParametersError":
        return S3Error(exc.code, str(exc), 400)
    if exc.code == "MissingAuthenticationToken" or exc.field == "X-Amz-Date":
        return access_denied("AWS authentication requires a valid Date or x-amz-date header")
    return S3Error("AuthorizationHeaderMalformed", f"The authorization header is malformed; {exc}", 400)


def _sigv4(req: webob.Request, parsed: signer.SigV4Request, raw_path: str, payload: Payload) -> Credentials:
    if parsed.service != "s3":
        raise S3Error("AuthorizationHeaderMalformed", f"The credential scope names service {parsed.service!r}, "
                      "expected 's3'", 400)
    when = parsed.timestamp()
    if parsed.presigned:
        _check_skew(when, presigned=True)
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        if (now - when).total_seconds() > (parsed.expires or signer.MAX_EXPIRES):
            raise access_denied("Request has expired")
        content_hash = signer.UNSIGNED_PAYLOAD
    else:
        _check_skew(when)
        content_hash = req.headers.get("X-Amz-Content-SHA256")
        if not content_hash:
            raise S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400)
    creds = lookup(parsed.access_key)
    raw_query = req.environ.get("QUERY_STRING", "")
    headers: dict[str, str] = {}
    for name, value in raw_headers(req):
        name = name.lower()
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    try:
        expected = signer.sigv4_signature(
            creds.secret_key, parsed, req.method, signer.canonical_uri(raw_path, double_encode=False),
            signer.canonical_query(raw_query, exclude=["X-Amz-Signature"] if parsed.presigned else ()),
            headers, content_hash)
    except signer.SignatureError:
        raise signature_mismatch() from None
    if not signer.constant_time_equal(parsed.signature, expected):
        LOG.info("SigV4 signature mismatch for access key %s", parsed.access_key)
        raise signature_mismatch()
    if not parsed.presigned:  # only a presigned URL signs X-Amz-Credential (in its query)
        _require_key_names_project(parsed.access_key, creds)
    if content_hash in _STREAMING_SIGNED:
        payload.chunked = payload.signed_chunks = True
        payload.seed_signature = parsed.signature
        payload.chunk_signer = lambda previous, data: signer.chunk_signature(creds.secret_key, parsed, previous, data)
    elif content_hash == _STREAMING_UNSIGNED:
        payload.chunked = True
    elif content_hash != signer.UNSIGNED_PAYLOAD:
        if len(content_hash) != 64 or any(c not in "0123456789abcdef" for c in content_hash):
            raise S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a streaming "
                          "mode or a SHA-256 hex digest", 400, ArgumentName="x-amz-content-sha256",
                          ArgumentValue=content_hash[:80])
        payload.sha256 = content_hash
    return creds


def _sigv2_check(req: webob.Request, access: str, given: str, v2_resource: str, expires: str | None) -> Credentials:
    creds = lookup(access)
    raw_query = req.environ.get("QUERY_STRING", "")
    # A bucket's canonical resource is "/bucket/"; clients sending path-style "/bucket" may sign either.
    resources = [v2_resource]
    if v2_resource.count("/") == 1 and v2_resource != "/":
        resources.append(v2_resource + "/")
    for resource in resources:
        to_sign = signer.s3_v2_string_to_sign(req.method, resource, raw_query, raw_headers(req),
                                              expires=expires)
        if signer.constant_time_equal(signer.s3_v2_signature(creds.secret_key, to_sign), given):
            _require_key_names_project(access, creds)  # S3's SigV2 string to sign holds no access key
            return creds
    LOG.info("SigV2 signature mismatch for access key %s", access)
    raise signature_mismatch()


def _sigv2_header(req: webob.Request, value: str, v2_resource: str) -> Credentials:
    access, sep, given = value.rpartition(":")
    if not sep or not access or not given:
        raise S3Error("InvalidArgument", "Authorization header is invalid -- one and only one ' ' (space) "
                      "required", 400, ArgumentName="Authorization", ArgumentValue=value[:64])
    date = req.headers.get("X-Amz-Date") or req.headers.get("Date")
    if not date:
        raise access_denied("AWS authentication requires a valid Date or x-amz-date header")
    try:
        when = email.utils.parsedate_to_datetime(date)
        if when.tzinfo is not None:
            when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, IndexError, OverflowError):  # garbage, year 0, a zone past datetime.min/max
        raise access_denied("AWS authentication requires a valid Date or x-amz-date header") from None
    _check_skew(when)
    return _sigv2_check(req, access, given, v2_resource, None)


def _sigv2_query(req: webob.Request, query: dict[str, str], v2_resource: str) -> Credentials:
    expires = query.get("Expires", "")
    if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
        raise access_denied("Query-string authentication requires the Expires parameter (seconds since the "
                            "epoch)")
    deadline, now = int(expires), time.time()
    if now > deadline:
        raise access_denied("Request has expired")
    if deadline - now > signer.MAX_EXPIRES + FLAGS.auth_max_clock_skew:
        raise S3Error("AuthorizationQueryParametersError", f"Expires must be at most {signer.MAX_EXPIRES} "
                      "seconds (7 days) from now", 400)
    return _sigv2_check(req, query["AWSAccessKeyId"], query["Signature"], v2_resource, expires)


def owner_of(ctxt: context.RequestContext, project_id: str) -> bool:
    """May ``ctxt`` act on a bucket of ``project_id``?"""
    return ctxt.is_admin or ctxt.project_id == project_id

