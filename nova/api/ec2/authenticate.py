"""Who is calling: EC2 request parameters and signature verification.

The access key is a project's pair (``nova-manage credentials create``) or
the user's own ``ACCESS[:PROJECT]``; without a project the user's first
project is used.  The user's own key is refused with an Authorization header,
which does not sign the access key, unless it can mean one project only
(``nova.auth.credentials``).  Signature Version 4 (``Authorization`` header or presigned
query, as boto3 and the AWS CLI send) and Version 2 (HmacSHA256/HmacSHA1, as
euca2ools and boto 2 send) are checked against the user's secret key, and
the request's time against this host's clock (``--auth_max_clock_skew``).
The access key, its user, project and roles come from ``AuthManager``; this
module only maps its errors to EC2's ``AuthFailure``.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import urllib.parse
from typing import Any, Callable

import webob
import webob.dec

from nova import context, exception, flags, utils, wsgi
from nova.api.ec2 import faults
from nova.api.ec2.faults import EC2APIError
from nova.auth import manager, signer
from nova.auth.credentials import Credentials

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

PARAMS_KEY = "ec2.params"
CONTEXT_KEY = "nova.context"
MAX_PARAMS = 5000
SIGV2_KEYS = ("AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "Timestamp", "Expires")


def auth_failure(message: str = "AWS was not able to validate the provided access credentials") -> EC2APIError:
    return EC2APIError("AuthFailure", message, status=401)


def _parse_pairs(raw: str, what: str) -> list[tuple[str, str]]:
    try:
        return urllib.parse.parse_qsl(raw, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMS)
    except (ValueError, UnicodeDecodeError):
        raise faults.invalid(f"The {what} is not valid form data (UTF-8, at most {MAX_PARAMS} fields)") from None


def read_params(req: webob.Request) -> tuple[dict[str, str], bytes]:
    """The request's parameters (query string and form body) and its raw body."""
    length = req.content_length or 0
    if length > FLAGS.ec2_max_request_bytes:
        raise EC2APIError("RequestEntityTooLarge",
                          f"The request body is larger than {FLAGS.ec2_max_request_bytes} bytes", status=413)
    body = req.body_file.read(FLAGS.ec2_max_request_bytes + 1) if length else b""
    if len(body) > FLAGS.ec2_max_request_bytes:
        raise EC2APIError("RequestEntityTooLarge",
                          f"The request body is larger than {FLAGS.ec2_max_request_bytes} bytes", status=413)
    try:
        query = req.environ.get("QUERY_STRING", "")
        pairs = _parse_pairs(query, "query string")
        if body and req.method == "POST":
            if req.content_type not in ("application/x-www-form-urlencoded", ""):
                raise faults.invalid(f"Content-Type {req.content_type} is not supported; "
                                     "send application/x-www-form-urlencoded")
            pairs += _parse_pairs(body.decode("utf-8"), "request body")
    except UnicodeDecodeError:
        raise faults.invalid("The request body is not UTF-8") from None
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise faults.invalid(f"Parameter {key[:100]} is given more than once")
        params[key] = value
    return params, body


def _now() -> datetime.datetime:
    return utils.utcnow()


def signature_mismatch(detail: str = "") -> EC2APIError:
    return EC2APIError("SignatureDoesNotMatch", "The request signature we calculated does not match the "
                       "signature you provided. Check your AWS Secret Access Key and signing method."
                       + (f" ({detail})" if detail else ""), 403)


def _check_time(at: datetime.datetime, expires_at: datetime.datetime | None = None, future_only: bool = False) -> None:
    """The one clock-skew rule; a presigned request (``expires_at``) may be old until it expires."""
    now = _now()
    try:
        manager.AuthManager.check_clock_skew(at, now, future_only=future_only or expires_at is not None)
    except exception.RequestTimeSkewed as exc:
        if exc.kwargs["direction"] == "future":
            raise auth_failure("Request timestamp is too far in the future") from None
        raise auth_failure("Request timestamp is too old; check your clock") from None
    if expires_at is not None and now > expires_at:
        raise auth_failure("Request has expired")


def _raw_path(req: webob.Request) -> str:
    raw = req.environ.get("RAW_PATH_INFO")
    if raw:
        return raw.split("?", 1)[0]
    return urllib.parse.quote(req.script_name + req.path_info, safe="/~")


def _verify_sigv4(req: webob.Request, sig: signer.SigV4Request, body: bytes, secret: str) -> None:
    amz_time = sig.timestamp()
    if sig.date != sig.amz_date[:8]:
        raise auth_failure("Credential scope date does not match the request date")
    if sig.presigned:
        _check_time(amz_time, future_only=True)  # first: a time near datetime.max cannot be added to
        _check_time(amz_time, amz_time + datetime.timedelta(seconds=sig.expires or FLAGS.auth_max_clock_skew))
    else:
        _check_time(amz_time)
    query = req.environ.get("QUERY_STRING", "")
    headers = dict(req.headers.items())
    payload = req.headers.get("X-Amz-Content-SHA256") or hashlib.sha256(body).hexdigest()
    try:
        expected = signer.sigv4_signature(
            secret, sig, req.method, signer.canonical_uri(_raw_path(req), double_encode=True),
            signer.canonical_query(query, exclude=["X-Amz-Signature"] if sig.presigned else ()), headers, payload)
    except signer.SignatureError as exc:  # a signed header the request does not carry
        raise signature_mismatch(str(exc)) from None
    if not signer.constant_time_equal(sig.signature, expected):
        raise signature_mismatch()


