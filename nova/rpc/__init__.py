"""nova's RPC over AMQP (kombu): RabbitMQ, or memory:// inside one process.

Clients use ``call``, ``cast`` and ``fanout_cast``; services run a ``Server``
for their topic and host with a ``Dispatcher`` over their manager.  See
``nova.rpc.topology`` for the exchanges and queues.
"""

from __future__ import annotations

from nova.rpc import client, connection, server
from nova.rpc.client import call, cast, fanout_cast
from nova.rpc.common import (
    BrokerUnavailable,
    InvalidArguments,
    PublishError,
    RemoteError,
    RpcError,
    Timeout,
    UnknownMethod,
)
from nova.rpc.connection import check_connection
from nova.rpc.dispatcher import Dispatcher
from nova.rpc.server import Server

__all__ = [
    "BrokerUnavailable",
    "Dispatcher",
    "InvalidArguments",
    "PublishError",
    "RemoteError",
    "RpcError",
    "Server",
    "Timeout",
    "UnknownMethod",
    "call",
    "cast",
    "check_connection",
    "cleanup",
    "fanout_cast",
]


def cleanup() -> None:
    """Close the process-wide connections and forget all RPC state.

    Stops servers still running, closes the publishers and the reply queue,
    and empties the memory transport, so the next user (a test, a daemon
    restarting its service) starts clean.
    """
    server.stop_all()
    client.reset()
    connection.reset_memory_broker()
