"""Operations on a bucket: create, delete, head, list (v1 and v2), location, DeleteObjects."""

from __future__ import annotations

import base64
import binascii
import logging
import urllib.parse
from typing import Callable

import webob

from nova.objectstore import acl, names, settings, versions
from nova.objectstore.errors import S3Error, access_denied, invalid_argument, malformed_xml
from nova.objectstore.request import S3Request
from nova.objectstore.store import Bucket, ObjectInfo, iso_date
from nova.objectstore.xmlutil import element, owner, parse, xml_response

LOG = logging.getLogger(__name__)
MAX_XML_BODY = 2 * 1024 * 1024
MAX_DELETE_KEYS = 1000


def create_bucket(r: S3Request) -> webob.Response:
    if r.anonymous:
        raise access_denied()
    body = r.body(65536).read_all(MAX_XML_BODY)
    location = None
    if body.strip():
        config = parse(body, "CreateBucketConfiguration")
        location = config.findtext("LocationConstraint")
        if location is None and len(config):
            raise malformed_xml()
    project_id = r.ctxt.project_id or ""
    bucket_acl = acl.from_headers(r.req.headers, project_id)
    try:
        bucket = r.store.create_bucket(names.check_bucket_name(r.bucket_name or ""), project_id, r.ctxt.user_id)
    except S3Error as exc:
        # As in S3's default region: re-creating your own bucket without a location constraint succeeds.
        if exc.code != "BucketAlreadyOwnedByYou" or location:
            raise
        response = webob.Response(status=200)
        response.headers["Location"] = "/" + (r.bucket_name or "")
        return response
    if bucket_acl is not None:
        settings.put(bucket, "acl", bucket_acl)
    LOG.info("Created bucket %s for project %s", bucket.name, bucket.project_id)
    response = webob.Response(status=200)
    response.headers["Location"] = "/" + bucket.name
    return response


def delete_bucket(r: S3Request) -> webob.Response:
    bucket = r.bucket()
    from nova.objectstore.handlers import multipart

    if versions.has_versions(bucket):
        raise S3Error("BucketNotEmpty", "The bucket you tried to delete is not empty. You must delete all "
                      "versions in the bucket.", 409, BucketName=bucket.name)
    multipart.abort_all(bucket)
    r.store.delete_bucket(bucket)
    LOG.info("Deleted bucket %s", bucket.name)
    return webob.Response(status=204)


def head_bucket(r: S3Request) -> webob.Response:
    r.bucket()
    return webob.Response(status=200)


def get_location(r: S3Request) -> webob.Response:
    r.bucket()
    return xml_response("LocationConstraint", [])


def parse_max_keys(r: S3Request) -> int:
    value = r.query.get("max-keys", "1000")
    try:
        number = int(value)
    except ValueError:
        raise invalid_argument("Provided max-keys not an integer or within integer range", "max-keys", value) from None
    if number < 0:
        raise invalid_argument("Argument maxKeys must be an integer between 0 and 2147483647", "max-keys", value)
    return min(number, 1000)


def encoder(r: S3Request) -> tuple[str | None, Callable[[str], str]]:
    """The request's encoding-type and the function that applies it to keys and prefixes."""
    encoding = r.query.get("encoding-type")
    if encoding not in (None, "url"):
        raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", encoding)
    return encoding, (lambda value: urllib.parse.quote(value, safe="/~") if encoding else value)


def listing_fields(max_keys: int, delimiter: str, encoding: str | None, enc: Callable[[str], str],
                   truncated: bool) -> list[str]:
    """MaxKeys, Delimiter, EncodingType and IsTruncated, as every listing ends its header."""
    parts = [element("MaxKeys", max_keys)]
    if delimiter:
        parts.append(element("Delimiter", enc(delimiter)))
    if encoding:
        parts.append(element("EncodingType", encoding))
    return parts + [element("IsTruncated", truncated)]


def select(infos: list[ObjectInfo], prefix: str, delimiter: str, after: str,
           max_keys: int) -> tuple[list[ObjectInfo], list[str], bool, str]:
    """Keys and common prefixes after ``after``; returns (objects, prefixes, truncated, last entry)."""
    contents: list[ObjectInfo] = []
    prefixes: list[str] = []
    last = ""
    if max_keys == 0:
        return contents, prefixes, False, last
    for info in infos:
        key = info.key
        if not key.startswith(prefix) or (after and key <= after):
            continue
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[:cut + len(delimiter)]
                if common == last or (after and common <= after):
                    continue
                if len(contents) + len(prefixes) >= max_keys:
                    return contents, prefixes, True, last
                prefixes.append(common)
                last = common
                continue
        if len(contents) + len(prefixes) >= max_keys:
            return contents, prefixes, True, last
        contents.append(info)
        last = key
    return contents, prefixes, False, last


