"""nova.rpc.wire without a broker: the buffered reader, and JSON as kombu's serializer does it."""

from __future__ import annotations

import datetime
import decimal
import errno
import socket
import struct

import kombu.exceptions
import pytest
from kombu import serialization

from nova.rpc import wire


class FakeTransport:
    """What ``_BufferedRead`` uses of a py-amqp transport; ``chunks`` are what successive recv calls return."""

    raise_on_initial_eintr = True

    def __init__(self, chunks: list[object]) -> None:
        self.chunks = chunks
        self.asked: list[int] = []
        self._read_buffer = b""

    def _quick_recv(self, size: int) -> bytes:
        self.asked.append(size)
        chunk = self.chunks.pop(0)
        if isinstance(chunk, BaseException):
            raise chunk
        return chunk[:size]


def frame(payload: bytes) -> bytes:
    return struct.pack(">BHI", 1, 1, len(payload)) + payload + b"\xce"


def read_frame(read) -> bytes:
    """What py-amqp's read_frame asks of ``_read``: header, payload, end octet."""
    _, _, size = struct.unpack(">BHI", read(7, True))
    payload = read(size)
    assert read(1) == b"\xce"
    return payload


def test_many_frames_arriving_together_cost_one_recv():
    frames = [frame(b"x" * n) for n in (10, 300, 0, 2000)]
    transport = FakeTransport([b"".join(frames)])
    read = wire._BufferedRead(transport)
    assert [read_frame(read) for _ in frames] == [b"x" * 10, b"x" * 300, b"", b"x" * 2000]
    assert transport.asked == [wire.READ_CHUNK]
    assert read.pending == 0


def test_a_frame_split_over_several_recvs_is_put_together():
    data = frame(b"abcdef" * 50)
    transport = FakeTransport([data[:3], data[3:100], data[100:]])
    read = wire._BufferedRead(transport)
    assert read_frame(read) == b"abcdef" * 50
    assert len(transport.asked) == 3


def test_a_frame_larger_than_a_chunk_is_read_whole():
    payload = bytes(range(256)) * (wire.READ_CHUNK // 256 * 3)
    data = frame(payload)
    transport = FakeTransport([data[i:i + 50000] for i in range(0, len(data), 50000)])
    read = wire._BufferedRead(transport)
    assert read_frame(read) == payload


def test_an_interrupted_recv_is_retried_and_a_timeout_keeps_what_was_read():
    data = frame(b"hello")
    eintr = OSError(errno.EINTR, "interrupted")
    transport = FakeTransport([data[:9], eintr, socket.timeout("timed out")])
    read = wire._BufferedRead(transport)
    assert read(7, True) == data[:7]
    with pytest.raises(socket.timeout):
        read(5)
    # Unparsed bytes wait in _read_buffer, where py-amqp's read_frame also puts back a half-read frame.
    assert transport._read_buffer == data[7:9]
    transport._read_buffer = data[:7] + transport._read_buffer
    transport.chunks.append(data[9:])
    assert read_frame(read) == b"hello"


def test_eagain_on_a_frame_header_is_a_timeout_as_in_py_amqp():
    transport = FakeTransport([OSError(errno.EAGAIN, "again")])
    with pytest.raises(socket.timeout):
        wire._BufferedRead(transport)(7, True)


def test_a_closed_socket_is_an_error():
    transport = FakeTransport([b""])
    with pytest.raises(OSError, match="closed"):
        wire._BufferedRead(transport)(7, True)


def test_encode_and_decode_match_kombus_json_serializer():
    body = {"result": {"when": datetime.datetime(2026, 12, 3, 13, 0, 1, 5), "n": 1, "d": decimal.Decimal("1.5"),
                       "s": "snow \u2603", "l": [None, True]}}
    content_type, content_encoding, kombu_payload = serialization.dumps(body, serializer="json")
    assert wire.encode(body) == kombu_payload.encode(content_encoding)
    assert (content_type, content_encoding) == (wire.CONTENT_TYPE, wire.CONTENT_ENCODING)

    class Message:
        def __init__(self, payload: bytes) -> None:
            self.body, self.content_type, self.content_encoding = payload, content_type, content_encoding

    assert wire.decode(Message(wire.encode(body))) == serialization.loads(kombu_payload, content_type,
                                                                          content_encoding)


def test_what_json_cannot_carry_is_an_encode_error():
    with pytest.raises(kombu.exceptions.EncodeError):
        wire.encode({"result": object()})


def test_a_malformed_body_is_a_decode_error():
    class Message:
        body, content_type, content_encoding = b"{not json", wire.CONTENT_TYPE, wire.CONTENT_ENCODING

    with pytest.raises(kombu.exceptions.DecodeError):
        wire.decode(Message())
