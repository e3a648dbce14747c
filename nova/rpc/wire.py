"""The hot path on RabbitMQ, one level below kombu's Producer: fewer system calls and less Python per message.

Only for py-amqp connections over plain TCP; the memory transport (and TLS)
keeps kombu's own path.  What it saves, per message:

- ``publish`` writes the frames of Basic.Publish itself, with the JSON body.
  kombu's ``Producer.publish`` goes through ``Channel.basic_publish``, which
  first tries to read the socket (``drain_events(timeout=0)``, for the
  broker's connection.blocked notices nobody here listens to: one failed
  ``recv`` and a timeout set and reset per send), then py-amqp's general
  frame encoder (10 us a message on this machine, against 2.5).  Body
  and properties are what kombu's JSON serializer sends (same encoder,
  content type and encoding, delivery mode, correlation id, reply_to,
  expiration in milliseconds); anything else goes through py-amqp.
- ``publish_confirmed`` does the same and waits for the broker's confirm
  (casts); ``ack`` writes a Basic.Ack frame.
- ``publish_and_ack`` sends a reply and the ack of its request in one write.
- ``buffer_reads`` makes a connection read the socket up to 64 KiB at a time:
  py-amqp reads exactly what the next piece of a frame needs, three ``recv``
  per frame, nine per message.
"""

from __future__ import annotations

import errno
import socket
import struct
from typing import Any

import amqp
import amqp.exceptions
import amqp.spec
import amqp.transport
import kombu
import kombu.exceptions
from kombu.utils import json as kombu_json

CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
READ_CHUNK = 65536

_PUBLISH = amqp.spec.Basic.Publish
_ACK = amqp.spec.Basic.Ack
_NACK = amqp.spec.Basic.Nack
_RETRY_ERRNOS = (errno.EAGAIN, errno.EINTR)


def _transport(conn: kombu.Connection | None) -> amqp.transport.TCPTransport | None:
    """The plain-TCP py-amqp transport under ``conn``, or None (memory, TLS, not connected)."""
    amqp_conn = getattr(conn, "_connection", None) if conn is not None else None
    transport = getattr(amqp_conn, "_transport", None)
    return transport if isinstance(transport, amqp.transport.TCPTransport) else None


def lean(channel: Any) -> bool:
    """True when ``channel`` is a py-amqp channel over plain TCP, which ``publish`` can write to."""
    return isinstance(channel, amqp.Channel) and isinstance(
        getattr(channel.connection, "_transport", None), amqp.transport.TCPTransport
    )


def encode(body: Any) -> bytes:
    """``body`` as kombu's JSON serializer encodes it; EncodeError when it cannot be."""
    try:
        return kombu_json.dumps(body).encode(CONTENT_ENCODING)
    except Exception as exc:  # noqa: BLE001 - what kombu's registry turns into EncodeError too
        raise kombu.exceptions.EncodeError(exc) from exc


def decode(message: kombu.Message) -> Any:
    """A received message's body: JSON decoded directly (as kombu's serializer would), else by kombu."""
    if message.content_type == CONTENT_TYPE and message.content_encoding in (CONTENT_ENCODING, None):
        try:
            return kombu_json.loads(message.body)
        except Exception as exc:  # noqa: BLE001 - kombu raises DecodeError for the same
            raise kombu.exceptions.DecodeError(exc) from exc
    return message.decode()


def publish(channel: amqp.Channel, body: bytes, exchange: str, routing_key: str, *,
            expiration: float | None = None, **properties: Any) -> None:
    """Write one message, already encoded by ``encode``, on a ``lean`` channel (no confirm is awaited)."""
    if expiration is not None:
        properties["expiration"] = str(int(expiration * 1000))
    frames = _publish_frames(channel, body, exchange, routing_key, properties)
    if frames is None:
        message = amqp.Message(body, content_type=CONTENT_TYPE, content_encoding=CONTENT_ENCODING, **properties)
        channel.send_method(_PUBLISH, "Bssbb", (0, exchange, routing_key, False, False), message)
        return
    _write(channel, frames)