def list_objects(r: S3Request) -> webob.Response:
    bucket = r.bucket("READ")
    v2 = r.query.get("list-type") == "2"
    if "list-type" in r.query and not v2:
        raise invalid_argument("Invalid list-type", "list-type", r.query["list-type"])
    encoding, enc = encoder(r)
    prefix, delimiter, max_keys = r.query.get("prefix", ""), r.query.get("delimiter", ""), parse_max_keys(r)
    if v2:
        token = r.query.get("continuation-token")
        after = r.query.get("start-after", "")
        if token is not None:
            try:
                after = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
            except (binascii.Error, ValueError, UnicodeError):
                raise invalid_argument("The continuation token provided is incorrect", "continuation-token",
                                       token[:200]) from None
    else:
        after = r.query.get("marker", "")
    contents, prefixes, truncated, last = select(bucket.keys(), prefix, delimiter, after, max_keys)
    parts = [element("Name", bucket.name), element("Prefix", enc(prefix))]
    if v2:
        if "continuation-token" in r.query:
            parts.append(element("ContinuationToken", r.query["continuation-token"]))
        if "start-after" in r.query:
            parts.append(element("StartAfter", enc(r.query["start-after"])))
        parts.append(element("KeyCount", len(contents) + len(prefixes)))
        if truncated:
            parts.append(element("NextContinuationToken", base64.urlsafe_b64encode(last.encode()).decode()))
    else:
        parts.append(element("Marker", enc(after)))
        if truncated and delimiter:
            parts.append(element("NextMarker", enc(last)))
    parts += listing_fields(max_keys, delimiter, encoding, enc, truncated)
    with_owner = not v2 or r.query.get("fetch-owner") == "true"
    for info in contents:
        parts.append("<Contents>" + element("Key", enc(info.key)) + element("LastModified", iso_date(info.last_modified))
                     + element("ETag", info.quoted_etag) + element("Size", info.size)
                     + (owner(bucket.project_id) if with_owner else "")
                     + element("StorageClass", "STANDARD") + "</Contents>")
    parts += [f"<CommonPrefixes>{element('Prefix', enc(p))}</CommonPrefixes>" for p in prefixes]
    return xml_response("ListBucketResult", parts)


def _delete_one(bucket: Bucket, key: str, version_id: str | None, project_id: str | None) -> str:
    """Delete one key or version; the extra elements of its <Deleted> entry."""
    if version_id is not None:
        gone = versions.delete_version(bucket, key, versions.check_version_id(version_id))
        if gone is None and version_id == versions.NULL and versions.status(bucket) is None:
            bucket.delete(key)
        marker = element("DeleteMarker", True) + element("DeleteMarkerVersionId", version_id) \
            if gone and gone.get("delete_marker") else ""
        return element("VersionId", version_id) + marker
    if versions.status(bucket) is not None:
        marker = versions.delete(bucket, key, project_id)
        return element("DeleteMarker", True) + element("DeleteMarkerVersionId", versions.version_of(marker))
    bucket.delete(key)
    return ""


def delete_objects(r: S3Request) -> webob.Response:
    bucket = r.bucket("WRITE")
    if r.payload.content_md5 is None and not r.payload.checksum_headers and not r.req.headers.get("x-amz-trailer"):
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5", 400)
    tree = parse(r.body(65536).read_all(MAX_XML_BODY), "Delete")
    quiet = (tree.findtext("Quiet") or "").strip().lower() == "true"
    objects = tree.findall("Object")
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise malformed_xml()
    results = []
    for node in objects:
        key, version_id = node.findtext("Key"), node.findtext("VersionId")
        if key is None:
            raise malformed_xml()
        try:
            names.check_key(key)
            done = _delete_one(bucket, key, version_id, r.ctxt.project_id)
        except S3Error as exc:
            results.append(f"<Error>{element('Key', key)}{element('VersionId', version_id) if version_id else ''}"
                           f"{element('Code', exc.code)}{element('Message', exc.message)}</Error>")
            continue
        if not quiet:
            results.append(f"<Deleted>{element('Key', key)}{done}</Deleted>")
    LOG.info("DeleteObjects in %s: %d keys", bucket.name, len(objects))
    return xml_response("DeleteResult", results)
