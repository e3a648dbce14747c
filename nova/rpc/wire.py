"""The hot path on RabbitMQ, one level below kombu's Producer: fewer system calls and less Python per message.

Only for py-amqp connections over plain TCP; the memory transport (and TLS)
keeps kombu's own path.  What it saves, per message:

- ``publish`` writes Basic.Publish with the JSON body straight through
  py-amqp.  kombu's ``Producer.publish`` goes through ``Channel.basic_publish``,
  which first tries to read the socket (``drain_events(timeout=0)``, for the
  broker's connection.blocked notices nobody here listens to): one failed
  ``recv`` and a timeout set and reset per send.  The body and properties are
  what kombu's JSON serializer sends (same encoder, content type and encoding,
  delivery mode, correlation id, reply_to, expiration in milliseconds).
- ``one_write`` gathers the frames of several methods (a reply and the ack
  of its request) into one ``send``.
- ``buffer_reads`` makes a connection read the socket up to 64 KiB at a time:
  py-amqp reads exactly what the next piece of a frame needs, three ``recv``
  per frame, nine per message.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from typing import Any, Iterator

import amqp
import amqp.spec
import amqp.transport
import kombu
import kombu.exceptions
from kombu.utils import json as kombu_json

CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
READ_CHUNK = 65536

_PUBLISH = amqp.spec.Basic.Publish
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
    message = amqp.Message(body, content_type=CONTENT_TYPE, content_encoding=CONTENT_ENCODING, **properties)
    channel.send_method(_PUBLISH, "Bssbb", (0, exchange, routing_key, False, False), message)


@contextlib.contextmanager
def one_write(conn: kombu.Connection) -> Iterator[None]:
    """Frames written on ``conn`` inside the block go out in one ``send`` at its end.

    The caller holds the connection's write lock.  On a connection ``lean``
    does not cover, frames are written as they come.
    """
    transport = _transport(conn)
    if transport is None:
        yield
        return
    real = transport._write
    parts: list[bytes] = []
    # py-amqp hands over a view of a buffer it reuses for the next frame: keep a copy.
    transport._write = lambda data: parts.append(bytes(data))
    try:
        yield
    finally:
        transport._write = real
        if parts:
            transport.write(b"".join(parts))


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
