"""nova.rpc.wire without a broker: the buffered reader, JSON as kombu's serializer does it, frames as py-amqp
writes them."""

from __future__ import annotations

import datetime
import decimal
import errno
import socket
import struct

import amqp
import amqp.exceptions
import amqp.method_framing
import amqp.serialization
import amqp.spec
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


class FakeConnection:
    """What py-amqp's frame writer and nova.rpc.wire use of a connection; ``written`` collects the bytes."""

    frame_max = 131072

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.bytes_sent = 0
        self._transport = self
        self.frame_writer = amqp.method_framing.frame_writer(self, self)

    def write(self, data) -> None:
        self.written.append(bytes(data))


class FakeChannel:
    channel_id = 3

    def __init__(self) -> None:
        self.connection = FakeConnection()

    def send_method(self, sig, format=None, args=None, content=None):
        self.connection.frame_writer(1, self.channel_id, sig, amqp.serialization.dumps(format, args), content)

    def basic_ack(self, delivery_tag, multiple=False):
        self.send_method(amqp.spec.Basic.Ack, "Lb", (delivery_tag, multiple))


def py_amqp_frames(body: bytes, exchange: str, routing_key: str, **properties) -> bytes:
    """The bytes py-amqp's own encoder writes for the same publish."""
    channel = FakeChannel()
    message = amqp.Message(body, content_type=wire.CONTENT_TYPE, content_encoding=wire.CONTENT_ENCODING,
                           **properties)
    channel.send_method(amqp.spec.Basic.Publish, "Bssbb", (0, exchange, routing_key, False, False), message)
    return b"".join(channel.connection.written)


@pytest.mark.parametrize("properties", [
    {"delivery_mode": 1},
    {"delivery_mode": 2},
    {"delivery_mode": 1, "correlation_id": "c" * 32},
    {"delivery_mode": 1, "correlation_id": "c" * 32, "reply_to": "reply_abc"},
    {"delivery_mode": 1, "reply_to": "r\u00e9ponse"},
])
def test_publish_writes_the_bytes_py_amqp_would(properties):
    body = wire.encode({"method": "echo", "args": {"value": "\u2603" * 20}})
    channel = FakeChannel()
    wire.publish(channel, body, "nova", "compute.host-a", **properties)
    assert channel.connection.written == [py_amqp_frames(body, "nova", "compute.host-a", **properties)]
    assert channel.connection.bytes_sent == 1


def test_expiration_is_sent_in_milliseconds_as_kombu_does():
    channel = FakeChannel()
    wire.publish(channel, b"{}", "nova", "q", delivery_mode=1, reply_to="r", correlation_id="c", expiration=1.5)
    assert channel.connection.written == [py_amqp_frames(b"{}", "nova", "q", delivery_mode=1, reply_to="r",
                                                         correlation_id="c", expiration="1500")]


def test_a_reply_and_its_ack_are_one_write_with_the_bytes_py_amqp_would_send():
    channel = FakeChannel()
    wire.publish_and_ack(channel, b'{"result": 1}', "reply_x", 2**40 + 7, correlation_id="abc")
    expected = FakeChannel()
    expected.connection.written.append(py_amqp_frames(b'{"result": 1}', "", "reply_x", delivery_mode=1,
                                                      correlation_id="abc"))
    expected.basic_ack(2**40 + 7)
    assert channel.connection.written == [b"".join(expected.connection.written)]


@pytest.mark.parametrize("case", ["big body", "other property", "long key"])
def test_what_the_short_path_does_not_cover_goes_through_py_amqp(case):
    body, key, properties = b"{}", "q", {"delivery_mode": 1}
    if case == "big body":
        body = b"x" * (FakeConnection.frame_max + 10)
    elif case == "other property":
        properties["priority"] = 5
    else:
        key = "k" * 300
    channel = FakeChannel()
    if case == "long key":
        with pytest.raises(Exception):  # py-amqp refuses a short string over 255 bytes
            wire.publish(channel, body, "", key, **properties)
        return
    wire.publish(channel, body, "", key, **properties)
    assert b"".join(channel.connection.written) == py_amqp_frames(body, "", key, **properties)


def test_an_ack_alone_is_the_frame_py_amqp_would_write():
    channel, expected = FakeChannel(), FakeChannel()
    wire.ack(channel, 12345)
    expected.basic_ack(12345)
    assert channel.connection.written == expected.connection.written


class ConfirmingChannel(FakeChannel):
    """Answers every publish with ``answer`` (Basic.Ack or Basic.Nack) when waited on."""

    def __init__(self, answer) -> None:
        super().__init__()
        self.answer = answer
        self._confirm_selected = False
        self.selects = 0
        self.waits: list[tuple] = []

    def confirm_select(self) -> None:
        self.selects += 1

    def wait(self, methods, callback=None, timeout=None):
        self.waits.append((tuple(methods), timeout))
        callback(self.answer)


def test_a_confirmed_publish_selects_confirms_once_and_waits_for_each_confirm():
    channel = ConfirmingChannel(amqp.spec.Basic.Ack)
    for _ in range(2):
        wire.publish_confirmed(channel, b"{}", "nova", "q", delivery_mode=2, confirm_timeout=3.0)
    assert channel.selects == 1
    assert channel.waits == [((amqp.spec.Basic.Ack, amqp.spec.Basic.Nack), 3.0)] * 2
    assert channel.connection.written == [py_amqp_frames(b"{}", "nova", "q", delivery_mode=2)] * 2


def test_a_nacked_publish_raises():
    with pytest.raises(amqp.exceptions.MessageNacked):
        wire.publish_confirmed(ConfirmingChannel(amqp.spec.Basic.Nack), b"{}", "", "q", confirm_timeout=1.0)
