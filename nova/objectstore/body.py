"""Request bodies, streamed: plain, or aws-chunked (signed or unsigned, with trailers).

A ``Body`` yields the decoded payload a chunk at a time and checks, once the
last byte is in, everything the request promised about it: its length, its
SHA-256 (``x-amz-content-sha256``), each chunk's signature, Content-MD5 and
``x-amz-checksum-*`` values.  Callers commit what they wrote only after
``verify()`` returned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
from typing import Any, Callable, Iterator, Sequence

from nova.auth import signer
from nova.objectstore.errors import S3Error

try:  # ISA-L's CRC32 (carry-less multiplication): over ten times zlib's speed, the same values
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # no wheel for this platform: zlib's
    from zlib import crc32 as _crc32

_MAX_CHUNK_HEADER = 4096
_CHUNK_SIZE_RE = re.compile(r"^[0-9a-fA-F]{1,16}$")  # hex digits only: no sign, no '0x', no '_', no blanks
_MAX_TRAILER = 16384


def incomplete_body() -> S3Error:
    return S3Error("IncompleteBody", "You did not provide the number of bytes specified by the "
                   "Content-Length HTTP header", 400)


class _Crc32:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = _crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


_CHECKSUMS: dict[str, Callable[[], Any]] = {"crc32": _Crc32, "sha1": hashlib.sha1, "sha256": hashlib.sha256}


class _RawReader:
    """Reads exactly the declared number of bytes of wsgi.input (or to EOF when chunked by HTTP)."""

    def __init__(self, stream: Any, length: int | None, chunk_size: int) -> None:
        self.stream = stream
        self.remaining = length
        self.chunk_size = chunk_size

    def read(self, size: int) -> bytes:
        if self.remaining is not None:
            size = min(size, self.remaining)
            if size <= 0:
                return b""
        return self._count(self._guarded(self.stream.read, size))

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` (fewer bytes only at the body's end); the number of bytes read."""
        if self.remaining is not None:
            view = view[:self.remaining]
            if not view:
                return 0
        fill = getattr(self.stream, "readinto", None)
        if fill is None:
            data = self._guarded(self.stream.read, len(view))
            view[:len(data)] = data
            return len(self._count(data))
        return len(self._count(view[:self._guarded(fill, view)]))

    def _count(self, data: Any) -> Any:
        if self.remaining is not None:
            if not data:
                raise incomplete_body()
            self.remaining -= len(data)
        return data

    @staticmethod
    def _guarded(function: Callable[[Any], Any], argument: Any) -> Any:
        try:
            return function(argument)
        except ValueError:  # the server's Transfer-Encoding: chunked decoder met a malformed chunk
            raise S3Error("InvalidRequest", "The request body's chunked transfer encoding is malformed", 400) from None
        except TimeoutError:
            raise S3Error("RequestTimeout", "Your socket connection to the server was not read from or written to "
                          "within the timeout period.", 400) from None
        except OSError:  # the body ended before its chunked encoding or the connection did
            raise incomplete_body() from None