def _parse_v2_time(value: str, name: str) -> datetime.datetime:
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise faults.invalid(f"Value ({value[:40]}) for parameter {name} is invalid; expected YYYY-MM-DDThh:mm:ssZ")


def _verify_sigv2(req: webob.Request, params: dict[str, str], secret: str) -> None:
    if params.get("SignatureVersion") != "2":
        raise faults.invalid(f"SignatureVersion {params.get('SignatureVersion')!r} is not supported; use 2 or 4")
    if "Timestamp" in params and "Expires" in params:
        raise EC2APIError("InvalidParameterCombination", "Use either Timestamp or Expires, not both")
    if "Expires" in params:
        expires_at = _parse_v2_time(params["Expires"], "Expires")
        now = _now()
        if now > expires_at:
            raise auth_failure("Request has expired")
        if (expires_at - now).total_seconds() > signer.MAX_EXPIRES + FLAGS.auth_max_clock_skew:
            raise faults.invalid(f"Value ({params['Expires'][:40]}) for parameter Expires is invalid: a request "
                                 f"may stay valid for at most {signer.MAX_EXPIRES} seconds (7 days)")
    elif "Timestamp" in params:
        _check_time(_parse_v2_time(params["Timestamp"], "Timestamp"))
    else:
        raise EC2APIError("MissingParameter", "The request must contain the parameter Timestamp or Expires")
    try:
        expected = signer.sigv2_query_signature(secret, req.method, req.host.lower(), _raw_path(req), params,
                                                params.get("SignatureMethod", ""))
    except signer.SignatureError as exc:
        raise faults.invalid(str(exc)) from None
    if not signer.constant_time_equal(params["Signature"], expected):
        raise signature_mismatch()


def _credentials(access: str, verify: Callable[[str], None], covers_key: bool) -> Credentials:
    """The caller's credentials, or ``AuthFailure`` naming what is wrong.

    ``verify(secret)`` checks the signature before the project is looked at;
    ``covers_key`` says whether that signature covers the access key itself.
    """
    try:
        return manager.AuthManager().credentials_for_access_key(access, verify, signature_covers_key=covers_key)
    except exception.UnsignedProjectKey as exc:
        raise auth_failure(str(exc)) from None
    except exception.AccessKeyNotFound:
        raise auth_failure() from None
    except exception.ProjectNotFound as exc:
        raise auth_failure(f"Project {exc.kwargs['project_id']} does not exist") from None
    except exception.ProjectMembershipNotFound as exc:
        raise auth_failure(f"User {exc.kwargs['user_id']} is not a member of project "
                           f"{exc.kwargs['project_id']}") from None
    except exception.UserHasNoProject as exc:
        raise auth_failure(f"User {exc.kwargs['user_id']} is not a member of any project") from None


def _context(creds: Credentials, req: webob.Request, request_id: str) -> context.RequestContext:
    remote = req.remote_addr
    if FLAGS.use_forwarded_for and req.headers.get("X-Forwarded-For"):
        remote = req.headers["X-Forwarded-For"].split(",")[0].strip()
    return creds.to_context(request_id=request_id, remote_address=remote)


def authenticate(req: webob.Request, params: dict[str, str], body: bytes, request_id: str) -> context.RequestContext:
    """The context of a correctly signed request, or an ``EC2APIError``."""
    try:
        sig = signer.parse_sigv4(req.headers.get("Authorization"), params, req.headers.get("X-Amz-Date"))
    except signer.SignatureError as exc:
        if exc.code == "MissingAuthenticationToken":
            raise EC2APIError(exc.code, str(exc), 403) from None
        raise EC2APIError("IncompleteSignature", str(exc), 400) from None  # EC2's one code for a malformed signature
    if sig is not None:
        # A presigned request signs X-Amz-Credential with the query; an Authorization header is not signed.
        creds = _credentials(sig.access_key, lambda secret: _verify_sigv4(req, sig, body, secret), sig.presigned)
    elif "Signature" in params or "AWSAccessKeyId" in params:
        if not params.get("Signature") or not params.get("AWSAccessKeyId"):
            raise EC2APIError("MissingParameter", "A SigV2 request needs both AWSAccessKeyId and Signature")
        creds = _credentials(params["AWSAccessKeyId"], lambda secret: _verify_sigv2(req, params, secret), True)
    else:
        raise auth_failure("The request is not signed (send a Signature Version 4 or 2 signature)")
    return _context(creds, req, request_id)


class Authenticate(wsgi.Middleware):
    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> Any:
        request_id = wsgi.request_id_of(req.environ)
        try:
            params, body = read_params(req)
            ctxt = authenticate(req, params, body, request_id)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an EC2 error
            return faults.response_for(exc, request_id)
        for key in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                    "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", *SIGV2_KEYS):
            params.pop(key, None)
        req.environ[PARAMS_KEY] = params
        req.environ[CONTEXT_KEY] = ctxt
        LOG.debug("Authenticated %s in project %s", ctxt.user_id, ctxt.project_id)
        return self.application
