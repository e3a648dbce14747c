"""S3 errors: a code, an HTTP status and a message, rendered as S3's XML <Error>."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

# Characters XML 1.0 cannot carry at all, even escaped (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` as XML character data, with what XML cannot hold shown as ``\\xNN`` or ``\\uNNNN``."""
    return escape(_NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                               else f"\\u{ord(m.group()):04x}", value))


class S3Error(Exception):
    """An error the client sees as ``<Error><Code>...``."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra
        self.headers: dict[str, str] = {}  # response headers the error carries (x-amz-delete-marker...)

    def with_headers(self, headers: dict[str, str]) -> "S3Error":
        self.headers.update(headers)
        return self

    def to_xml(self, resource: str, request_id: str) -> bytes:
        parts = [f"<Code>{xml_text(self.code)}</Code>", f"<Message>{xml_text(self.message)}</Message>"]
        parts += [f"<{name}>{xml_text(str(value))}</{name}>" for name, value in self.extra.items()]
        parts += [f"<Resource>{xml_text(resource)}</Resource>", f"<RequestId>{xml_text(request_id)}</RequestId>"]
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>").encode("utf-8")


def access_denied(message: str = "Access Denied") -> S3Error:
    return S3Error("AccessDenied", message, 403)


def no_such_bucket(bucket: str) -> S3Error:
    return S3Error("NoSuchBucket", "The specified bucket does not exist", 404, BucketName=bucket)


def no_such_key(key: str) -> S3Error:
    return S3Error("NoSuchKey", "The specified key does not exist.", 404, Key=key)


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error("NoSuchUpload", "The specified multipart upload does not exist.", 404, UploadId=upload_id)


def invalid_argument(message: str, name: str | None = None, value: str | None = None) -> S3Error:
    extra = {}
    if name is not None:
        extra = {"ArgumentName": name, "ArgumentValue": "" if value is None else value}
    return S3Error("InvalidArgument", message, 400, **extra)


def malformed_xml() -> S3Error:
    return S3Error("MalformedXML", "The XML you provided was not well-formed or did not validate "
                   "against our published schema.", 400)
