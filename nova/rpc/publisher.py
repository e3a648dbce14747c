"""Sending messages: a pool of lazily (re)connected kombu producers per Publisher.

A send retries a broker outage until its deadline, reconnecting and
redeclaring as it goes, then raises BrokerUnavailable; so a send that returns
has reached the broker.  With ``confirm`` the broker acknowledges every
message (publisher confirms), which is what makes an accepted cast safe.
Calls and replies skip confirms on classic queues: their loss shows as the
caller's Timeout, and a confirm would cost a broker round trip on every call.
On quorum queues they are confirmed too (see ``client``).

Order: messages one greenthread sends reach the broker in the order it sent
them.  A greenthread keeps the connection it used last while that is free;
on an unconfirmed publisher it waits for that connection when another
greenthread holds it, since a message on another connection could overtake
its previous one (over one connection the broker keeps the order).  On a
confirmed publisher the previous message was already confirmed, hence
enqueued, before the send returned, so any free connection will do.
"""

from __future__ import annotations

import logging
import socket
import time
import weakref
from typing import Any, Sequence

import eventlet
import eventlet.patcher
import greenlet
import kombu
from eventlet import event, semaphore
from kombu import Exchange, Queue

from nova.rpc import common, connection, topology, wire

LOG = logging.getLogger(__name__)

# Longest wait for one publisher confirm before the send is retried on a new connection.
CONFIRM_TIMEOUT = 10.0
# An unconfirmed connection used this recently is not checked for a close from the broker again: under load
# that saves a select() per send, and a close that lands between a check and the send is possible anyway.
CLOSED_CHECK_SECONDS = 0.005

_real_select = eventlet.patcher.original("select").select


class _Sender:
    """One connection and its producer, used by one greenthread at a time."""

    def __init__(self) -> None:
        self.conn: kombu.Connection | None = None
        self.producer: kombu.Producer | None = None
        # Names of the queues and exchanges declared on this connection.
        self.declared: set[tuple[bool, str]] = set()
        # When _raise_if_closed_by_broker last looked at this connection.
        self.checked_at = 0.0
        # The pool's generation when this connection was opened.
        self.generation = 0
        # True while a send holds it; greenthreads waiting to send over it next, first come first served.
        self.busy = False
        self.waiters: list[event.Event] = []

    def reset(self) -> None:
        conn, self.conn, self.producer = self.conn, None, None
        self.declared.clear()
        connection.close_quietly(conn)


