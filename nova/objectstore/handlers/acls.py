"""Get/PutBucketAcl and Get/PutObjectAcl (canned, x-amz-grant-* headers or an AccessControlPolicy body)."""

from __future__ import annotations

import logging

import webob

from nova.objectstore import acl, names, settings, versions
from nova.objectstore.errors import S3Error, no_such_key
from nova.objectstore.handlers.bucket import MAX_XML_BODY
from nova.objectstore.handlers.objects import version_header
from nova.objectstore.request import S3Request, bucket_acl, check_public_acl_allowed
from nova.objectstore.store import Bucket
from nova.objectstore.xmlutil import xml_response

LOG = logging.getLogger(__name__)


def _requested(r: S3Request, owner_id: str, bucket_owner: str) -> dict:
    """The new ACL, from the headers or the body (never both), as S3 reads a PUT ?acl."""
    body = r.body(65536).read_all(MAX_XML_BODY)
    from_headers = acl.from_headers(r.req.headers, owner_id, bucket_owner)
    if from_headers is not None and body.strip():
        raise S3Error("UnexpectedContent", "This request does not support content", 400)
    if from_headers is not None:
        return from_headers
    if not body.strip():
        raise S3Error("MissingSecurityHeader", "Your request was missing a required header", 400,
                      MissingHeaderName="x-amz-acl")
    return acl.from_xml(body, owner_id)


def get_bucket_acl(r: S3Request) -> webob.Response:
    bucket = r.bucket("READ_ACP")
    return xml_response("AccessControlPolicy", acl.to_xml(bucket_acl(bucket)))


def put_bucket_acl(r: S3Request) -> webob.Response:
    bucket = r.bucket("WRITE_ACP")
    new = _requested(r, bucket.project_id, bucket.project_id)
    check_public_acl_allowed(bucket, new)
    settings.put(bucket, "acl", new)
    LOG.info("New ACL on bucket %s: %d grants", bucket.name, len(new["grants"]))
    return webob.Response(status=200)


def record_of(r: S3Request, bucket: Bucket) -> dict:
    key = names.check_key(r.key or "")
    version_id = r.query.get("versionId")
    if version_id is not None:
        record, _ = versions.find(bucket, key, version_id)
    else:
        try:
            record = bucket.get(key).record
        except S3Error:
            raise no_such_key(key) from None
    if record.get("delete_marker"):
        raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", 405)
    return record


def object_record(r: S3Request, permission: str) -> tuple[Bucket, dict]:
    """The bucket and the stored record of the object (or ?versionId) if ``permission`` allows."""
    bucket = r.store.get_bucket(r.bucket_name or "")
    record = record_of(r, bucket)
    r.authorize_object(bucket, record, permission)
    return bucket, record


def get_object_acl(r: S3Request) -> webob.Response:
    bucket, record = object_record(r, "READ_ACP")
    owner_id = record.get("owner") or bucket.project_id
    response = xml_response("AccessControlPolicy", acl.to_xml(record.get("acl") or acl.default(owner_id)))
    version_header(response, bucket, record)
    return response


def put_object_acl(r: S3Request) -> webob.Response:
    bucket, record = object_record(r, "WRITE_ACP")
    new = _requested(r, record.get("owner") or bucket.project_id, bucket.project_id)
    check_public_acl_allowed(bucket, new)
    versions.update(bucket, record["key"], r.query.get("versionId"), {"acl": new})
    LOG.info("New ACL on %s/%s: %d grants", bucket.name, record["key"], len(new["grants"]))
    return webob.Response(status=200)
