"""Browser POST uploads (an HTML form to a bucket), signed by a policy document with SigV2 or SigV4.

The form's fields name the key, metadata, ACL and the signature; the
policy says until when, and under which conditions, the form may be used;
every field but the signature's own must be covered by a condition.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import logging
from typing import Any

import webob

from nova.auth import signer
from nova.objectstore import acl, auth, names, tags
from nova.objectstore.errors import S3Error, access_denied, invalid_argument
from nova.objectstore.handlers import objects
from nova.objectstore.request import S3Request, check_public_acl_allowed
from nova.objectstore.store import STORED_HEADERS
from nova.objectstore.xmlutil import element, xml_response

LOG = logging.getLogger(__name__)
# Fields no condition needs to cover.
_EXEMPT = ("policy", "x-amz-signature", "signature", "awsaccesskeyid", "file")


def invalid_policy(message: str) -> S3Error:
    return S3Error("InvalidPolicyDocument", f"Invalid Policy: {message}", 400)


def policy_failed(what: str) -> S3Error:
    return access_denied(f"Invalid according to Policy: {what}")


def _form(r: S3Request) -> tuple[dict[str, str], Any, str]:
    """(lower-cased fields before the file, the file, its filename) of a multipart/form-data body."""
    if not r.req.content_type.startswith("multipart/form-data"):
        raise S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412,
                      Condition="Bucket POST must be of the enclosure-type multipart/form-data")
    fields: dict[str, str] = {}
    upload = None
    try:
        posted = r.req.POST
    except Exception:  # cgi raises ValueError, IndexError... on a broken body
        raise S3Error("MalformedPOSTRequest", "The body of your POST request is not well-formed "
                      "multipart/form-data.", 400) from None
    for name, value in posted.items():
        lname = name.lower()
        if lname == "file" and hasattr(value, "file"):
            upload = value
            break  # S3 ignores what follows the file
        if isinstance(value, str):
            fields[lname] = value
    if upload is None:
        raise invalid_argument("POST requires exactly one file upload per request.", "file", "0")
    return fields, upload.file, upload.filename or ""


def _hmac_hex(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _verify(r: S3Request, fields: dict[str, str]) -> Any:
    """Check the policy's signature; the sender's credentials, or None for an unsigned form."""
    policy = fields.get("policy")
    if policy is None:
        return None
    if fields.get("x-amz-algorithm") is not None:
        if fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
            raise invalid_argument("Only AWS4-HMAC-SHA256 is supported", "x-amz-algorithm", fields["x-amz-algorithm"])
        credential, signature = fields.get("x-amz-credential", ""), fields.get("x-amz-signature", "")
        scope = credential.split("/")
        if len(scope) != 5 or scope[3] != "s3" or scope[4] != "aws4_request" or not signature:
            raise invalid_argument("Bucket POST must contain valid x-amz-credential and x-amz-signature fields",
                                   "x-amz-credential", credential[:200])
        creds = auth.lookup(scope[0])
        expected = _hmac_hex(signer.signing_key(creds.secret_key, scope[1], scope[2], "s3"), policy)
    else:
        access, signature = fields.get("awsaccesskeyid", ""), fields.get("signature", "")
        if not access or not signature:
            raise invalid_argument("Bucket POST must contain a field named 'AWSAccessKeyId'.", "AWSAccessKeyId", "")
        creds = auth.lookup(access)
        expected = base64.b64encode(hmac.new(creds.secret_key.encode(), policy.encode(), hashlib.sha1).digest()
                                    ).decode()
    if not signer.constant_time_equal(signature, expected):
        raise auth.signature_mismatch()
    return creds


def _policy(encoded: str) -> dict[str, Any]:
    try:
        document = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise invalid_policy("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise invalid_policy("Invalid JSON.")
    if "expiration" not in document:
        raise invalid_policy("Policy missing expiration.")
    if not isinstance(document.get("conditions"), list):
        raise invalid_policy("Policy missing conditions.")
    try:
        expires = datetime.datetime.fromisoformat(str(document["expiration"]).replace("Z", "+00:00"))
    except ValueError:
        raise invalid_policy("Invalid 'expiration' value: '%s'" % document["expiration"]) from None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=datetime.timezone.utc)
    if expires < datetime.datetime.now(datetime.timezone.utc):
        raise policy_failed("Policy expired.")
    return document


def _check_conditions(conditions: list, fields: dict[str, str], bucket: str) -> tuple[int, int]:
    """Every condition must hold and every field be covered; returns the content-length range."""
    values = dict(fields, bucket=bucket)
    covered = {"bucket"}
    length_range = (0, 2 ** 63)
    for condition in conditions:
        if isinstance(condition, dict) and len(condition) == 1:
            name, expected = next(iter(condition.items()))
            op, name = "eq", name.lower()
        elif isinstance(condition, list) and len(condition) == 3 and condition[0] == "content-length-range":
            try:
                length_range = (int(condition[1]), int(condition[2]))
            except (TypeError, ValueError):
                raise invalid_policy("Invalid content-length-range.") from None
            continue
        elif (isinstance(condition, list) and len(condition) == 3 and str(condition[0]).lower() in ("eq", "starts-with")
              and str(condition[1]).startswith("$")):
            op, name, expected = str(condition[0]).lower(), str(condition[1])[1:].lower(), condition[2]
        else:
            raise invalid_policy(f"Invalid Condition: {json.dumps(condition)[:200]}")
        covered.add(name)
        actual = values.get(name, "")
        ok = actual == str(expected) if op == "eq" else actual.startswith(str(expected))
        if name == "content-type" and op == "starts-with" and "," in actual:
            ok = all(part.strip().startswith(str(expected)) for part in actual.split(","))
        if not ok:
            raise policy_failed(f"Policy Condition failed: {json.dumps(condition)}")
    extra = [n for n in fields if n not in covered and n not in _EXEMPT and not n.startswith("x-ignore-")]
    if extra:
        raise policy_failed("Extra input fields: " + ", ".join(sorted(extra)))
    return length_range


def post_object(r: S3Request) -> webob.Response:
    fields, handle, filename = _form(r)
    key = fields.get("key")
    if key is None:
        raise invalid_argument("Bucket POST must contain a field named 'key'.  If it is specified, please check the "
                               "order of the fields.", "key", "")
    key = names.check_key(key.replace("${filename}", filename))
    creds = _verify(r, fields)
    length_range = (0, 2 ** 63)
    if creds is not None:
        length_range = _check_conditions(_policy(fields["policy"])["conditions"], fields, r.bucket_name or "")
        r.ctxt = creds.to_context(remote_address=r.req.remote_addr)
    bucket = r.bucket("WRITE")
    owner_id = r.ctxt.project_id or bucket.project_id
    object_acl = acl.canned(fields["acl"], owner_id, bucket.project_id) if "acl" in fields else acl.default(owner_id)
    check_public_acl_allowed(bucket, object_acl)
    extra = {"owner": owner_id, "acl": object_acl,
             "tags": tags.from_xml(fields["tagging"].encode(), tags.MAX_OBJECT_TAGS) if "tagging" in fields else {}}
    metadata = {n[len("x-amz-meta-"):]: v for n, v in fields.items() if n.startswith("x-amz-meta-")}
    headers = {n: fields[n] for n in STORED_HEADERS if fields.get(n)}
    headers.setdefault("content-type", "binary/octet-stream")
    writer = bucket.writer()
    try:
        while data := handle.read(1024 * 1024):
            writer.write(data)
        writer.finish()
        if writer.size > length_range[1]:
            raise S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400,
                          ProposedSize=str(writer.size), MaxSizeAllowed=str(length_range[1]))
        if writer.size < length_range[0]:
            raise S3Error("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", 400,
                          ProposedSize=str(writer.size), MinSizeAllowed=str(length_range[0]))
        info = objects.versions.commit(bucket, key, writer, writer.md5.hexdigest(), metadata, headers, extra)
    except BaseException:
        writer.discard()
        raise
    LOG.info("Stored %s/%s from a POST form (%d bytes)", bucket.name, key, info.size)
    location = f"{r.req.host_url}/{bucket.name}/{key}"
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect:
        from urllib.parse import urlencode
        response = webob.Response(status=303)
        joiner = "&" if "?" in redirect else "?"
        response.headers["Location"] = redirect + joiner + urlencode(
            {"bucket": bucket.name, "key": key, "etag": info.quoted_etag})
    elif fields.get("success_action_status") == "201":
        response = xml_response("PostResponse", [element("Location", location), element("Bucket", bucket.name),
                                                 element("Key", key), element("ETag", info.quoted_etag)], status=201)
    else:
        response = webob.Response(status=200 if fields.get("success_action_status") == "200" else 204)
    response.headers["ETag"] = info.quoted_etag
    response.headers["Location"] = response.headers.get("Location", location)
    objects.version_header(response, bucket, info.record)
    return response
