"""Operations on objects: PutObject, GetObject, HeadObject, DeleteObject, CopyObject."""

from __future__ import annotations

import email.utils
import logging
import re
import urllib.parse
from typing import Iterator

import webob

from nova import flags
from nova.objectstore import names
from nova.objectstore.errors import S3Error, invalid_argument, no_such_key
from nova.objectstore.request import S3Request
from nova.objectstore.store import STORED_HEADERS, Bucket, ObjectInfo, TempWriter, http_date, iso_date
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


def receive(r: S3Request, writer: TempWriter) -> None:
    """Stream the request body into ``writer`` and check it; the caller commits or discards."""
    environ = r.req.environ
    declared = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH") or environ.get("CONTENT_LENGTH")
    if not declared and "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        raise S3Error("MissingContentLength", "You must provide the Content-Length HTTP header.", 411)
    if declared and declared.isdigit() and int(declared) > writer.max_size:
        raise S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400,
                      MaxSizeAllowed=str(writer.max_size))
    body = r.body(FLAGS.s3_io_chunk_size)
    for data in body:
        writer.write(data)
    body.verify()
    writer.finish()


def put_object(r: S3Request) -> webob.Response:
    bucket = r.bucket()
    key = names.check_key(r.key or "")
    metadata, headers = user_metadata(r), stored_headers(r)
    writer = bucket.writer()
    try:
        receive(r, writer)
        info = bucket.commit(key, writer, writer.md5.hexdigest(), metadata, headers)
    except BaseException:
        writer.discard()
        raise
    LOG.info("Stored %s/%s (%d bytes)", bucket.name, key, info.size)
    response = webob.Response(status=200)
    response.headers["ETag"] = info.quoted_etag
    for name, value in r.payload.checksum_headers.items():
        response.headers[f"x-amz-checksum-{name}"] = value
    return response


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


def _open(bucket: Bucket, key: str) -> tuple[ObjectInfo, object]:
    for _ in range(3):
        info = bucket.get(key)
        try:
            return info, open(info.data, "rb")
        except FileNotFoundError:
            continue  # replaced between reading its metadata and opening its bytes
    raise no_such_key(key)


def _stream(handle, start: int, length: int) -> Iterator[bytes]:
    chunk = FLAGS.s3_io_chunk_size
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            data = handle.read(min(chunk, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()


def _object_headers(response: webob.Response, info: ObjectInfo) -> None:
    response.headers["ETag"] = info.quoted_etag
    response.headers["Last-Modified"] = http_date(info.last_modified)
    response.headers["Accept-Ranges"] = "bytes"
    for name, value in info.headers.items():
        response.headers[name] = value
    for name, value in info.metadata.items():
        response.headers[f"x-amz-meta-{name}"] = value


def get_object(r: S3Request, head: bool = False) -> webob.Response:
    bucket = r.bucket()
    key = names.check_key(r.key or "")
    info, handle = _open(bucket, key)
    try:
        check_conditions(r.req.headers, info)
        byte_range = parse_range(r.req.headers.get("Range"), info.size)
    except S3Error:
        handle.close()
        raise
    response = webob.Response(status=200, conditional_response=False)
    _object_headers(response, info)
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
    response.app_iter = _stream(handle, start, length)
    response.headers["Content-Length"] = str(length)
    return response


def delete_object(r: S3Request) -> webob.Response:
    bucket = r.bucket()
    key = names.check_key(r.key or "")
    if bucket.delete(key):
        LOG.info("Deleted %s/%s", bucket.name, key)
    return webob.Response(status=204)


def copy_source(r: S3Request) -> tuple[Bucket, ObjectInfo, object]:
    """The bucket, object and open bytes named by x-amz-copy-source (which must be readable)."""
    raw = r.req.headers.get("x-amz-copy-source", "")
    source = urllib.parse.unquote(raw.split("?versionId=")[0]).lstrip("/")
    bucket_name, _, key = source.partition("/")
    if not bucket_name or not key:
        raise invalid_argument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                               "x-amz-copy-source", raw[:200])
    names.check_key(key)
    bucket = r.store.get_bucket(bucket_name)
    r.authorize(bucket)
    info, handle = _open(bucket, key)
    try:
        check_conditions(r.req.headers, info, prefix="x-amz-copy-source-", read=False)
    except S3Error:
        handle.close()
        raise
    return bucket, info, handle


def copy_into(writer: TempWriter, handle, start: int, length: int) -> None:
    for data in _stream(handle, start, length):
        writer.write(data)
    writer.finish()


def copy_object(r: S3Request) -> webob.Response:
    bucket = r.bucket()
    key = names.check_key(r.key or "")
    directive = r.req.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Unknown metadata directive.", "x-amz-metadata-directive", directive)
    source_bucket, info, handle = copy_source(r)
    if source_bucket.name == bucket.name and info.key == key and directive == "COPY":
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
        new = bucket.commit(key, writer, info.etag, dict(metadata), dict(headers))
    except BaseException:
        writer.discard()
        raise
    LOG.info("Copied %s/%s to %s/%s", source_bucket.name, info.key, bucket.name, key)
    return xml_response("CopyObjectResult", [element("LastModified", iso_date(new.last_modified)),
                                             element("ETag", new.quoted_etag)])
