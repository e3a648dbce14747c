"""Flags, exceptions and the wire format shared by the RPC client and server.

A request body is ``{"method": str, "args": dict, "_context": dict}``; a reply
body is ``{"result": value}`` or ``{"failure": {"class", "module", "message",
"code", "kwargs"}}``.  The remote traceback never crosses the wire: the server
logs it.  A failure whose class is a nova exception is raised again on the
caller's side as that class; anything else as ``RemoteError``.
"""

from __future__ import annotations

from typing import Any, Mapping

from nova import context as nova_context
from nova import exception, flags

FLAGS = flags.FLAGS

flags.DEFINE_string("rabbit_host", "127.0.0.1", "Host of the AMQP broker")
flags.DEFINE_integer("rabbit_port", 5672, "Port of the AMQP broker", lower_bound=1)
flags.DEFINE_list(
    "rabbit_hosts",
    [],
    "RabbitMQ cluster nodes as host:port,host:port,... (a node without :port uses --rabbit_port). Each "
    "connection goes to the first node that accepts it and fails over to the next; empty means "
    "--rabbit_host:--rabbit_port alone",
)
flags.DEFINE_boolean(
    "rabbit_quorum_queues",
    None,
    "Declare the topic queues (the ones holding casts) as durable quorum queues, replicated over the "
    "cluster; fan-out and reply queues stay classic and transient. Default: on when --rabbit_hosts lists "
    "more than one node. Cannot be switched on a broker that already has the queues of the other kind",
)
flags.DEFINE_boolean("rabbit_use_ssl", False, "Connect to the broker over TLS")
flags.DEFINE_string("rabbit_userid", "guest", "User name on the broker")
flags.DEFINE_string("rabbit_password", "guest", "Password on the broker")
flags.DEFINE_string("rabbit_virtual_host", "/", "Virtual host on the broker")
flags.DEFINE_float(
    "rabbit_retry_interval", 1.0, "Seconds between broker connection attempts (the first reconnect back-off)", lower_bound=0
)
flags.DEFINE_float(
    "rabbit_retry_backoff_max", 10.0, "Longest pause, in seconds, between reconnect attempts", lower_bound=0
)
flags.DEFINE_integer(
    "rabbit_max_retries", 5, "Broker connection attempts at daemon start-up before giving up", lower_bound=1
)
flags.DEFINE_integer(
    "rabbit_heartbeat", 60, "AMQP heartbeat of consumer connections in seconds (0 disables)", lower_bound=0
)
flags.DEFINE_boolean("fake_rabbit", False, "Use the in-process memory transport instead of a broker (one process only)")
flags.DEFINE_string("control_exchange", "nova", "Topic exchange every service consumes from")
flags.DEFINE_float(
    "rpc_response_timeout", 60.0, "Seconds a call waits for its reply, and a send retries a broker outage", lower_bound=0
)
flags.DEFINE_integer(
    "rpc_conn_pool_size",
    10,
    "Broker connections each of a process's two publisher pools (casts; calls and replies) opens at most: "
    "sends waiting for their publisher confirms at the same time each need one",
    lower_bound=1,
)
flags.DEFINE_integer("rpc_thread_pool_size", 64, "Messages a server handles at once", lower_bound=1)
flags.DEFINE_float(
    "rpc_memory_polling_interval",
    0.002,
    "Seconds between polls of the memory transport (fake_rabbit). Every idle consumer wakes this often: "
    "smaller values cut call latency but burn CPU, and 0 busy-spins a core. kombu's own default (1 s) "
    "makes every call take a second.",
    lower_bound=0,
)


class RpcError(exception.NovaException):
    message = "RPC failed: %(reason)s"


class Timeout(RpcError):
    message = "Timed out after %(timeout)ss waiting for a reply to %(method)s on topic %(topic)s"
    code = 504


class BrokerUnavailable(RpcError):
    message = "Cannot reach the message broker at %(url)s: %(reason)s"
    code = 503


