"""Operations on objects: PutObject, GetObject, HeadObject, DeleteObject, CopyObject."""

from __future__ import annotations

import email.utils
import logging
import re
import urllib.parse
from typing import Any

import webob

from nova import flags, utils
from nova.objectstore import acl, auth, directio, names, tags, versions
from nova.objectstore.errors import S3Error, invalid_argument, no_such_key
from nova.objectstore.request import S3Request, check_public_acl_allowed
from nova.objectstore.store import (INLINE_MAX, STORED_HEADERS, Bucket, ObjectInfo, TempWriter, http_date,
                                   iso_date, stream)
from nova.objectstore.xmlutil import element, xml_response

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)
MAX_METADATA_BYTES = 2048
_RANGE_RE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
_BEYOND_ANY_OBJECT = 2 ** 63


def user_metadata(r: S3Request) -> dict[str, str]:
    metadata = {name.lower()[len("x-amz-meta-"):]: value for name, value in r.req.headers.items()
                if name.lower().startswith("x-amz-meta-")}
    if sum(len(k) + len(v) for k, v in metadata.items()) > MAX_METADATA_BYTES:
        raise S3Error("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.", 400,
                      MaxSizeAllowed=str(MAX_METADATA_BYTES))
    return metadata


def stored_headers(r: S3Request) -> dict[str, str]:
    headers = {name: r.req.headers[name] for name in STORED_HEADERS if r.req.headers.get(name)}
    headers.setdefault("content-type", "binary/octet-stream")
    return headers


def receive(r: S3Request, writer: TempWriter, inline_max: int = 0) -> None:
    """Stream the request body into ``writer`` and check it; the caller commits or discards (a body of at
    most ``inline_max`` bytes is left in ``writer.inline``)."""
    environ = r.req.environ
    declared = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH") or environ.get("CONTENT_LENGTH")
    if not declared and "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        raise S3Error("MissingContentLength", "You must provide the Content-Length HTTP header.", 411)
    if declared and utils.decimal(declared, 20) is not None and int(declared) > writer.max_size:
        raise S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400,
                      MaxSizeAllowed=str(writer.max_size))
    body = r.body(FLAGS.s3_io_chunk_size)
    buffers: list[Any] = []
    if not (declared and declared.isdigit() and int(declared) <= writer.BUFFER_MAX):
        plain = not body.payload.chunked  # read, hashed and written in place, the file around the page cache
        writer.start_file(direct=plain and FLAGS.s3_direct_io)
        if plain:
            buffers = directio.buffers(2, FLAGS.s3_io_chunk_size)
    digests = body.digests
    for data in body.chunks(buffers):
        writer.absorb(data, digests)
    writer.settle()
    writer.md5 = body.md5
    body.verify()
    writer.finish(inline_max)


def new_object_fields(r: S3Request, bucket: Bucket) -> dict:
    """Owner, ACL (x-amz-acl / x-amz-grant-*) and tags (x-amz-tagging) of an object being written."""
    owner_id = r.ctxt.project_id or bucket.project_id
    object_acl = acl.from_headers(r.req.headers, owner_id, bucket.project_id) or acl.default(owner_id)
    check_public_acl_allowed(bucket, object_acl)
    return {"owner": owner_id, "acl": object_acl, "tags": tags.from_header(r.req.headers.get("x-amz-tagging")) or {}}


def put_object(r: S3Request) -> webob.Response:
    bucket = r.bucket("WRITE")
    key = names.check_key(r.key or "")
    metadata, headers = user_metadata(r), stored_headers(r)
    extra = new_object_fields(r, bucket)
    check_write_conditions(r, bucket, key)
    writer = bucket.writer()
    try:
        receive(r, writer, INLINE_MAX)
        state = versions.status(bucket)
        info = versions.commit(bucket, key, writer, writer.md5.hexdigest(), metadata, headers, extra, state)
    except BaseException:
        writer.discard()
        raise
    LOG.debug("Stored %s/%s (%d bytes)", bucket.name, key, info.size)
    response = webob.Response(status=200)
    response.headers["ETag"] = info.quoted_etag
    version_header(response, bucket, info.record, state)
    for name, value in r.payload.checksum_headers.items():
        response.headers[f"x-amz-checksum-{name}"] = value
    return response


