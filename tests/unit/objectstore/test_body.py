"""Plain request bodies read straight into the caller's buffers, checked as when read into new bytes."""

from __future__ import annotations

import hashlib
import io
import os
import zlib

import pytest

from nova.objectstore import body as body_module
from nova.objectstore import directio
from nova.objectstore.body import Body, Payload
from nova.objectstore.errors import S3Error


class _ReadOnly:
    """A stream with ``read`` only (no ``readinto``), as some WSGI servers give."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


def _body(data: bytes, stream=None, length: int | None = None, sha256: str | None = None) -> Body:
    headers = {"x-amz-content-sha256": sha256} if sha256 else {}
    payload = Payload(headers)
    payload.sha256 = sha256
    environ = {"wsgi.input": stream if stream is not None else io.BytesIO(data),
               "CONTENT_LENGTH": str(len(data) if length is None else length)}
    return Body(environ, payload, chunk_size=4096)


@pytest.mark.parametrize("reader", ["readinto", "read-only"])
def test_chunks_land_in_the_buffers_in_turn(reader):
    data = os.urandom(3 * 4096 + 100)
    stream = _ReadOnly(data) if reader == "read-only" else None
    body = _body(data, stream, sha256=hashlib.sha256(data).hexdigest())
    buffers = directio.buffers(2, 4096)
    seen = []
    for turn, chunk in enumerate(body.chunks(buffers)):
        assert isinstance(chunk, memoryview) and chunk.obj is buffers[turn % 2]
        seen.append(bytes(chunk))
        for digest in body.digests:
            digest.update(chunk)
    assert [len(c) for c in seen] == [4096, 4096, 4096, 100]
    assert b"".join(seen) == data and body.size == len(data)
    body.verify()
    assert body.md5.hexdigest() == hashlib.md5(data).hexdigest()


def test_a_body_shorter_than_its_content_length_is_incomplete():
    data = os.urandom(5000)
    body = _body(data, length=9000)
    with pytest.raises(S3Error) as err:
        for _chunk in body.chunks(directio.buffers(2, 4096)):
            pass
    assert err.value.code == "IncompleteBody"


def test_a_wrong_sha256_is_refused_after_a_buffered_read():
    data = os.urandom(10000)
    body = _body(data, sha256=hashlib.sha256(b"other").hexdigest())
    for chunk in body.chunks(directio.buffers(2, 4096)):
        for digest in body.digests:
            digest.update(chunk)
    with pytest.raises(S3Error) as err:
        body.verify()
    assert err.value.code == "XAmzContentSHA256Mismatch"


def test_the_crc32_of_a_body_read_in_pieces_is_zlibs_of_the_whole():
    data = os.urandom(100_000)
    crc = body_module._Crc32()
    for start in range(0, len(data), 7_001):  # pieces that are neither aligned nor equal
        crc.update(memoryview(data)[start:start + 7_001])
    assert crc.digest() == zlib.crc32(data).to_bytes(4, "big")
