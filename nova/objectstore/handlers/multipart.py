"""Multipart uploads: create, upload part (and part copy), complete, abort, list parts and uploads.

An upload lives in ``<bucket>/uploads/<id>/``: ``upload.json`` (key,
metadata, initiator) and, per part, ``part-NNNNN.json`` naming the part's
bytes.  Completing concatenates the listed parts into one temporary file
and commits it like any object; the object's ETag is the MD5 of the parts'
binary MD5s followed by ``-<number of parts>``, as S3 computes it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import time
import uuid

import webob

from nova import flags
from nova.objectstore import names, versions
from nova.objectstore.errors import S3Error, invalid_argument, malformed_xml, no_such_upload
from nova.objectstore.handlers import objects
from nova.objectstore.handlers.bucket import MAX_XML_BODY
from nova.objectstore.request import S3Request
from nova.objectstore.store import Bucket, iso_date, read_json, unique_name, write_json_atomic
from nova.objectstore.xmlutil import element, owner, parse, xml_response

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_integer("s3_min_part_size", 5 * 1024 * 1024, "Smallest part but the last of a multipart upload, bytes",
                     lower_bound=0)

MAX_PARTS = 10000
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def _upload_dir(bucket: Bucket, upload_id: str, key: str | None = None) -> tuple[str, dict]:
    if not _UPLOAD_ID.match(upload_id):
        raise no_such_upload(upload_id)
    path = os.path.join(bucket.uploads_dir, upload_id)
    record = read_json(os.path.join(path, "upload.json"))
    if record is None or (key is not None and record["key"] != key):
        raise no_such_upload(upload_id)
    return path, record


def _part_number(value: str | None) -> int:
    try:
        number = int(value or "")
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PARTS:
        raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber",
                               value or "")
    return number


def _parts(path: str) -> dict[int, dict]:
    found = {}
    for name in os.listdir(path):
        if name.startswith("part-") and name.endswith(".json"):
            record = read_json(os.path.join(path, name))
            if record is not None:
                found[int(name[5:10])] = record
    return found


def create(r: S3Request) -> webob.Response:
    bucket = r.bucket("WRITE")
    key = names.check_key(r.key or "")
    extra = objects.new_object_fields(r, bucket)
    upload_id = uuid.uuid4().hex
    path = os.path.join(bucket.uploads_dir, upload_id)
    os.makedirs(path)
    write_json_atomic(os.path.join(path, "upload.json"), {
        "key": key, "metadata": objects.user_metadata(r), "headers": objects.stored_headers(r),
        "initiated": time.time(), "user_id": r.ctxt.user_id, "extra": extra}, bucket.tmp_dir)
    LOG.info("Started multipart upload %s for %s/%s", upload_id, bucket.name, key)
    return xml_response("InitiateMultipartUploadResult", [element("Bucket", bucket.name), element("Key", key),
                                                          element("UploadId", upload_id)])


def _store_part(bucket: Bucket, path: str, number: int, writer, etag: str) -> None:
    data_name = f"part-{number:05d}.{unique_name()}"
    os.rename(writer.path, os.path.join(path, data_name))
    meta_path = os.path.join(path, f"part-{number:05d}.json")
    old = read_json(meta_path)
    write_json_atomic(meta_path, {"etag": etag, "size": writer.size, "last_modified": time.time(),
                                  "data": data_name}, bucket.tmp_dir)
    if old:
        try:
            os.unlink(os.path.join(path, old["data"]))
        except FileNotFoundError:
            pass


def upload_part(r: S3Request) -> webob.Response:
    bucket = r.bucket("WRITE")
    key = names.check_key(r.key or "")
    upload_id = r.query.get("uploadId", "")
    number = _part_number(r.query.get("partNumber"))
    path, _ = _upload_dir(bucket, upload_id, key)
    writer = bucket.writer()
    copying = "x-amz-copy-source" in r.req.headers
    try:
        if copying:
            _, info, handle = objects.copy_source(r)
            start, length = 0, info.size
            wanted = r.req.headers.get("x-amz-copy-source-range")
            if wanted:
                byte_range = objects.parse_range(wanted, info.size)
                if byte_range is None:
                    handle.close()
                    raise invalid_argument("The x-amz-copy-source-range value must be of the form "
                                           "bytes=first-last", "x-amz-copy-source-range", wanted)
                start, length = byte_range[0], byte_range[1] - byte_range[0] + 1
            objects.copy_into(writer, handle, start, length)
        else:
            objects.receive(r, writer)
        etag = writer.md5.hexdigest()
        if not os.path.isdir(path):
            raise no_such_upload(upload_id)
        _store_part(bucket, path, number, writer, etag)
    except BaseException:
        writer.discard()
        raise
    if copying:
        return xml_response("CopyPartResult", [element("LastModified", iso_date(time.time())),
                                               element("ETag", f'"{etag}"')])
    response = webob.Response(status=200)
    response.headers["ETag"] = f'"{etag}"'
    return response


def complete(r: S3Request) -> webob.Response:
    bucket = r.bucket("WRITE")
    key = names.check_key(r.key or "")
    upload_id = r.query.get("uploadId", "")
    path, record = _upload_dir(bucket, upload_id, key)
    tree = parse(r.body(65536).read_all(MAX_XML_BODY), "CompleteMultipartUpload")
    requested = []
    for node in tree.findall("Part"):
        number_text, etag = node.findtext("PartNumber"), node.findtext("ETag")
        if number_text is None or etag is None:
            raise malformed_xml()
        requested.append((_part_number(number_text.strip()), etag.strip().strip('"')))
    if not requested:
        raise malformed_xml()
    numbers = [n for n, _ in requested]
    if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        raise S3Error("InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be "
                      "specified in order by part number.", 400, UploadId=upload_id)
    stored = _parts(path)
    for index, (number, etag) in enumerate(requested):
        part = stored.get(number)
        if part is None or part["etag"] != etag:
            raise S3Error("InvalidPart", "One or more of the specified parts could not be found. The part may "
                          "not have been uploaded, or the specified entity tag may not match the part's entity "
                          "tag.", 400, UploadId=upload_id, PartNumber=str(number), ETag=etag)
        if index < len(requested) - 1 and part["size"] < FLAGS.s3_min_part_size:
            raise S3Error("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object "
                          "size.", 400, ProposedSize=str(part["size"]), MinSizeAllowed=str(FLAGS.s3_min_part_size),
                          PartNumber=str(number), ETag=etag)
    writer = bucket.writer(max_size=FLAGS.s3_max_object_size * MAX_PARTS)
    combined = hashlib.md5()
    try:
        for number, etag in requested:
            combined.update(bytes.fromhex(etag))
            writer.append_file(os.path.join(path, stored[number]["data"]))
        writer.finish()
        final_etag = f"{combined.hexdigest()}-{len(requested)}"
        info = versions.commit(bucket, key, writer, final_etag, record["metadata"], record["headers"],
                               record.get("extra"))
    except BaseException:
        writer.discard()
        raise
    bucket.retire(path)
    LOG.info("Completed multipart upload %s: %s/%s, %d parts, %d bytes", upload_id, bucket.name, key,
             len(requested), info.size)
    location = f"{r.req.host_url}/{bucket.name}/{key}"
    response = xml_response("CompleteMultipartUploadResult", [
        element("Location", location), element("Bucket", bucket.name), element("Key", key),
        element("ETag", info.quoted_etag)])
    objects.version_header(response, bucket, info.record)
    return response


def abort(r: S3Request) -> webob.Response:
    bucket = r.bucket("WRITE")
    key = names.check_key(r.key or "")
    upload_id = r.query.get("uploadId", "")
    path, _ = _upload_dir(bucket, upload_id, key)
    doomed = os.path.join(bucket.tmp_dir, f"aborted-{upload_id}")
    os.rename(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
    LOG.info("Aborted multipart upload %s", upload_id)
    return webob.Response(status=204)


def abort_all(bucket: Bucket) -> None:
    """Drop every upload in progress (before the bucket is deleted)."""
    if os.path.isdir(bucket.uploads_dir):
        for name in os.listdir(bucket.uploads_dir):
            bucket.retire(os.path.join(bucket.uploads_dir, name))


def list_parts(r: S3Request) -> webob.Response:
    bucket = r.bucket()
    key = names.check_key(r.key or "")
    upload_id = r.query.get("uploadId", "")
    path, record = _upload_dir(bucket, upload_id, key)
    try:
        marker = int(r.query.get("part-number-marker", "0") or 0)
        max_parts = min(int(r.query.get("max-parts", "1000")), 1000)
    except ValueError:
        raise invalid_argument("part-number-marker and max-parts must be integers") from None
    numbers = [n for n in sorted(_parts(path)) if n > marker]
    stored = _parts(path)
    shown, truncated = numbers[:max_parts], len(numbers) > max_parts
    parts = [element("Bucket", bucket.name), element("Key", key), element("UploadId", upload_id),
             f"<Initiator>{element('ID', record.get('user_id') or '')}</Initiator>", owner(bucket.project_id),
             element("StorageClass", "STANDARD"), element("PartNumberMarker", marker),
             element("MaxParts", max_parts), element("IsTruncated", truncated)]
    if shown:
        parts.append(element("NextPartNumberMarker", shown[-1]))
    for number in shown:
        part = stored[number]
        parts.append(f"<Part>{element('PartNumber', number)}{element('LastModified', iso_date(part['last_modified']))}"
                     f"{element('ETag', chr(34) + part['etag'] + chr(34))}{element('Size', part['size'])}</Part>")
    return xml_response("ListPartsResult", parts)


def list_uploads(r: S3Request) -> webob.Response:
    bucket = r.bucket()
    prefix = r.query.get("prefix", "")
    entries = []
    for upload_id in sorted(os.listdir(bucket.uploads_dir)) if os.path.isdir(bucket.uploads_dir) else []:
        record = read_json(os.path.join(bucket.uploads_dir, upload_id, "upload.json"))
        if record and record["key"].startswith(prefix):
            entries.append((record["key"], upload_id, record))
    entries.sort()
    parts = [element("Bucket", bucket.name), element("Prefix", prefix), element("MaxUploads", 1000),
             element("IsTruncated", False)]
    for key, upload_id, record in entries:
        parts.append(f"<Upload>{element('Key', key)}{element('UploadId', upload_id)}"
                     f"<Initiator>{element('ID', record.get('user_id') or '')}</Initiator>"
                     f"{owner(bucket.project_id)}{element('StorageClass', 'STANDARD')}"
                     f"{element('Initiated', iso_date(record['initiated']))}</Upload>")
    return xml_response("ListMultipartUploadsResult", parts)