def check_write_conditions(r: S3Request, bucket: Bucket, key: str) -> None:
    """Conditional writes: If-None-Match: * (only if absent) and If-Match (only over that ETag)."""
    if_none, if_match = r.req.headers.get("If-None-Match"), r.req.headers.get("If-Match")
    if if_none is None and if_match is None:
        return
    try:
        info: ObjectInfo | None = bucket.get(key)
    except S3Error:
        info = None
    if if_none is not None:
        if if_none.strip() != "*":
            raise S3Error("NotImplemented", "A header you provided implies functionality that is not implemented",
                          501, Header="If-None-Match")
        if info is not None:
            raise S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                          412, Condition="If-None-Match")
    if if_match is not None:
        if info is None:
            raise no_such_key(key)
        if not _etag_matches(if_match, info.etag):
            raise S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                          412, Condition="If-Match")


def version_header(response: webob.Response, bucket: Bucket, record: dict, state: object = versions._READ) -> None:
    """x-amz-version-id, on buckets whose versioning was ever set (``state``: their status, if just read)."""
    if "version_id" in record or (versions.status(bucket) if state is versions._READ else state) is not None:
        response.headers["x-amz-version-id"] = versions.version_of(record)


def _parse_http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [c.strip() for c in header.split(",")]
    return "*" in candidates or f'"{etag}"' in candidates or etag in candidates


def check_conditions(headers: dict[str, str] | webob.headers.EnvironHeaders, info: ObjectInfo,
                     prefix: str = "", read: bool = True) -> None:
    """If-Match & co (or their x-amz-copy-source-if-* forms): 412, or 304 for reads."""
    if_match = headers.get(f"{prefix}If-Match")
    if_none = headers.get(f"{prefix}If-None-Match")
    modified = int(info.last_modified)
    if if_match is not None and not _etag_matches(if_match, info.etag):
        raise S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412,
                      Condition="If-Match")
    unmodified_since = _parse_http_date(headers.get(f"{prefix}If-Unmodified-Since"))
    if if_match is None and unmodified_since is not None and modified > unmodified_since:
        raise S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412,
                      Condition="If-Unmodified-Since")
    status, code = (304, "NotModified") if read else (412, "PreconditionFailed")
    if if_none is not None and _etag_matches(if_none, info.etag):
        raise S3Error(code, "Not Modified" if read else "At least one of the pre-conditions you specified did "
                      "not hold", status)
    modified_since = _parse_http_date(headers.get(f"{prefix}If-Modified-Since"))
    if if_none is None and modified_since is not None and modified <= modified_since:
        raise S3Error(code, "Not Modified" if read else "At least one of the pre-conditions you specified did "
                      "not hold", status)


def _position(digits: str) -> int | None:
    """A byte position of a Range header; any number past what a file can hold counts as that maximum."""
    if not digits:
        return None
    return int(digits) if len(digits) <= 19 else _BEYOND_ANY_OBJECT


