"""Sending messages: one lazily (re)connected kombu producer per Publisher.

A send retries a broker outage until its deadline, reconnecting and
redeclaring as it goes, then raises BrokerUnavailable; so a send that returns
has reached the broker.  With ``confirm`` the broker acknowledges every
message (publisher confirms), which is what makes an accepted cast safe.
Calls and replies skip confirms on classic queues: their loss shows as the
caller's Timeout, and a confirm would cost a broker round trip on every call.
On quorum queues they are confirmed too (see ``client``).
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any, Sequence

import eventlet
import eventlet.patcher
import kombu
from eventlet import semaphore
from kombu import Exchange, Queue

from nova.rpc import common, connection, topology

LOG = logging.getLogger(__name__)

# Longest wait for one publisher confirm before the send is retried on a new connection.
CONFIRM_TIMEOUT = 10.0

_real_select = eventlet.patcher.original("select").select


class Publisher:
    """Sends messages over one connection, one greenthread at a time."""

    def __init__(self, settings: connection.BrokerSettings, confirm: bool) -> None:
        self.settings = settings
        self.confirm = confirm and not settings.memory
        self._lock = semaphore.Semaphore()
        self._conn: kombu.Connection | None = None
        self._producer: kombu.Producer | None = None
        self._declared: set[tuple[str, str]] = set()
        self._errors = connection.broker_errors(connection.new_connection(settings))

    def publish(
        self,
        body: dict[str, Any],
        *,
        exchange: Exchange | str,
        routing_key: str,
        declare: Sequence[Exchange | Queue],
        deadline: float,
        target: str,
        **properties: Any,
    ) -> None:
        """Send ``body``; ``declare`` lists the entities it needs (declared once per connection)."""
        remaining = deadline - time.monotonic()
        if not self._lock.acquire(timeout=max(remaining, 0)):
            raise common.BrokerUnavailable(
                url=self.settings.display_url, reason=f"gave up sending to {target}: another send is stuck retrying"
            )
        try:
            self._send(body, exchange, routing_key, declare, deadline, target, properties)
        finally:
            self._lock.release()

    def close(self) -> None:
        """Drop the connection; waits at most CLOSE_TIMEOUT for a send in progress."""
        acquired = self._lock.acquire(timeout=connection.CLOSE_TIMEOUT)
        try:
            self._reset()
        finally:
            if acquired:
                self._lock.release()

    def _send(
        self,
        body: dict[str, Any],
        exchange: Exchange | str,
        routing_key: str,
        declare: Sequence[Exchange | Queue],
        deadline: float,
        target: str,
        properties: dict[str, Any],
    ) -> None:
        failures = 0
        while True:
            try:
                producer = self._ready_producer(deadline)
                self._declare(producer, declare)
                if self.confirm:
                    # Capped: a confirm that never comes means a broken channel; retry on a new one.
                    properties["confirm_timeout"] = min(max(deadline - time.monotonic(), 0.1), CONFIRM_TIMEOUT)
                producer.publish(body, exchange=exchange, routing_key=routing_key, serializer="json", **properties)
            except connection.PERMANENT_ERRORS as exc:
                self._reset()
                raise common.PublishError(
                    target=target, url=self.settings.display_url, reason=topology.explain(exc, self.settings.quorum)
                ) from None
            except self._errors as exc:
                self._reset()
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
                if failures:
                    LOG.info("Sent to %s on %s after %d failed attempts", target, self.settings.display_url, failures)
                return

    def _ready_producer(self, deadline: float) -> kombu.Producer:
        if self._producer is None:
            timeout = min(connection.CONNECT_TIMEOUT, max(deadline - time.monotonic(), 0.5))
            conn = connection.open_connection(self.settings, confirm=self.confirm, connect_timeout=timeout)
            self._conn = conn
            self._producer = kombu.Producer(conn.channel(), auto_declare=False)
        elif not self.confirm and not self.settings.memory:
            self._raise_if_closed_by_broker()
        return self._producer

    def _raise_if_closed_by_broker(self) -> None:
        """Read whatever the broker sent since the last send: usually nothing.

        Without confirms nothing reads this connection, so a broker restart
        would go unnoticed and the next message would vanish into a dead
        socket.  A broker that closed the connection has sent Connection.Close
        (or EOF); reading it here raises the error that triggers a reconnect.
        """
        assert self._conn is not None
        sock = self._conn.connection.sock
        readable, _, _ = _real_select([sock], [], [], 0)
        if readable:
            try:
                self._conn.drain_events(timeout=0)
            except socket.timeout:
                pass

    def _declare(self, producer: kombu.Producer, entities: Sequence[Exchange | Queue]) -> None:
        for entity in entities:
            key = ("queue" if isinstance(entity, Queue) else "exchange", entity.name)
            if key not in self._declared:
                entity(producer.channel).declare()
                self._declared.add(key)

    def _reset(self) -> None:
        conn, self._conn, self._producer = self._conn, None, None
        self._declared.clear()
        connection.close_quietly(conn)
