"""The sending side: call, cast, fanout_cast, and the process-wide connections.

A process holds two publisher pools (confirmed for casts; for calls and
replies unconfirmed, except on quorum queues) and one reply listener, all
built from the current broker flags and rebuilt when those change (tests
switch between memory and RabbitMQ).  A send declares nothing once its
connection has declared the queue it needs.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from typing import Any, Mapping

import kombu.exceptions
from eventlet import semaphore

from nova import context as nova_context
from nova.rpc import common, connection, publisher, replies, topology

FLAGS = common.FLAGS
LOG = logging.getLogger(__name__)

TRANSIENT = 1
PERSISTENT = 2


class _ProcessConnections:
    def __init__(self, settings: connection.BrokerSettings) -> None:
        self.settings = settings
        size = FLAGS.rpc_conn_pool_size
        self.casts = publisher.Publisher(settings, confirm=True, size=size)
        # On quorum queues calls are confirmed too: a channel opened while a queue elects its leader may
        # drop unconfirmed messages for good, and only a missing confirm tells (then a new channel is used).
        self.calls = publisher.Publisher(settings, confirm=settings.quorum, size=size)
        self._listener: replies.ReplyListener | None = None
        self._lock = semaphore.Semaphore()

    def listener(self) -> replies.ReplyListener:
        if self._listener is None:
            with self._lock:
                if self._listener is None:
                    self._listener = replies.ReplyListener(self.settings)
        return self._listener

    def disown_after_fork(self) -> None:
        if self._listener is not None:
            self._listener.disown_after_fork()
            self._listener = None
        self.casts.disown_after_fork()
        self.calls.disown_after_fork()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.casts.close()
        self.calls.close()


_process: _ProcessConnections | None = None
_process_lock = semaphore.Semaphore()


def _connections() -> _ProcessConnections:
    global _process
    settings = connection.cached_settings()
    current = _process
    if current is not None and (current.settings is settings or current.settings == settings):
        return current
    with _process_lock:
        if _process is not None and _process.settings != settings:
            LOG.info("Broker settings changed; reconnecting to %s", settings.display_url)
            old, _process = _process, None
            old.close()
        if _process is None:
            _process = _ProcessConnections(settings)
        return _process


def _forget_after_fork() -> None:
    """In a forked child (a nova-api worker, say): the parent's publishers and reply queue stay the
    parent's.  Their sockets are disowned, not closed; the child opens its own on its first send."""
    global _process, _process_lock
    old, _process = _process, None
    _process_lock = semaphore.Semaphore()
    if old is not None:
        old.disown_after_fork()


os.register_at_fork(after_in_child=_forget_after_fork)


def reset() -> None:
    """Close the process-wide publishers and reply listener."""
    global _process
    with _process_lock:
        old, _process = _process, None
    if old is not None:
        old.close()


def call(
    ctxt: nova_context.RequestContext, topic: str, msg: Mapping[str, Any], timeout: float | None = None
) -> Any:
    """Send ``msg`` to one server of ``topic`` and return its result.

    Raises RemoteError if the handler raised, Timeout when no reply came within
    ``timeout`` seconds (default ``rpc_response_timeout``), BrokerUnavailable
    when the request could not be sent in that time.
    """
    timeout = FLAGS.rpc_response_timeout if timeout is None else timeout
    deadline = time.monotonic() + timeout
    body = common.envelope(ctxt, msg)
    conns = _connections()
    listener = conns.listener()
    if not listener.wait_ready(timeout):
        raise common.BrokerUnavailable(
            url=conns.settings.display_url, reason=f"reply queue not ready within {timeout}s"
        )
    correlation_id = uuid.uuid4().hex
    waiter = listener.expect(correlation_id)
    queue = topology.topic_queue(topic, conns.settings.quorum)
    try:
        conns.calls.publish(
            body,
            exchange=queue.exchange.name,
            routing_key=topic,
            declare=(queue,),
            deadline=deadline,
            target=f"topic {topic}",
            delivery_mode=TRANSIENT,
            keep_order=False,
            expiration=timeout,
            reply_to=listener.queue_name,
            correlation_id=correlation_id,
        )
        reply = waiter.wait(max(deadline - time.monotonic(), 0))
    finally:
        listener.forget(correlation_id)
    if reply is None:
        raise common.Timeout(timeout=timeout, method=body["method"], topic=topic)
    return common.result_from_reply(reply)


def cast(ctxt: nova_context.RequestContext, topic: str, msg: Mapping[str, Any]) -> None:
    """Send ``msg`` to one server of ``topic`` without waiting for it to run.

    The message is persistent and confirmed by the broker: once this returns
    it survives a broker restart and waits for a server.  Raises
    BrokerUnavailable if the broker stayed unreachable for
    ``rpc_response_timeout`` seconds.
    """
    body = common.envelope(ctxt, msg)
    conns = _connections()
    queue = topology.topic_queue(topic, conns.settings.quorum)
    conns.casts.publish(
        body,
        exchange=queue.exchange.name,
        routing_key=topic,
        declare=(queue,),
        deadline=time.monotonic() + FLAGS.rpc_response_timeout,
        target=f"topic {topic}",
        delivery_mode=PERSISTENT,
    )


def fanout_cast(ctxt: nova_context.RequestContext, topic: str, msg: Mapping[str, Any]) -> None:
    """Send ``msg`` to every server of ``topic`` running now."""
    body = common.envelope(ctxt, msg)
    exchange = topology.fanout_exchange(topic)
    _connections().casts.publish(
        body,
        exchange=exchange.name,
        routing_key="",
        declare=(exchange,),
        deadline=time.monotonic() + FLAGS.rpc_response_timeout,
        target=f"exchange {exchange.name}",
        delivery_mode=TRANSIENT,
    )


def send_reply(reply_to: str, correlation_id: str | None, reply: dict[str, Any]) -> None:
    """Send a server's reply to the caller's reply queue."""
    calls = _connections().calls
    deadline = time.monotonic() + FLAGS.rpc_response_timeout
    target = f"reply queue {reply_to}"
    try:
        calls.publish(reply, exchange="", routing_key=reply_to, declare=(), deadline=deadline, target=target,
                      keep_order=False, delivery_mode=TRANSIENT, correlation_id=correlation_id)
    except kombu.exceptions.EncodeError as exc:
        LOG.error("Cannot encode an RPC result: %s", common.one_line(exc))
        failure = common.RpcError(reason=f"the result could not be encoded: {common.one_line(exc)}")
        calls.publish({"failure": common.failure_payload(failure)}, exchange="", routing_key=reply_to, declare=(),
                      deadline=deadline, target=target, keep_order=False, delivery_mode=TRANSIENT,
                      correlation_id=correlation_id)