def publish_confirmed(channel: amqp.Channel, body: bytes, exchange: str, routing_key: str, *,
                      confirm_timeout: float, **properties: Any) -> None:
    """``publish``, then wait up to ``confirm_timeout`` seconds for the broker's confirm, as py-amqp's
    ``basic_publish_confirm`` does: MessageNacked on a nack, socket.timeout when none came."""
    if not channel._confirm_selected:
        channel._confirm_selected = True
        channel.confirm_select()
    publish(channel, body, exchange, routing_key, **properties)
    channel.wait([_ACK, _NACK], callback=_refuse_nack, timeout=confirm_timeout)


def _refuse_nack(method: tuple[int, int], *args: Any) -> None:
    if method == _NACK:
        raise amqp.exceptions.MessageNacked()


def ack(channel: amqp.Channel, delivery_tag: int) -> None:
    """Basic.Ack of one message (a frame of 21 bytes, written directly)."""
    _write(channel, _ack_frame(channel, delivery_tag))


def _ack_frame(channel: amqp.Channel, delivery_tag: int) -> bytes:
    payload = _ACK_HEAD + struct.pack(">QB", delivery_tag, 0)
    return struct.pack(">BHI", 1, channel.channel_id, len(payload)) + payload + _FRAME_END


def publish_and_ack(channel: amqp.Channel, body: bytes, routing_key: str, delivery_tag: int, **properties: Any) -> None:
    """A transient message to the default exchange (a reply), then the ack of ``delivery_tag``: one write."""
    properties["delivery_mode"] = 1
    frames = _publish_frames(channel, body, "", routing_key, properties)
    if frames is None:
        publish(channel, body, "", routing_key, **properties)
        channel.basic_ack(delivery_tag)
        return
    _write(channel, frames + _ack_frame(channel, delivery_tag))


# The frames of Basic.Publish and Basic.Ack are built here: py-amqp's general encoder costs about four times
# as much.  AMQP 0-9-1: a frame is type (octet), channel (short), payload size (long), payload, 0xCE.  A
# method's payload: class and method ids (shorts), then its arguments.  A content header's: class and
# weight (shorts), body size (longlong), property flags (short, bit 15 first), then the properties present,
# in flag order.  Short strings are a length octet and UTF-8.
_FRAME_END = b"\xce"
_PUBLISH_HEAD = struct.pack(">HHH", 60, 40, 0)  # Basic.Publish, ticket 0
_ACK_HEAD = struct.pack(">HH", 60, 80)  # Basic.Ack
_FIXED_PROPERTIES = (bytes((len(CONTENT_TYPE),)) + CONTENT_TYPE.encode()
                     + bytes((len(CONTENT_ENCODING),)) + CONTENT_ENCODING.encode())
# content_type, content_encoding and delivery_mode are always there; then these short strings when given.
_FIXED_FLAGS = 1 << 15 | 1 << 14 | 1 << 12
_OPTIONAL = (("correlation_id", 1 << 10), ("reply_to", 1 << 9), ("expiration", 1 << 8))
_KNOWN = frozenset(("delivery_mode", "correlation_id", "reply_to", "expiration"))


def _shortstr(value: str) -> bytes | None:
    data = value.encode("utf-8")
    return bytes((len(data),)) + data if len(data) < 256 else None


