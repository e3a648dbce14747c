"""A consumer greenthread that survives broker restarts.

It owns one connection, declares its queues, and drains events with a short
timeout so it notices ``stop()`` and sends heartbeats.  When the connection
breaks it logs one line, waits (doubling back-off, capped), reconnects and
redeclares: the same queue names, so a server keeps its identity.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Callable

import eventlet
import kombu
import kombu.exceptions
from eventlet import event, greenthread, semaphore
from kombu import Queue

from nova.rpc import common, connection, topology, wire

LOG = logging.getLogger(__name__)

# How long one drain_events waits: the bound on how late the loop sees stop().
POLL_SECONDS = 0.2
# Heartbeats are checked at most this often (the shortest heartbeat is 1 s, checked twice per period).
HEARTBEAT_CHECK_SECONDS = 0.25


class ConsumerLoop:
    """Consumes ``queues()`` in one greenthread and hands each message to ``on_message``.

    ``on_message`` runs inside the loop and must not block for long; it acks
    later with ``ack()``, from any greenthread.
    """

    def __init__(
        self,
        name: str,
        settings: connection.BrokerSettings,
        queues: Callable[[], list[Queue]],
        on_message: Callable[[kombu.Message], None],
        *,
        prefetch_count: int | None = None,
        no_ack: bool = False,
    ) -> None:
        self.name = name
        self.settings = settings
        self._queues = queues
        self._on_message = on_message
        self._prefetch_count = prefetch_count
        self._no_ack = no_ack
        self._errors = connection.broker_errors(connection.new_connection(settings))
        self._thread: greenthread.GreenThread | None = None
        self._stopping = False
        self._wake = event.Event()
        self._ready = event.Event()
        self._conn: kombu.Connection | None = None
        self._channel = None
        self._consumer: kombu.Consumer | None = None
        self._producer: kombu.Producer | None = None
        self._write_lock = semaphore.Semaphore()
        # True while the loop waits for the broker with no message in hand:
        # then stop() may kill it at once (an unread message stays unacked).
        self._idle = False
        self._ever_ready = False
        # Why the broker refused this loop's first subscription, when it did.
        self.refusal: str | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def ready(self) -> bool:
        """True while the queues are declared and consumed."""
        return self._ready.ready() and self._ready.wait() is True

    def start(self) -> None:
        self._thread = eventlet.spawn(self._run)

    def wait_ready(self, timeout: float) -> bool:
        """True once the queues are consumed; False after ``timeout`` or when the broker refused them."""
        return self._ready.wait(max(timeout, 0)) is True

    def ack(self, message: kombu.Message) -> None:
        self._settle(message, "ack")

    def reply_and_ack(self, message: kombu.Message, body: dict, reply_to: str, correlation_id: str | None) -> bool:
        """Send ``body`` to ``reply_to`` over the channel ``message`` came on, then ack ``message``.

        The reply then shares the connection the request came over, as the
        ack does: no publisher connection is checked out and no other
        connection carries it.  On RabbitMQ both go out in one write
        (``nova.rpc.wire``).  False, with nothing sent or acked, when that
        cannot be done (the channel was replaced or broke, or the body cannot
        be encoded): the reply is then left to the caller's publisher, which
        retries an outage, and the ack to ``ack``.
        """
        producer, channel = self._producer, self._channel
        if producer is None or message.channel is not channel:
            return False
        try:
            if wire.lean(channel):
                encoded = wire.encode(body)
                with self._write_lock:
                    wire.publish_and_ack(channel, encoded, reply_to, message.delivery_tag,
                                         correlation_id=correlation_id)
                return True
            with self._write_lock:
                producer.publish(body, exchange="", routing_key=reply_to, serializer="json", delivery_mode=1,
                                 correlation_id=correlation_id)
        except kombu.exceptions.EncodeError:
            return False
        except self._errors as exc:
            LOG.info("%s: could not reply over the consumer's channel (%s); using a publisher",
                     self.name, common.one_line(exc))
            return False
        self.ack(message)
        return True

    def requeue(self, message: kombu.Message) -> None:
        self._settle(message, "requeue")

    def stop(self, timeout: float = POLL_SECONDS * 5) -> None:
        """Stop consuming and wait for the loop to end; the connection stays open for acks."""
        self._stopping = True
        if not self._wake.ready():
            self._wake.send(None)
        thread, self._thread = self._thread, None
        if thread is not None:
            self._end(thread, timeout)
        self._ready = event.Event()

    def _end(self, thread: greenthread.GreenThread, timeout: float) -> None:
        if self._idle:
            thread.kill()
            return
        with eventlet.Timeout(timeout, False):
            thread.wait()
            return
        LOG.warning("%s: consumer did not stop within %.1fs; killing it", self.name, timeout)
        thread.kill()

    def close(self) -> None:
        conn, self._conn, self._channel, self._producer = self._conn, None, None, None
        connection.close_quietly(conn)

    def disown_after_fork(self) -> None:
        """In a forked child: stop for good without reading or writing the parent's connection.

        Its socket now reads end-of-file (``connection.disown``); should the
        loop's greenthread run again in the child it finds ``stopping`` and ends.
        """
        self._stopping = True
        conn, self._conn, self._channel, self._consumer = self._conn, None, None, None
        self._producer = None
        connection.disown(conn)

    def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                conn = self._subscribe()
                if failures:
                    LOG.info("%s: consuming again from %s", self.name, connection.node_of(conn))
                else:
                    LOG.debug("%s: consuming from %s", self.name, connection.node_of(conn))
                failures = 0
                self._ever_ready = True
                self._ready.send(True)
                self._drain(conn)
                return
            except connection.PERMANENT_ERRORS as exc:
                reason = self._refused(exc)
                if reason is None:
                    return
            except self._errors as exc:
                reason = common.one_line(exc)
            except Exception as exc:  # noqa: BLE001 - the loop must outlive any surprise
                LOG.exception("%s: unexpected error in consumer loop", self.name)
                reason = common.one_line(exc)
            if self._ready.ready():
                self._ready = event.Event()
            self.close()
            if self._stopping:
                return
            failures += 1
            delay = connection.backoff(failures)
            LOG.warning(
                "%s: cannot consume from %s (%s); reconnecting in %.1fs",
                self.name,
                self.settings.display_url,
                reason,
                delay,
            )
            self._wake.wait(delay)

    def _refused(self, exc: BaseException) -> str | None:
        """The broker refused this loop's queues or credentials: retrying will not help.

        Before the loop was ever ready (a service starting) it ends, and the
        reason waits in ``refusal`` for whoever started it; later (a broker
        changed under a running service) it keeps retrying, loudly.
        """
        reason = topology.explain(exc, self.settings.quorum)
        self.close()
        if not self._ever_ready:
            self.refusal = reason
            self._stopping = True
            self._ready.send(False)
            return None
        LOG.error("%s: the broker refused: %s", self.name, reason)
        return reason

    def _subscribe(self) -> kombu.Connection:
        conn = connection.open_connection(self.settings, consumer=True)
        self._conn = conn
        channel = conn.channel()
        if self._prefetch_count:
            channel.basic_qos(0, self._prefetch_count, False)
        consumer = kombu.Consumer(channel, queues=self._queues(), on_message=self._deliver, no_ack=self._no_ack)
        consumer.consume()
        self._channel = channel
        self._consumer = consumer
        self._producer = kombu.Producer(channel, auto_declare=False)
        return conn

    def _drain(self, conn: kombu.Connection) -> None:
        next_heartbeat_check = 0.0
        while not self._stopping:
            self._idle = True
            try:
                conn.drain_events(timeout=POLL_SECONDS)
            except socket.timeout:
                pass
            finally:
                self._idle = False
            now = time.monotonic()
            if now >= next_heartbeat_check:
                next_heartbeat_check = now + HEARTBEAT_CHECK_SECONDS
                with self._write_lock:
                    conn.heartbeat_check()
        if self._consumer is not None:
            with self._write_lock:
                self._consumer.cancel()

    def _deliver(self, message: kombu.Message) -> None:
        self._idle = False
        try:
            self._on_message(message)
        finally:
            self._idle = True

    def _settle(self, message: kombu.Message, how: str) -> None:
        if self._no_ack:
            return
        if message.channel is not self._channel:
            if self._channel is not None:
                LOG.info("%s: connection was replaced; the broker delivers the message again", self.name)
            return
        try:
            with self._write_lock:
                if how != "ack":
                    message.requeue()
                elif wire.lean(message.channel):
                    wire.ack(message.channel, message.delivery_tag)
                else:
                    message.ack()
        except self._errors as exc:
            LOG.warning(
                "%s: could not %s a message (%s); the broker delivers it again", self.name, how, common.one_line(exc)
            )
