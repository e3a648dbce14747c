"""Bucket versioning: Get/PutBucketVersioning and ListObjectVersions."""

from __future__ import annotations

import logging

import webob

from nova.objectstore import settings, versions
from nova.objectstore.errors import S3Error, invalid_argument, malformed_xml
from nova.objectstore.handlers.bucket import MAX_XML_BODY, encoder, listing_fields, parse_max_keys
from nova.objectstore.request import S3Request
from nova.objectstore.store import iso_date
from nova.objectstore.xmlutil import element, owner, parse, xml_response

LOG = logging.getLogger(__name__)


def get_versioning(r: S3Request) -> webob.Response:
    state = versions.status(r.bucket())
    return xml_response("VersioningConfiguration", [element("Status", state)] if state else [])


def put_versioning(r: S3Request) -> webob.Response:
    bucket = r.bucket()
    tree = parse(r.body(65536).read_all(MAX_XML_BODY), "VersioningConfiguration")
    state = tree.findtext("Status")
    if state not in ("Enabled", "Suspended"):
        raise malformed_xml()
    if (tree.findtext("MfaDelete") or "Disabled") != "Disabled":
        raise S3Error("InvalidArgument", "MFA Delete is not supported by nova-objectstore", 400)
    if state == "Suspended" and versions.status(bucket) is None:
        LOG.info("Versioning of %s suspended before it was ever enabled", bucket.name)
    settings.put(bucket, "versioning", state)
    LOG.info("Versioning of bucket %s: %s", bucket.name, state)
    return webob.Response(status=200)


def list_versions(r: S3Request) -> webob.Response:
    """Every version and delete marker, key by key, newest first (null ids on never-versioned buckets)."""
    bucket = r.bucket("READ")
    encoding, enc = encoder(r)
    prefix, delimiter, limit = r.query.get("prefix", ""), r.query.get("delimiter", ""), parse_max_keys(r)
    key_marker, version_marker = r.query.get("key-marker", ""), r.query.get("version-id-marker", "")
    if version_marker and not key_marker:
        raise invalid_argument("A version-id marker cannot be specified without a key marker.", "version-id-marker",
                               version_marker)
    entries, prefixes, truncated = [], [], False
    skipping = bool(version_marker)
    next_marker = ("", "")
    for record, _, latest in versions.all_versions(bucket):
        key, version_id = record["key"], versions.version_of(record)
        if not key.startswith(prefix) or (key_marker and key < key_marker):
            continue
        if key_marker and key == key_marker:
            if not version_marker:
                continue
            if skipping:
                skipping = version_id != version_marker
                continue
        common = None
        if delimiter and (cut := key.find(delimiter, len(prefix))) >= 0:
            common = key[:cut + len(delimiter)]
            if (prefixes and prefixes[-1] == common) or (key_marker and common <= key_marker):
                continue
        if len(entries) + len(prefixes) >= limit:
            truncated = True
            break
        if common is not None:
            prefixes.append(common)
            next_marker = (common, "")
            continue
        entries.append((record, latest))
        next_marker = (key, version_id)
    parts = [element("Name", bucket.name), element("Prefix", enc(prefix)), element("KeyMarker", enc(key_marker)),
             element("VersionIdMarker", version_marker)]
    if truncated:
        parts += [element("NextKeyMarker", enc(next_marker[0])), element("NextVersionIdMarker", next_marker[1])]
    parts += listing_fields(limit, delimiter, encoding, enc, truncated)
    for record, latest in entries:
        common = (element("Key", enc(record["key"])) + element("VersionId", versions.version_of(record))
                  + element("IsLatest", latest) + element("LastModified", iso_date(record["last_modified"])))
        who = owner(record.get("owner") or bucket.project_id)
        if record.get("delete_marker"):
            parts.append(f"<DeleteMarker>{common}{who}</DeleteMarker>")
        else:
            parts.append(f"<Version>{common}{element('ETag', chr(34) + record['etag'] + chr(34))}"
                         f"{element('Size', record['size'])}{element('StorageClass', 'STANDARD')}{who}</Version>")
    parts += [f"<CommonPrefixes>{element('Prefix', enc(p))}</CommonPrefixes>" for p in prefixes]
    return xml_response("ListVersionsResult", parts)