class Publisher:
    """Sends messages over a pool of up to ``size`` connections, one greenthread per connection at a time.

    Connections are opened when concurrent sends need them and kept: a send
    waiting for its publisher confirm does not hold up the others.
    """

    def __init__(self, settings: connection.BrokerSettings, confirm: bool, size: int = 1) -> None:
        self.settings = settings
        self.confirm = confirm and not settings.memory
        self._check_closed = not self.confirm and not settings.memory
        self._slots = semaphore.Semaphore(max(size, 1))
        self._idle: list[_Sender] = []
        # Every sender this pool made (at most ``size``), busy or idle.
        self._senders: list[_Sender] = []
        # The sender each greenthread used last (see "Order" above); forgotten with the greenthread.
        self._last: "weakref.WeakKeyDictionary[greenlet.greenlet, _Sender]" = weakref.WeakKeyDictionary()
        # Bumped when a send finds its connection broken: the idle ones, opened before, most likely went
        # to the same lost node, so each is replaced before its next send rather than failing it first.
        self._generation = 0
        self._closed = False
        self._errors = connection.broker_errors(connection.new_connection(settings))

    def publish(
        self,
        body: dict[str, Any],
        *,
        exchange: str,
        routing_key: str,
        declare: Sequence[Exchange | Queue],
        deadline: float,
        target: str,
        keep_order: bool = True,
        **properties: Any,
    ) -> None:
        """Send ``body``; ``declare`` lists the entities it needs (declared once per connection).

        ``keep_order=False`` for a message nothing this greenthread sends later
        can overtake in a way that matters (a call waits for its reply before
        the greenthread goes on; a reply is a handler's last message): it goes
        over any free connection, and the greenthread's connection is not noted.
        """
        sender = self._checkout(deadline, target, keep_order)
        try:
            if sender.generation != self._generation and sender.conn is not None:
                sender.reset()
            self._send(sender, body, exchange, routing_key, declare, deadline, target, properties)
        finally:
            self._checkin(sender)

    def _checkout(self, deadline: float, target: str, keep_order: bool) -> _Sender:
        """A sender for this greenthread: the one it used last when free (or, unconfirmed, when freed)."""
        if not self._slots.acquire(timeout=max(deadline - time.monotonic(), 0)):
            raise self._stuck(target)
        if not keep_order:
            sender = self._take_any()
            sender.busy = True
            return sender
        me = greenlet.getcurrent()
        own = self._last.get(me)
        if own is not None and not own.busy and own in self._idle:
            self._idle.remove(own)
            sender = own
        elif own is not None and own.busy and not self.confirm:
            handed = event.Event()
            own.waiters.append(handed)
            try:
                handed.wait(max(deadline - time.monotonic(), 0))
            except BaseException:
                if handed.ready():
                    self._checkin(own)  # handed over, then killed before it could send
                else:
                    own.waiters.remove(handed)
                    self._slots.release()
                raise
            if not handed.ready():
                own.waiters.remove(handed)
                self._slots.release()
                raise self._stuck(target)
            sender = own
        else:
            sender = self._take_any()
            self._last[me] = sender
        sender.busy = True
        return sender

    def _take_any(self) -> _Sender:
        """The free sender used last (its connection is the likeliest to be open), else a new one."""
        if self._idle:
            return self._idle.pop()
        sender = _Sender()
        self._senders.append(sender)
        return sender

    def _checkin(self, sender: _Sender) -> None:
        if self._closed:
            sender.reset()
        if sender.waiters:
            # The waiter holds a slot already: the sender passes to it, busy, without going idle.
            sender.waiters.pop(0).send(True)
            self._slots.release()
            return
        sender.busy = False
        if not self._closed:
            self._idle.append(sender)
        self._slots.release()

    def disown_after_fork(self) -> None:
        """In a forked child: give up the parent's connections without a word to the broker (see
        ``connection.disown``); a send the child makes afterwards opens a connection of its own."""
        for sender in self._senders:
            connection.disown(sender.conn)
            sender.conn = sender.producer = None
            sender.declared.clear()
        self.close()

    def _stuck(self, target: str) -> common.BrokerUnavailable:
        return common.BrokerUnavailable(
            url=self.settings.display_url, reason=f"gave up sending to {target}: every send is stuck retrying"
        )

    def close(self) -> None:
        """Drop the idle connections; a send in progress drops its own when it ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for sender in idle:
            sender.reset()

    def _send(
        self,
        sender: _Sender,
        body: dict[str, Any],
        exchange: str,
        routing_key: str,
        declare: Sequence[Exchange | Queue],
        deadline: float,
        target: str,
        properties: dict[str, Any],
    ) -> None:
        failures = 0
        # Sends on RabbitMQ skip kombu's Producer (see nova.rpc.wire): encoded once, here.
        encoded = None if self.settings.memory else wire.encode(body)
        while True:
            try:
                producer = self._ready_producer(sender, deadline)
                if declare:
                    self._declare(sender, producer, declare)
                lean = encoded is not None and wire.lean(producer.channel)
                if lean and not self.confirm:
                    wire.publish(producer.channel, encoded, exchange, routing_key, **properties)
                    return self._sent(target, failures)
                if self.confirm:
                    # Capped: a confirm that never comes means a broken channel; retry on a new one.
                    properties["confirm_timeout"] = min(max(deadline - time.monotonic(), 0.1), CONFIRM_TIMEOUT)
                if lean:
                    wire.publish_confirmed(producer.channel, encoded, exchange, routing_key, **properties)
                    return self._sent(target, failures)
                producer.publish(body, exchange=exchange, routing_key=routing_key, serializer="json", **properties)
            except connection.PERMANENT_ERRORS as exc:
                sender.reset()
                raise common.PublishError(
                    target=target, url=self.settings.display_url, reason=topology.explain(exc, self.settings.quorum)
                ) from None
            except self._errors as exc:
                if sender.generation == self._generation:
                    self._generation += 1
                sender.reset()
                failures += 1
                reason = common.one_line(exc)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise common.BrokerUnavailable(
                        url=self.settings.display_url,
                        reason=f"{reason} (gave up sending to {target} after {failures} attempts)",
                    ) from None
                delay = min(connection.backoff(failures), remaining)
                LOG.warning(
                    "Cannot send to %s on %s (%s); retrying in %.1fs", target, self.settings.display_url, reason, delay
                )
                eventlet.sleep(delay)
            else:
                return self._sent(target, failures)

    def _sent(self, target: str, failures: int) -> None:
        if failures:
            LOG.info("Sent to %s on %s after %d failed attempts", target, self.settings.display_url, failures)

    def _ready_producer(self, sender: _Sender, deadline: float) -> kombu.Producer:
        producer = sender.producer
        if producer is None:
            timeout = min(connection.CONNECT_TIMEOUT, max(deadline - time.monotonic(), 0.5))
            generation = self._generation
            conn = connection.open_connection(self.settings, confirm=self.confirm, connect_timeout=timeout)
            sender.conn, sender.generation = conn, generation
            producer = sender.producer = kombu.Producer(conn.channel(), auto_declare=False)
        elif self._check_closed:
            now = time.monotonic()
            if now - sender.checked_at >= CLOSED_CHECK_SECONDS:
                self._raise_if_closed_by_broker(sender.conn)
                sender.checked_at = now
        return producer

    @staticmethod
    def _raise_if_closed_by_broker(conn: kombu.Connection | None) -> None:
        """Read whatever the broker sent since the last send: usually nothing.

        Without confirms nothing reads this connection, so a broker restart
        would go unnoticed and the next message would vanish into a dead
        socket.  A broker that closed the connection has sent Connection.Close
        (or EOF); reading it here raises the error that triggers a reconnect.
        """
        assert conn is not None
        sock = conn.connection.sock
        readable, _, _ = _real_select([sock], [], [], 0)
        if readable or wire.unread(conn):
            try:
                conn.drain_events(timeout=0)
            except socket.timeout:
                pass

    @staticmethod
    def _declare(sender: _Sender, producer: kombu.Producer, entities: Sequence[Exchange | Queue]) -> None:
        declared = sender.declared
        for entity in entities:
            key = (isinstance(entity, Queue), entity.name)
            if key not in declared:
                entity(producer.channel).declare()
                declared.add(key)
