"""The reply side of ``call``: one reply queue per process, one greenthread.

Each call registers a waiter under a fresh correlation id, sends its request
with ``reply_to`` naming this process's queue, and waits on the waiter.  The
listener's greenthread hands each reply to the waiter with its correlation id
and drops replies nobody waits for any more (calls that timed out).
"""

from __future__ import annotations

import logging
from typing import Any

import kombu
from eventlet import event

from nova.rpc import common, connection, consumer, topology, wire

LOG = logging.getLogger(__name__)


class ReplyListener:
    def __init__(self, settings: connection.BrokerSettings) -> None:
        self.queue_name = topology.reply_queue_name()
        self._waiters: dict[str, event.Event] = {}
        self._loop = consumer.ConsumerLoop(
            f"reply queue {self.queue_name}",
            settings,
            lambda: [topology.reply_queue(self.queue_name)],
            self._on_message,
            no_ack=True,
        )
        self._loop.start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the reply queue exists, so replies sent to it are not dropped."""
        return self._loop.wait_ready(timeout)

    def expect(self, correlation_id: str) -> event.Event:
        waiter = event.Event()
        self._waiters[correlation_id] = waiter
        return waiter

    def forget(self, correlation_id: str) -> None:
        self._waiters.pop(correlation_id, None)

    def close(self) -> None:
        self._loop.stop()
        self._loop.close()
        self._waiters.clear()

    def disown_after_fork(self) -> None:
        self._loop.disown_after_fork()
        self._waiters.clear()

    def _on_message(self, message: kombu.Message) -> None:
        correlation_id = message.properties.get("correlation_id")
        waiter = self._waiters.get(correlation_id)
        if waiter is None or waiter.ready():
            LOG.debug("Dropped a reply nobody waits for (correlation id %s)", correlation_id)
            return
        try:
            body: Any = wire.decode(message)
        except Exception as exc:  # noqa: BLE001 - a bad reply must not stop the listener
            body = {"failure": {"class": type(exc).__name__, "message": f"undecodable reply: {common.one_line(exc)}"}}
        if not isinstance(body, dict):
            body = {"failure": {"class": "RemoteError", "message": f"malformed reply: {body!r:.200}"}}
        waiter.send(body)
