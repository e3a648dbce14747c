"""Strict validation of bucket names and object keys.

Bucket names follow S3's DNS-compatible rules, so a bucket name is always a
single safe path component.  Keys never become paths on disk (objects are
stored under a hash of the key), but keys that would be dangerous when a
client mirrors a bucket to a file system (``..`` segments, absolute paths,
NUL and other control characters) are refused anyway.
"""

from __future__ import annotations

import re

from nova.objectstore.errors import S3Error, invalid_argument

MAX_KEY_BYTES = 1024
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_bucket_name(name: str) -> str:
    """Return ``name`` if it is a valid bucket name, else raise InvalidBucketName."""
    if (not _BUCKET_RE.match(name) or ".." in name or ".-" in name or "-." in name
            or _IP_RE.match(name) or name.startswith("xn--") or name.endswith("-s3alias")):
        raise S3Error("InvalidBucketName", "The specified bucket is not valid.", 400, BucketName=name[:300])
    return name


def check_key(key: str) -> str:
    """Return ``key`` if it is an acceptable object key."""
    if not key:
        raise invalid_argument("Object key must not be empty", "key", "")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", "Your key is too long", 400, MaxSizeAllowed=str(MAX_KEY_BYTES))
    if _CONTROL.search(key):
        raise invalid_argument("Object key must not contain NUL or control characters", "key", key.encode(
            "unicode_escape").decode("ascii")[:200])
    if key.startswith("/"):
        raise invalid_argument("Object key must not be an absolute path", "key", key[:200])
    if any(segment in (".", "..") for segment in key.split("/")):
        raise invalid_argument("Object key must not contain '.' or '..' path segments", "key", key[:200])
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid_argument("Object key must be valid UTF-8", "key", "") from None
    return key