def parse_range(value: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single byte range, None for the whole object."""
    if not value:
        return None
    match = _RANGE_RE.match(value.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = _position(match.group(1)), _position(match.group(2))
    if first is not None:
        start = first
        end = min(last, size - 1) if last is not None else size - 1
        if last is not None and last < start:
            return None
    else:
        start, end = max(size - last, 0), size - 1
        if last == 0:
            start = size
    if start >= size:
        raise S3Error("InvalidRange", "The requested range is not satisfiable", 416,
                      RangeRequested=value, ActualObjectSize=str(size))
    return start, end


def _open(bucket: Bucket, key: str, version_id: str | None = None) -> tuple[ObjectInfo, object]:
    """The object (one version of it if asked) and its open bytes; delete markers answer as S3 does."""
    for _ in range(3):
        if version_id is not None:
            record, directory = versions.find(bucket, key, version_id)
            if record.get("delete_marker"):
                raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.",
                              405, Method="GET", ResourceType="DeleteMarker").with_headers(
                                  {"x-amz-delete-marker": "true", "x-amz-version-id": version_id})
            info = ObjectInfo.from_record(record, directory)
        else:
            try:
                info = bucket.get(key)
            except S3Error:
                marker = versions.latest_marker(bucket, key)
                if marker is not None:
                    raise no_such_key(key).with_headers({"x-amz-delete-marker": "true",
                                                         "x-amz-version-id": versions.version_of(marker)}) from None
                raise
        try:
            return info, info.open()
        except FileNotFoundError:
            continue  # replaced between reading its metadata and opening its bytes
    raise no_such_key(key)


def _object_headers(response: webob.Response, info: ObjectInfo) -> None:
    response.headers["ETag"] = info.quoted_etag
    response.headers["Last-Modified"] = http_date(info.last_modified)
    response.headers["Accept-Ranges"] = "bytes"
    for name, value in info.headers.items():
        response.headers[name] = value
    for name, value in info.metadata.items():
        response.headers[f"x-amz-meta-{name}"] = value


def get_object(r: S3Request, head: bool = False) -> webob.Response:
    bucket = r.store.get_bucket(r.bucket_name or "")
    key = names.check_key(r.key or "")
    try:
        info, handle = _open(bucket, key, r.query.get("versionId"))
    except S3Error as exc:
        if exc.status == 404 and not auth.owner_of(r.ctxt, bucket.project_id):
            r.authorize(bucket, "READ")  # who may not list the bucket learns nothing of what it holds
        raise
    try:
        r.authorize_object(bucket, info.record, "READ")
        check_conditions(r.req.headers, info)
        byte_range = parse_range(r.req.headers.get("Range"), info.size)
    except S3Error:
        handle.close()
        raise
    response = webob.Response(status=200, conditional_response=False)
    _object_headers(response, info)
    version_header(response, bucket, info.record)
    if info.record.get("tags"):
        response.headers["x-amz-tagging-count"] = str(len(info.record["tags"]))
    for param in ("content-type", "content-language", "expires", "cache-control", "content-disposition",
                  "content-encoding"):
        if f"response-{param}" in r.query:
            response.headers[param] = r.query[f"response-{param}"]
    start, length = 0, info.size
    if byte_range:
        start, end = byte_range
        length = end - start + 1
        response.status = 206
        response.headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
    if head:
        handle.close()
        response.headers["Content-Length"] = str(length)
        return response
    response.app_iter = stream(handle, start, length)
    response.headers["Content-Length"] = str(length)
    return response


def delete_object(r: S3Request) -> webob.Response:
    bucket = r.bucket("WRITE")
    key = names.check_key(r.key or "")
    response = webob.Response(status=204)
    version_id = r.query.get("versionId")
    if version_id is not None:
        gone = versions.delete_version(bucket, key, versions.check_version_id(version_id))
        if gone is None and version_id == versions.NULL and versions.status(bucket) is None:
            gone = {} if bucket.delete(key) else None
        response.headers["x-amz-version-id"] = version_id
        if gone and gone.get("delete_marker"):
            response.headers["x-amz-delete-marker"] = "true"
        LOG.info("Deleted version %s of %s/%s", version_id, bucket.name, key)
    elif versions.status(bucket) is not None:
        marker = versions.delete(bucket, key, r.ctxt.project_id)
        response.headers["x-amz-delete-marker"] = "true"
        response.headers["x-amz-version-id"] = versions.version_of(marker)
        LOG.info("Put delete marker %s on %s/%s", versions.version_of(marker), bucket.name, key)
    elif bucket.delete(key):
        LOG.info("Deleted %s/%s", bucket.name, key)
    return response


def copy_source(r: S3Request) -> tuple[Bucket, ObjectInfo, object]:
    """The bucket, object and open bytes named by x-amz-copy-source (which must be readable)."""
    raw = r.req.headers.get("x-amz-copy-source", "")
    path, _, version_id = raw.partition("?versionId=")
    source = urllib.parse.unquote(path).lstrip("/")
    bucket_name, _, key = source.partition("/")
    if not bucket_name or not key:
        raise invalid_argument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                               "x-amz-copy-source", raw[:200])
    names.check_key(key)
    bucket = r.store.get_bucket(bucket_name)
    if not auth.owner_of(r.ctxt, bucket.project_id):
        r.authorize(bucket, "READ")
    info, handle = _open(bucket, key, version_id or None)
    try:
        r.authorize_object(bucket, info.record, "READ")
        check_conditions(r.req.headers, info, prefix="x-amz-copy-source-", read=False)
    except S3Error:
        handle.close()
        raise
    return bucket, info, handle


def copy_into(writer: TempWriter, handle, start: int, length: int) -> None:
    for data in stream(handle, start, length):
        writer.write(data)
    writer.finish()


def copy_object(r: S3Request) -> webob.Response:
    bucket = r.bucket("WRITE")
    key = names.check_key(r.key or "")
    directive = r.req.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Unknown metadata directive.", "x-amz-metadata-directive", directive)
    tagging = r.req.headers.get("x-amz-tagging-directive", "COPY").upper()
    if tagging not in ("COPY", "REPLACE"):
        raise invalid_argument("Unknown tagging directive.", "x-amz-tagging-directive", tagging)
    extra = new_object_fields(r, bucket)
    source_bucket, info, handle = copy_source(r)
    if tagging == "COPY":
        extra["tags"] = dict(info.record.get("tags") or {})
    if (source_bucket.name == bucket.name and info.key == key and directive == "COPY"
            and versions.status(bucket) is None):
        handle.close()
        raise S3Error("InvalidRequest", "This copy request is illegal because it is trying to copy an object to "
                      "itself without changing the object's metadata, storage class, website redirect location "
                      "or encryption attributes.", 400)
    metadata, headers = (info.metadata, info.headers) if directive == "COPY" else (user_metadata(r), stored_headers(r))
    writer = bucket.writer()
    try:
        copy_into(writer, handle, 0, info.size)
        if writer.md5.hexdigest() != info.etag.split("-")[0] and "-" not in info.etag:
            raise S3Error("InternalError", "The source object changed while it was copied", 500)
        new = versions.commit(bucket, key, writer, info.etag, dict(metadata), dict(headers), extra)
    except BaseException:
        writer.discard()
        raise
    LOG.info("Copied %s/%s to %s/%s", source_bucket.name, info.key, bucket.name, key)
    response = xml_response("CopyObjectResult", [element("LastModified", iso_date(new.last_modified)),
                                                 element("ETag", new.quoted_etag)])
    version_header(response, bucket, new.record)
    if "version_id" in info.record:
        response.headers["x-amz-copy-source-version-id"] = versions.version_of(info.record)
    return response


_ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")


def get_attributes(r: S3Request) -> webob.Response:
    """GetObjectAttributes: the attributes named by x-amz-object-attributes, without the bytes."""
    wanted = [a.strip() for a in r.req.headers.get("x-amz-object-attributes", "").split(",") if a.strip()]
    if not wanted:
        raise invalid_argument("x-amz-object-attributes header specifying the attributes to be retrieved is either "
                               "missing or empty", "x-amz-object-attributes", "")
    for name in wanted:
        if name not in _ATTRIBUTES:
            raise invalid_argument("Invalid attribute name specified.", "x-amz-object-attributes", name[:100])
    bucket = r.store.get_bucket(r.bucket_name or "")
    info, handle = _open(bucket, names.check_key(r.key or ""), r.query.get("versionId"))
    handle.close()
    r.authorize_object(bucket, info.record, "READ")
    check_conditions(r.req.headers, info)
    parts = []
    if "ETag" in wanted:
        parts.append(element("ETag", info.etag))
    if "ObjectParts" in wanted and "-" in info.etag:
        parts.append(f"<ObjectParts>{element('TotalPartsCount', info.etag.rsplit('-', 1)[1])}</ObjectParts>")
    if "StorageClass" in wanted:
        parts.append(element("StorageClass", "STANDARD"))
    if "ObjectSize" in wanted:
        parts.append(element("ObjectSize", info.size))
    response = xml_response("GetObjectAttributesResponse", parts)
    response.headers["Last-Modified"] = http_date(info.last_modified)
    version_header(response, bucket, info.record)
    return response
