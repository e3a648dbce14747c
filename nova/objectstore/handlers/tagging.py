"""Object and bucket tagging (?tagging) and the public access block (?publicAccessBlock)."""

from __future__ import annotations

import webob

from nova.objectstore import names, settings, tags, versions
from nova.objectstore.errors import S3Error, malformed_xml
from nova.objectstore.handlers.acls import object_record
from nova.objectstore.handlers.objects import version_header
from nova.objectstore.handlers.bucket import MAX_XML_BODY
from nova.objectstore.request import S3Request
from nova.objectstore.store import Bucket
from nova.objectstore.xmlutil import element, parse, xml_response

PAB_FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _with_version(response: webob.Response, bucket: Bucket, record: dict) -> webob.Response:
    version_header(response, bucket, record)
    return response


def get_object_tagging(r: S3Request) -> webob.Response:
    bucket, record = object_record(r, "READ")
    return _with_version(xml_response("Tagging", tags.to_xml(record.get("tags") or {})), bucket, record)


def put_object_tagging(r: S3Request) -> webob.Response:
    bucket = r.bucket("WRITE")
    new = tags.from_xml(r.body(65536).read_all(MAX_XML_BODY), tags.MAX_OBJECT_TAGS)
    record = versions.update(bucket, names.check_key(r.key or ""), r.query.get("versionId"), {"tags": new})
    return _with_version(webob.Response(status=200), bucket, record)


def delete_object_tagging(r: S3Request) -> webob.Response:
    bucket = r.bucket("WRITE")
    record = versions.update(bucket, names.check_key(r.key or ""), r.query.get("versionId"), {"tags": {}})
    return _with_version(webob.Response(status=204), bucket, record)


def get_bucket_tagging(r: S3Request) -> webob.Response:
    found = settings.get(r.bucket(), "tagging")
    if not found:
        raise S3Error("NoSuchTagSet", "The TagSet does not exist", 404, BucketName=r.bucket_name or "")
    return xml_response("Tagging", tags.to_xml(found))


def put_bucket_tagging(r: S3Request) -> webob.Response:
    bucket = r.bucket()
    settings.put(bucket, "tagging", tags.from_xml(r.body(65536).read_all(MAX_XML_BODY), tags.MAX_BUCKET_TAGS))
    return webob.Response(status=204)


def delete_bucket_tagging(r: S3Request) -> webob.Response:
    settings.delete(r.bucket(), "tagging")
    return webob.Response(status=204)


def get_public_access_block(r: S3Request) -> webob.Response:
    found = settings.get(r.bucket(), "public-access-block")
    if found is None:
        raise S3Error("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not "
                      "found", 404, BucketName=r.bucket_name or "")
    return xml_response("PublicAccessBlockConfiguration", [element(f, found.get(f, False)) for f in PAB_FIELDS])


def put_public_access_block(r: S3Request) -> webob.Response:
    bucket = r.bucket()
    tree = parse(r.body(65536).read_all(MAX_XML_BODY), "PublicAccessBlockConfiguration")
    config = {}
    for name in PAB_FIELDS:
        value = (tree.findtext(name) or "false").strip().lower()
        if value not in ("true", "false"):
            raise malformed_xml()
        config[name] = value == "true"
    settings.put(bucket, "public-access-block", config)
    return webob.Response(status=200)


def delete_public_access_block(r: S3Request) -> webob.Response:
    settings.delete(r.bucket(), "public-access-block")
    return webob.Response(status=204)
