"""Verification of AWS request signatures: Signature Version 4 and 2.

Pure functions over the parts of an HTTP request, so the EC2 API and the
objectstore share them.  ``parse_sigv4`` reads a signed request (header or
presigned query) into a ``SigV4Request``; ``sigv4_signature`` recomputes the
signature from the user's secret; callers compare with ``hmac.compare_digest``.
The canonical forms follow AWS's published algorithm.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
import posixpath
import re
import urllib.parse
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

ALGORITHM_V4 = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_UNRESERVED = "-_.~"


MAX_EXPIRES = 7 * 24 * 3600  # the longest a presigned request may stay valid, as AWS


class SignatureError(Exception):
    """The request's signature fields are missing or malformed.

    ``code`` is the AWS error code a front end should answer with;
    ``field`` names the malformed field when a front end answers it its own way
    (S3 refuses a bad ``X-Amz-Date`` header with AccessDenied).
    """

    def __init__(self, message: str, code: str = "IncompleteSignature", field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


@dataclass
class SigV4Request:
    access_key: str
    date: str  # YYYYMMDD of the credential scope
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: str  # YYYYMMDDTHHMMSSZ
    presigned: bool
    expires: int | None = None

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"

    def timestamp(self) -> datetime.datetime:
        return parse_amz_date(self.amz_date)


_AMZ_DATE_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")


def parse_amz_date(value: str, code: str = "IncompleteSignature") -> datetime.datetime:
    """An ISO 8601 basic-format UTC time (``YYYYMMDDTHHMMSSZ``), or SignatureError."""
    message = f"X-Amz-Date {value[:40]!r} is not a date of the form YYYYMMDDTHHMMSSZ"
    if not isinstance(value, str) or len(value) != 16 or not _AMZ_DATE_RE.match(value):
        raise SignatureError(message, code, field="X-Amz-Date")
    try:  # by hand: strptime costs more than the rest of a signature check
        return datetime.datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]),
                                 int(value[11:13]), int(value[13:15]))
    except ValueError:  # year 0000, month 13, February 30th ...
        raise SignatureError(message, code, field="X-Amz-Date") from None


def _parse_signed_headers(value: str, code: str) -> list[str]:
    names = value.lower().split(";")
    if not value or any(not name or name != name.strip() for name in names):
        raise SignatureError(f"SignedHeaders {value[:200]!r} must be a ';'-separated list of header names", code)
    return names


def _parse_credential(credential: str, code: str) -> tuple[str, str, str, str]:
    # The access key may itself hold a '/'-free "access:project"; the scope is the last four parts.
    parts = credential.split("/")
    if len(parts) < 5 or parts[-1] != "aws4_request":
        raise SignatureError(f"Credential {credential[:200]!r} should be ACCESS/DATE/REGION/SERVICE/aws4_request",
                             code)
    access = "/".join(parts[:-4])
    date, region, service = parts[-4], parts[-3], parts[-2]
    if not access:
        raise SignatureError("Credential names no access key", code)
    return access, date, region, service


def parse_sigv4(authorization: str | None, query: Mapping[str, str], amz_date_header: str | None) -> SigV4Request | None:
    """The SigV4 fields of a request, or None if it is not SigV4-signed."""
    if authorization and authorization.startswith(ALGORITHM_V4 + " "):
        fields: dict[str, str] = {}
        for item in authorization[len(ALGORITHM_V4) + 1:].split(","):
            key, sep, value = item.strip().partition("=")
            if sep:
                fields[key.strip()] = value.strip()
        missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
        if missing:
            raise SignatureError(f"Authorization header lacks {', '.join(missing)}")
        if not amz_date_header:
            raise SignatureError("SigV4 request lacks an X-Amz-Date header", code="MissingAuthenticationToken")
        access, date, region, service = _parse_credential(fields["Credential"], "IncompleteSignature")
        signed = _parse_signed_headers(fields["SignedHeaders"], "IncompleteSignature")
        parse_amz_date(amz_date_header)
        return SigV4Request(access, date, region, service, signed, fields["Signature"], amz_date_header,
                            presigned=False)
    if query.get("X-Amz-Algorithm"):
        if query["X-Amz-Algorithm"] != ALGORITHM_V4:
            raise SignatureError(f"X-Amz-Algorithm {query['X-Amz-Algorithm']!r} is not supported")
        missing = [k for k in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
                   if not query.get(k)]
        if missing:
            raise SignatureError(f"presigned request lacks {', '.join(missing)}")
        code = "AuthorizationQueryParametersError"
        access, date, region, service = _parse_credential(query["X-Amz-Credential"], code)
        signed = _parse_signed_headers(query["X-Amz-SignedHeaders"], code)
        parse_amz_date(query["X-Amz-Date"], code)
        expires = None
        if query.get("X-Amz-Expires"):
            text = query["X-Amz-Expires"]
            if not text.isascii() or not text.isdigit() or len(text) > 10:
                raise SignatureError("X-Amz-Expires is not a number of seconds", code)
            expires = int(text)
            if not 0 < expires <= MAX_EXPIRES:
                raise SignatureError(f"X-Amz-Expires must be between 1 and {MAX_EXPIRES} seconds (7 days)", code)
        return SigV4Request(access, date, region, service, signed, query["X-Amz-Signature"], query["X-Amz-Date"],
                            presigned=True, expires=expires)
    return None


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe=_UNRESERVED)


def canonical_query(raw_query: str, exclude: Iterable[str] = ()) -> str:
    """Sorted, RFC 3986-encoded query pairs, from the query string as sent."""
    skip = set(exclude)
    pairs = []
    for item in raw_query.split("&") if raw_query else []:
        if not item:
            continue
        key, _, value = item.partition("=")
        key, value = urllib.parse.unquote(key), urllib.parse.unquote(value)
        if key in skip:
            continue
        pairs.append((_quote(key), _quote(value)))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_uri(raw_path: str, double_encode: bool) -> str:
    """The path as signed: as sent for S3; normalised and encoded again for other services."""
    path = raw_path or "/"
    if not double_encode:
        return path
    normalized = posixpath.normpath(path) if path != "/" else "/"
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return urllib.parse.quote(normalized, safe="/~")


def canonical_headers(headers: Mapping[str, str], signed: Sequence[str]) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    lines = []
    for name in sorted(signed):
        if name not in lowered:
            raise SignatureError(f"signed header {name!r} is not in the request", code="SignatureDoesNotMatch")
        lines.append(f"{name}:{' '.join(str(lowered[name]).split())}\n")
    return "".join(lines)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


@functools.lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 key of one secret for one day, region and service (a pure function of them: cached, so a
    request costs one HMAC instead of five)."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def sigv4_signature(secret: str, req: SigV4Request, method: str, uri: str, query: str,
                    headers: Mapping[str, str], payload_hash: str) -> str:
    """The hex signature the request should carry, given the user's secret."""
    canonical = "\n".join([
        method.upper(),
        uri,
        query,
        canonical_headers(headers, req.signed_headers),
        ";".join(req.signed_headers),
        payload_hash,
    ])
    to_sign = "\n".join([ALGORITHM_V4, req.amz_date, req.scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    return hmac.new(signing_key(secret, req.date, req.region, req.service), to_sign.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def chunk_signature(secret: str, req: SigV4Request, previous_signature: str, chunk: bytes) -> str:
    """Signature of one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body."""
    to_sign = "\n".join([
        "AWS4-HMAC-SHA256-PAYLOAD", req.amz_date, req.scope, previous_signature, EMPTY_SHA256,
        hashlib.sha256(chunk).hexdigest(),
    ])
    return hmac.new(signing_key(secret, req.date, req.region, req.service), to_sign.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def sigv2_query_signature(secret: str, method: str, host: str, path: str, params: Mapping[str, str],
                          signature_method: str) -> str:
    """EC2 query Signature Version 2 (HmacSHA256 or HmacSHA1), base64."""
    digests = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}
    if signature_method not in digests:
        raise SignatureError(f"SignatureMethod {signature_method!r} is not supported", code="InvalidParameterValue")
    query = "&".join(f"{_quote(k)}={_quote(str(v))}" for k, v in sorted(params.items()) if k != "Signature")
    to_sign = "\n".join([method.upper(), host, path or "/", query])
    digest = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), digests[signature_method]).digest()
    return base64.b64encode(digest).decode()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


# Query parameters that S3's Signature Version 2 includes in the canonical resource.
S3_V2_SUBRESOURCES = frozenset([
    "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "lifecycle",
    "location", "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication",
    "requestPayment", "response-cache-control", "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires", "restore", "select",
    "select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
    "versions", "website",
])


def s3_v2_string_to_sign(method: str, resource_path: str, raw_query: str,
                         headers: Mapping[str, str] | Iterable[tuple[str, str]],
                         expires: str | None = None) -> str:
    """S3's own SigV2 string to sign.

    ``resource_path`` is the path as sent, with ``/bucket`` in front for
    virtual-host-style requests.  ``headers`` may be a mapping or (name,
    value) pairs (repeated x-amz headers are joined with commas).  For a
    presigned URL ``expires`` replaces the Date line.  When the request
    carries ``x-amz-date`` the Date line is empty, as AWS documents.
    """
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    standard: dict[str, str] = {}
    amz: dict[str, list[str]] = {}
    for name, value in pairs:
        lname = name.lower()
        if lname in ("content-md5", "content-type", "date"):
            standard[lname] = str(value).strip()
        elif lname.startswith("x-amz-"):
            amz.setdefault(lname, []).append(str(value).strip())
    if expires is not None:
        date = expires
    elif "x-amz-date" in amz:
        date = ""
    else:
        date = standard.get("date", "")
    lines = [method.upper(), standard.get("content-md5", ""), standard.get("content-type", ""), date]
    lines += [f"{name}:{','.join(amz[name])}" for name in sorted(amz)]
    resource = resource_path
    subresources = []
    for item in raw_query.split("&") if raw_query else []:
        key, sep, value = item.partition("=")
        if key in S3_V2_SUBRESOURCES:
            subresources.append((key, urllib.parse.unquote(value) if sep else None))
    if subresources:
        subresources.sort(key=lambda kv: kv[0])
        resource += "?" + "&".join(k if v is None else f"{k}={v}" for k, v in subresources)
    return "\n".join(lines + [resource])


def s3_v2_signature(secret: str, string_to_sign: str) -> str:
    """HMAC-SHA1 of S3's SigV2 string to sign, base64."""
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