def _publish_frames(channel: amqp.Channel, body: bytes, exchange: str, routing_key: str,
                    properties: dict[str, Any]) -> bytes | None:
    """The method, header and body frames of one publish; None for what py-amqp's encoder must do
    (a body larger than one frame, other properties, strings too long for a short string)."""
    connection = channel.connection
    delivery_mode = properties.get("delivery_mode", 1)
    if (connection is None or len(body) > connection.frame_max - 8 or not properties.keys() <= _KNOWN
            or delivery_mode not in (1, 2)):
        return None
    exchange_s, key_s = _shortstr(exchange), _shortstr(routing_key)
    if exchange_s is None or key_s is None:
        return None
    flags = _FIXED_FLAGS
    parts = [b"", _FIXED_PROPERTIES, b"\x02" if delivery_mode == 2 else b"\x01"]
    for name, bit in _OPTIONAL:
        value = properties.get(name)
        if value is not None:
            encoded = _shortstr(str(value))
            if encoded is None:
                return None
            flags |= bit
            parts.append(encoded)
    parts[0] = struct.pack(">HHQH", 60, 0, len(body), flags)
    header = b"".join(parts)
    method = _PUBLISH_HEAD + exchange_s + key_s + b"\x00"  # mandatory and immediate bits off
    number = channel.channel_id
    return b"".join((
        struct.pack(">BHI", 1, number, len(method)), method, _FRAME_END,
        struct.pack(">BHI", 2, number, len(header)), header, _FRAME_END,
        struct.pack(">BHI", 3, number, len(body)), body, _FRAME_END,
    ))


def _write(channel: amqp.Channel, frames: bytes) -> None:
    """One write on the channel's connection.  Callers keep to one writer per connection at a time (the
    consumer's write lock; one greenthread per publisher connection), as py-amqp's own lock would."""
    connection = channel.connection
    if connection is None:
        raise amqp.exceptions.RecoverableConnectionError("connection already closed")
    connection._transport.write(frames)
    connection.bytes_sent += 1


def buffer_reads(conn: kombu.Connection) -> None:
    """Make ``conn`` (connected) read its socket in chunks of up to READ_CHUNK bytes."""
    transport = _transport(conn)
    if transport is not None and not isinstance(transport._read, _BufferedRead):
        transport._read = _BufferedRead(transport)


def unread(conn: kombu.Connection | None) -> int:
    """Bytes ``conn`` has read from its socket and not parsed yet."""
    transport = _transport(conn)
    if transport is None:
        return 0
    read = transport._read
    return len(transport._read_buffer) + (read.pending if isinstance(read, _BufferedRead) else 0)


class _BufferedRead:
    """``TCPTransport._read`` (exactly ``n`` bytes) served from a buffer refilled a chunk at a time.

    ``read_frame`` puts back the part of a frame it had read when a timeout
    interrupts it, in ``_read_buffer``: that comes first.  Data read before
    an error stays there too, as py-amqp's own ``_read`` leaves it.
    """

    def __init__(self, transport: amqp.transport.TCPTransport) -> None:
        self.transport = transport
        self.buf = b""
        self.pos = 0

    @property
    def pending(self) -> int:
        return len(self.buf) - self.pos

    def __call__(self, n: int, initial: bool = False) -> bytes:
        transport = self.transport
        if transport._read_buffer:
            self.buf, self.pos = transport._read_buffer + self.buf[self.pos:], 0
            transport._read_buffer = b""
        buf, pos = self.buf, self.pos
        end = pos + n
        if end <= len(buf):
            self.pos = end
            return buf[pos:end]
        parts = [buf[pos:]]
        have = len(buf) - pos
        self.buf, self.pos = b"", 0
        recv = transport._quick_recv
        try:
            while have < n:
                try:
                    chunk = recv(max(n - have, READ_CHUNK))
                except OSError as exc:
                    if exc.errno in _RETRY_ERRNOS:
                        if initial and transport.raise_on_initial_eintr:
                            raise socket.timeout() from None
                        continue
                    raise
                if not chunk:
                    raise OSError("Server unexpectedly closed connection")
                parts.append(chunk)
                have += len(chunk)
        except BaseException:
            transport._read_buffer = b"".join(parts)
            raise
        data = b"".join(parts)
        self.buf, self.pos = data, n
        return data[:n]