class _Window:
    """Bytes read ahead of an aws-chunked parser, consumed from the front: what is left is moved once per
    read from the socket, not once per chunk or line."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.pos = 0

    def available(self) -> int:
        return len(self.data) - self.pos

    def feed(self, more: bytes) -> None:
        if self.pos:
            del self.data[:self.pos]
            self.pos = 0
        self.data += more

    def take(self, size: int, skip: int = 0) -> bytes:
        """The next ``size`` bytes, then ``skip`` more are dropped (a line's CRLF)."""
        out = bytes(self.data[self.pos:self.pos + size])
        self.pos += size + skip
        return out


class Body:
    """The payload of one request."""

    def __init__(self, environ: dict[str, Any], payload: "Payload", chunk_size: int = 1024 * 1024) -> None:
        length = environ.get("CONTENT_LENGTH")
        try:
            declared = int(length) if length not in (None, "") else None
        except ValueError:
            raise S3Error("InvalidArgument", "Content-Length is not a number", 400) from None
        if declared is not None and declared < 0:
            raise S3Error("InvalidArgument", "Content-Length is negative", 400)
        chunked_http = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if declared is None and not chunked_http:
            declared = 0
        self.payload = payload
        self.raw = _RawReader(environ["wsgi.input"], declared, chunk_size)
        self.chunk_size = chunk_size
        self.size = 0
        self.md5 = hashlib.md5()
        # x-amz-content-sha256 of a plain body is checked on the decoded bytes (the same bytes).
        self.sha256 = hashlib.sha256() if payload.sha256 and not payload.chunked else None
        self.trailers: dict[str, str] = {}
        self._checksums: dict[str, list[Any]] = {}  # algorithm -> [running digest, expected base64 or None]
        for name, value in payload.checksum_headers.items():
            if name in _CHECKSUMS:
                self._checksums[name] = [_CHECKSUMS[name](), value]
        for name in environ.get("HTTP_X_AMZ_TRAILER", "").split(","):
            algorithm = name.strip().lower().removeprefix("x-amz-checksum-")
            if algorithm in _CHECKSUMS and algorithm not in self._checksums:
                self._checksums[algorithm] = [_CHECKSUMS[algorithm](), None]
        self._done = False
        decoded = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH")
        self.decoded_length = None
        if payload.chunked:
            try:
                self.decoded_length = int(decoded) if decoded is not None else None
            except ValueError:
                raise S3Error("InvalidArgument", "x-amz-decoded-content-length is not a number", 400) from None
            if self.decoded_length is None:
                raise S3Error("MissingContentLength", "You must provide the x-amz-decoded-content-length "
                              "HTTP header with aws-chunked bodies.", 411)

    @property
    def digests(self) -> list[Any]:
        """Every running digest of the body, MD5 first: one pass feeds them all."""
        extra = [self.sha256] if self.sha256 is not None else []
        return [self.md5, *extra, *(digest for digest, _ in self._checksums.values())]

    def chunks(self, buffers: Sequence[Any] = ()) -> Iterator[bytes | memoryview]:
        """The decoded payload, not hashed: the caller feeds ``digests`` (see ``TempWriter.absorb``).

        With ``buffers`` (writable, e.g. ``directio.buffers(2, ...)``) a plain body is read straight into them
        in turn and each chunk is a view of one, filled again ``len(buffers)`` chunks later: the caller is
        done with a chunk before it asks for the one that reuses its buffer.
        """
        source = self._chunked() if self.payload.chunked else self._plain(buffers)
        for data in source:
            self.size += len(data)
            yield data
        self._done = True

    def __iter__(self) -> Iterator[bytes]:
        digests = self.digests
        for data in self.chunks():
            for digest in digests:
                digest.update(data)
            yield data

    def read_all(self, limit: int) -> bytes:
        """The whole body, for small XML documents; refuses more than ``limit`` bytes."""
        parts, total = [], 0
        for data in self:
            total += len(data)
            if total > limit:
                raise S3Error("MaxMessageLengthExceeded", "Your request was too big.", 400)
            parts.append(data)
        self.verify()
        return b"".join(parts)

    def _plain(self, buffers: Sequence[Any]) -> Iterator[bytes | memoryview]:
        if buffers:
            views = [memoryview(buffer) for buffer in buffers]
            for turn in itertools.count():
                view = views[turn % len(views)]
                count = self.raw.readinto(view)
                if not count:
                    return
                yield view[:count]
        while True:
            data = self.raw.read(self.chunk_size)
            if not data:
                return
            yield data

    # -- aws-chunked ---------------------------------------------------------
    def _readline(self, window: "_Window", limit: int) -> bytes:
        while (end := window.data.find(b"\r\n", window.pos)) < 0:
            if window.available() > limit:
                raise S3Error("InvalidRequest", "aws-chunked body has a malformed chunk header", 400)
            more = self.raw.read(min(self.chunk_size, 65536))
            if not more:
                raise incomplete_body()
            window.feed(more)
        return window.take(end - window.pos, skip=2)

    def _take(self, window: "_Window", size: int) -> bytes:
        while window.available() < size:
            more = self.raw.read(max(self.chunk_size, size - window.available()))
            if not more:
                raise incomplete_body()
            window.feed(more)
        return window.take(size)

    def _chunked(self) -> Iterator[bytes]:
        window = _Window()
        previous = self.payload.seed_signature
        while True:
            line = self._readline(window, _MAX_CHUNK_HEADER)
            size_text, _, extension = line.decode("latin-1").partition(";")
            if not _CHUNK_SIZE_RE.match(size_text):
                raise S3Error("InvalidRequest", "aws-chunked body has a malformed chunk size", 400)
            size = int(size_text, 16)
            if size > max(self.chunk_size, 16 * 1024 * 1024):
                raise S3Error("InvalidRequest", "aws-chunked chunk is too large", 400)
            data = self._take(window, size)
            if self.payload.signed_chunks:
                name, _, given = extension.strip().partition("=")
                if name != "chunk-signature" or not given:
                    raise S3Error("IncompleteSignature", "aws-chunked chunk lacks its chunk-signature", 400)
                expected = self.payload.chunk_signer(previous, data)
                if not signer.constant_time_equal(given, expected):
                    raise S3Error("SignatureDoesNotMatch", "The chunk signature we calculated does not match "
                                  "the signature you provided.", 403)
                previous = given
            if size == 0:
                break
            self._take(window, 2)
            if self.decoded_length is not None and self.size + size > self.decoded_length:
                raise S3Error("InvalidRequest", "aws-chunked body is longer than x-amz-decoded-content-length", 400)
            yield data
        # Trailers (x-amz-checksum-*: value) end with an empty line; plain aws-chunked has just the CRLF.
        total = 0
        while True:
            line = self._readline(window, _MAX_TRAILER)
            total += len(line)
            if total > _MAX_TRAILER:
                raise S3Error("InvalidRequest", "aws-chunked trailers are too long", 400)
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            self.trailers[name.strip().lower()] = value.strip()
        for name, value in self.trailers.items():
            algorithm = name.removeprefix("x-amz-checksum-")
            if algorithm in self._checksums:
                self._checksums[algorithm][1] = value
        if self.raw.remaining:
            raise S3Error("InvalidRequest", "aws-chunked body has bytes after its last chunk", 400)

    def verify(self) -> None:
        """Raise unless the body matched every promise the request made."""
        if self.decoded_length is not None and self.size != self.decoded_length:
            raise incomplete_body()
        if self.payload.sha256 and not self.payload.chunked:
            if self.sha256 is None or self.sha256.hexdigest() != self.payload.sha256:
                raise S3Error("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does "
                              "not match what was computed.", 400)
        if self.payload.content_md5 is not None:
            if self.md5.digest() != self.payload.content_md5:
                raise S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.", 400)
        for algorithm, (digest, expected) in self._checksums.items():
            if expected is not None and base64.b64encode(digest.digest()).decode() != expected:
                raise S3Error("BadDigest", f"The {algorithm.upper()} you specified did not match the "
                              "calculated checksum.", 400)


class Payload:
    """What the request says about its body (from headers and the authenticator)."""

    def __init__(self, headers: Any) -> None:
        self.sha256: str | None = None
        self.chunked = False
        self.signed_chunks = False
        self.seed_signature = ""
        self.chunk_signer: Callable[[str, bytes], str] = lambda previous, data: ""
        md5 = headers.get("Content-MD5")
        self.content_md5: bytes | None = None
        if md5 is not None:
            try:
                self.content_md5 = base64.b64decode(md5.strip(), validate=True)
            except (binascii.Error, ValueError):
                self.content_md5 = b""
            if len(self.content_md5) != 16:
                raise S3Error("InvalidDigest", "The Content-MD5 you specified is not valid.", 400)
        self.checksum_headers: dict[str, str] = {}
        for name, value in headers.items():
            lname = name.lower()
            if lname.startswith("x-amz-checksum-") and lname != "x-amz-checksum-type":
                self.checksum_headers[lname.removeprefix("x-amz-checksum-")] = value.strip()