class PublishError(RpcError):
    message = "Cannot send to %(target)s on %(url)s: %(reason)s"


class UnknownMethod(RpcError):
    message = "Unknown RPC method %(method)s on %(manager)s"
    code = 400


class InvalidArguments(RpcError):
    message = "Bad arguments for RPC method %(method)s: %(reason)s"
    code = 400


class RemoteError(RpcError):
    """An exception raised by the remote handler, re-raised on the caller's side.

    ``exc_type`` is the remote class name, ``value`` its message, ``module`` its
    module and ``code`` its nova code (500 for non-nova exceptions).
    """

    def __init__(self, exc_type: str, value: str, module: str | None = None, code: int | None = None) -> None:
        self.exc_type = exc_type
        self.value = value
        self.module = module
        if isinstance(code, int):
            self.code = code
        super().__init__(f"{exc_type}: {value}" if value else exc_type)


def one_line(exc: BaseException) -> str:
    """An exception as one log-friendly line: its text, or its class name when it has none."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def envelope(ctxt: nova_context.RequestContext, msg: Mapping[str, Any]) -> dict[str, Any]:
    """The request body for ``msg``; the caller's dict is not modified."""
    method = msg.get("method")
    if not isinstance(method, str) or not method:
        raise ValueError(f"an RPC message needs a 'method' string, got {method!r}")
    args = msg.get("args") or {}
    if type(args) is not dict and not isinstance(args, Mapping):
        raise ValueError(f"RPC 'args' must be a dict, got {type(args).__name__}")
    return {"method": method, "args": dict(args), "_context": ctxt.to_dict()}


_SCALARS = (str, int, float, bool, type(None))


def failure_payload(exc: BaseException) -> dict[str, Any]:
    """The reply body's ``failure`` for ``exc``: class, module, message, code and scalar kwargs."""
    code = getattr(exc, "code", None)
    kwargs = getattr(exc, "kwargs", None) if isinstance(exc, exception.NovaException) else None
    return {
        "class": type(exc).__name__,
        "module": type(exc).__module__,
        "message": str(exc),
        "code": code if isinstance(code, int) else 500,
        "kwargs": {k: v for k, v in (kwargs or {}).items() if isinstance(k, str) and isinstance(v, _SCALARS)},
    }


def _nova_exception_class(module: Any, name: Any) -> type[exception.NovaException] | None:
    """The already-imported NovaException subclass ``module.name``; nothing is imported by name."""
    pending: list[type[exception.NovaException]] = [exception.NovaException]
    while pending:
        cls = pending.pop()
        if cls.__module__ == module and cls.__name__ == name:
            return cls
        pending.extend(cls.__subclasses__())
    return None


def remote_exception(failure: Mapping[str, Any]) -> exception.NovaException:
    """The exception a reply's failure stands for: the same nova exception class where it is one
    (with its kwargs, so a front end renders it as if raised locally), else a RemoteError.

    This is the one place where remote failures become exceptions again.
    """
    name = str(failure.get("class") or "RemoteError")
    message = str(failure.get("message") or "")
    cls = _nova_exception_class(failure.get("module"), name)
    if cls is None or cls is RemoteError:
        return RemoteError(name, message, failure.get("module"), failure.get("code"))
    kwargs = failure.get("kwargs")
    exc = cls.__new__(cls)
    exception.NovaException.__init__(exc, message, **(kwargs if isinstance(kwargs, Mapping) else {}))
    exc.remote = True
    return exc


def result_from_reply(reply: Mapping[str, Any]) -> Any:
    """The result a reply body carries, or raise the exception it describes (``remote_exception``)."""
    failure = reply.get("failure")
    if failure is not None:
        if not isinstance(failure, Mapping):
            raise RemoteError("RemoteError", str(failure))
        raise remote_exception(failure)
    return reply.get("result")
