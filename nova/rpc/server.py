"""The consuming side: a Server runs a dispatcher for one topic on one host.

It consumes the shared queue ``topic``, the queue ``topic.host`` and its own
queue on the ``topic_fanout`` exchange.  Each message runs in a GreenPool of
``rpc_thread_pool_size`` greenthreads and is acked only after its handler
finished and its reply was sent: a crash mid-handler means redelivery
(at-least-once), never loss.  The reply goes back over the channel the
request came on, with the ack of the request in the same write on RabbitMQ
(through the process's call publisher when that channel is gone, and on
quorum queues).

After a fork the child leaves the parent's servers alone (``_forget_after_fork``).
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from typing import Any, Protocol

import eventlet
import kombu
from eventlet import greenpool

from nova import context as nova_context
from nova import exception
from nova import log as nova_log
from nova.rpc import client, common, connection, consumer, topology, wire

FLAGS = common.FLAGS
LOG = logging.getLogger(__name__)

_running: "weakref.WeakSet[Server]" = weakref.WeakSet()


class SupportsDispatch(Protocol):
    def dispatch(self, ctxt: nova_context.RequestContext, method: str, args: Any) -> Any: ...


class Server:
    def __init__(self, topic: str, host: str, dispatcher: SupportsDispatch) -> None:
        self.topic = topic
        self.host = host
        self.dispatcher = dispatcher
        self.fanout_queue_name = topology.fanout_queue_name(topic)
        self._pool: greenpool.GreenPool | None = None
        self._loop: consumer.ConsumerLoop | None = None
        self._settings: connection.BrokerSettings | None = None
        self._reply_inline = False

    @property
    def queue_names(self) -> tuple[str, str, str]:
        return (self.topic, f"{self.topic}.{self.host}", self.fanout_queue_name)

    def start(self, timeout: float | None = None) -> None:
        """Start consuming; returns once the queues are declared.

        Raises BrokerUnavailable if that takes longer than ``timeout``
        (default ``rpc_response_timeout``).
        """
        if self._loop is not None:
            raise RuntimeError(f"RPC server for {self.topic} on {self.host} is already running")
        settings = self._settings = connection.current_settings()
        # Replies go back over the channel the request came on, except on quorum queues, where the process's
        # call publisher confirms every message (see nova.rpc.client) and replies keep going through it.
        self._reply_inline = not settings.quorum
        self._pool = greenpool.GreenPool(FLAGS.rpc_thread_pool_size)
        self._loop = consumer.ConsumerLoop(
            f"rpc server {self.topic}.{self.host}",
            settings,
            self._queues,
            self._on_message,
            prefetch_count=FLAGS.rpc_thread_pool_size,
        )
        self._loop.start()
        _running.add(self)
        timeout = FLAGS.rpc_response_timeout if timeout is None else timeout
        if not self._loop.wait_ready(timeout):
            refusal = self._loop.refusal
            self.stop(timeout=0)
            if refusal:
                raise exception.BrokerRefusedQueues(url=settings.display_url, topic=self.topic, reason=refusal)
            raise common.BrokerUnavailable(
                url=settings.display_url, reason=f"could not subscribe to {self.topic} within {timeout}s"
            )
        LOG.info("RPC server consuming %s, %s.%s and %s_fanout", self.topic, self.topic, self.host, self.topic)

    def stop(self, timeout: float | None = None) -> None:
        """Stop taking messages, let in-flight handlers finish, then disconnect.

        Handlers still running after ``timeout`` seconds (default
        ``rpc_response_timeout``) are killed; their messages were not acked,
        so the broker delivers them again.
        """
        loop, pool = self._loop, self._pool
        if loop is None or pool is None:
            return
        _running.discard(self)
        timeout = FLAGS.rpc_response_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        loop.stop()
        with eventlet.Timeout(max(deadline - time.monotonic(), 0), False):
            pool.waitall()
        leftovers = list(pool.coroutines_running)
        if leftovers:
            LOG.warning(
                "RPC server %s.%s: %d handlers still running after %.1fs; killing them (their messages will be "
                "delivered again)",
                self.topic,
                self.host,
                len(leftovers),
                timeout,
            )
            for handler in leftovers:
                eventlet.kill(handler)
        loop.close()
        self._loop = self._pool = None

    def _queues(self) -> list[kombu.Queue]:
        assert self._settings is not None
        return [
            topology.topic_queue(self.topic, self._settings.quorum),
            topology.topic_queue(f"{self.topic}.{self.host}", self._settings.quorum),
            topology.fanout_queue(self.topic, self.fanout_queue_name),
        ]

    def _on_message(self, message: kombu.Message) -> None:
        loop, pool = self._loop, self._pool
        if loop is None or pool is None or loop.stopping:
            if loop is not None:
                loop.requeue(message)
            return
        pool.spawn_n(self._handle, loop, message)

    def _handle(self, loop: consumer.ConsumerLoop, message: kombu.Message) -> None:
        reply_to = message.properties.get("reply_to")
        correlation_id = message.properties.get("correlation_id")
        acked = False
        try:
            reply = self._run(message)
            if reply_to:
                acked = self._reply_inline and loop.reply_and_ack(message, reply, reply_to, correlation_id)
                if not acked:
                    client.send_reply(reply_to, correlation_id, reply)
        except Exception:  # noqa: BLE001 - one bad message must not kill the server
            LOG.exception("RPC server %s.%s failed to handle a message", self.topic, self.host)
        finally:
            nova_log.bind_request_id(None)
        # Not in the finally: a handler killed by stop() leaves its message
        # unacked, so the broker delivers it again.
        if not acked:
            loop.ack(message)

    def _run(self, message: kombu.Message) -> dict[str, Any]:
        """Decode and dispatch one message; returns the reply body."""
        try:
            body = wire.decode(message)
            method = body["method"]
            args = body.get("args") or {}
            ctxt = nova_context.RequestContext.from_dict(body.get("_context") or {"user_id": None, "project_id": None})
        except Exception as exc:  # noqa: BLE001 - malformed message: answer and drop it
            LOG.error("RPC server %s.%s dropped a malformed message: %s", self.topic, self.host, common.one_line(exc))
            return {"failure": common.failure_payload(common.RpcError(reason=f"malformed message: {exc}"))}
        nova_log.bind_request_id(ctxt.request_id)
        LOG.debug("RPC %s.%s received %s", self.topic, self.host, method)
        try:
            return {"result": self.dispatcher.dispatch(ctxt, method, args)}
        except (common.UnknownMethod, common.InvalidArguments) as exc:
            # The sender's mistake, found before the manager ran: one line, no traceback.
            LOG.warning("RPC %s on %s.%s refused: %s", method, self.topic, self.host, common.one_line(exc))
            return {"failure": common.failure_payload(exc)}
        except exception.NovaException as exc:
            if exc.code < 500 or exc.code == 503:
                # The caller's mistake or a known limit (NoMoreFloatingIps): one line, no traceback.
                LOG.warning("RPC %s on %s.%s: %s: %s", method, self.topic, self.host, type(exc).__name__,
                            common.one_line(exc))
            else:
                LOG.error("RPC %s on %s.%s failed: %s", method, self.topic, self.host, common.one_line(exc),
                          exc_info=True)
            return {"failure": common.failure_payload(exc)}
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
            LOG.error("RPC %s on %s.%s failed: %s", method, self.topic, self.host, common.one_line(exc), exc_info=True)
            return {"failure": common.failure_payload(exc)}


def _forget_after_fork() -> None:
    """In a forked child: the servers running in the parent stay the parent's (their consumer sockets
    are disowned, see ``connection.disown``); the child consumes nothing unless it starts servers."""
    for server in list(_running):
        _running.discard(server)
        if server._loop is not None:
            server._loop.disown_after_fork()
        server._loop = server._pool = None


os.register_at_fork(after_in_child=_forget_after_fork)


def stop_all(timeout: float = 0) -> None:
    """Stop servers their owners forgot (test clean-up, daemon exit)."""
    for server in list(_running):
        LOG.warning("Stopping RPC server %s.%s left running", server.topic, server.host)
        server.stop(timeout=timeout)
