"""Broker settings from flags, kombu connections, and the start-up check.

Every connection is built from a ``BrokerSettings`` snapshot of the flags, so
code holding connections can tell when the flags changed under it.
"""

from __future__ import annotations

import dataclasses
import logging
import operator
import os
import sys
import urllib.parse

import amqp.exceptions
import eventlet
import kombu
from kombu.transport import memory

from nova.rpc import common, wire

FLAGS = common.FLAGS
LOG = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
CLOSE_TIMEOUT = 2.0

# Broker errors that retrying cannot fix: bad credentials or vhost, or an
# entity redeclared with other attributes.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    amqp.exceptions.AccessRefused,
    amqp.exceptions.NotAllowed,
    amqp.exceptions.InvalidPath,
    amqp.exceptions.PreconditionFailed,
)


@dataclasses.dataclass(frozen=True)
class BrokerSettings:
    """What a connection is built from; equal settings mean interchangeable connections.

    ``hosts`` lists the cluster's nodes in the order connections try them.
    """

    memory: bool
    hosts: tuple[tuple[str, int], ...] = ()
    userid: str = ""
    password: str = dataclasses.field(default="", repr=False)
    virtual_host: str = "/"
    use_ssl: bool = False
    heartbeat: int = 0
    polling_interval: float = 0.0
    quorum: bool = False

    @property
    def display_url(self) -> str:
        """The broker URL without the password (every node), for logs and errors."""
        if self.memory:
            return "memory://"
        return self.node_url(",".join(_netloc(host, port) for host, port in self.hosts))

    def node_url(self, netloc: str) -> str:
        scheme = "amqps" if self.use_ssl else "amqp"
        vhost = "/" if self.virtual_host == "/" else urllib.parse.quote(self.virtual_host, safe="")
        return f"{scheme}://{urllib.parse.quote(self.userid, safe='')}@{netloc}/{vhost}"


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_hosts(entries: list[str], default_port: int) -> tuple[tuple[str, int], ...]:
    """``["h1:5672", "h2", "[::1]:5673"]`` -> ((host, port), ...); ValueError naming a bad entry."""
    hosts = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        host, port = entry, str(default_port)
        if entry.startswith("["):
            host, sep, rest = entry[1:].partition("]")
            if not sep or (rest and not rest.startswith(":")):
                raise ValueError(f"bad --rabbit_hosts entry {entry!r}")
            port = rest[1:] or port
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"bad --rabbit_hosts entry {entry!r}: expected host:port")
        hosts.append((host, int(port)))
    return tuple(hosts)


# The flags current_settings() reads: while none changes, its answer stays the same.
_SETTINGS_FLAGS = (
    "fake_rabbit", "rpc_memory_polling_interval", "rabbit_hosts", "rabbit_host", "rabbit_port", "rabbit_userid",
    "rabbit_password", "rabbit_virtual_host", "rabbit_use_ssl", "rabbit_heartbeat", "rabbit_quorum_queues",
)
_flag_objects: tuple = ()
# absl's Flag.value is a property returning ``_value``: read the attribute itself (a C-level read per flag, on
# every send) while absl keeps it there; else through the property.
_VALUE = operator.attrgetter("_value" if isinstance(getattr(type(FLAGS["rabbit_host"]), "value", None), property)
                             and hasattr(FLAGS["rabbit_host"], "_value") else "value")
# (raw flag values, lists copied; the settings built from them)
_cached: tuple[tuple, BrokerSettings] | None = None


def cached_settings() -> BrokerSettings:
    """current_settings(), rebuilt only when one of the flags it reads changed: what every send asks.

    Compares the flags' raw values (one attribute read each, against a
    microsecond-scale FLAGS lookup); a value naming another flag ($name) is
    never cached, since only current_settings() resolves it.
    """
    global _cached, _flag_objects
    if not _flag_objects:
        _flag_objects = tuple(FLAGS[name] for name in _SETTINGS_FLAGS)
    key = tuple(map(_VALUE, _flag_objects))
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    settings = current_settings()
    if not any(isinstance(value, str) and "$" in value for value in key):
        _cached = (tuple(list(value) if isinstance(value, list) else value for value in key), settings)
    return settings


def current_settings() -> BrokerSettings:
    if FLAGS.fake_rabbit:
        return BrokerSettings(memory=True, polling_interval=FLAGS.rpc_memory_polling_interval)
    try:
        hosts = parse_hosts(FLAGS.rabbit_hosts or [], FLAGS.rabbit_port)
    except ValueError as exc:
        raise common.BrokerUnavailable(url=",".join(FLAGS.rabbit_hosts), reason=str(exc)) from None
    hosts = hosts or ((FLAGS.rabbit_host, FLAGS.rabbit_port),)
    quorum = FLAGS.rabbit_quorum_queues
    return BrokerSettings(
        memory=False,
        hosts=hosts,
        userid=FLAGS.rabbit_userid,
        password=FLAGS.rabbit_password,
        virtual_host=FLAGS.rabbit_virtual_host,
        use_ssl=FLAGS.rabbit_use_ssl,
        heartbeat=FLAGS.rabbit_heartbeat,
        quorum=len(hosts) > 1 if quorum is None else bool(quorum),
    )


def _client_properties() -> dict:
    """Shown by ``rabbitmqctl list_connections user_provided_name``: which process holds the connection."""
    return {"connection_name": f"{os.path.basename(sys.argv[0] or 'python')} pid {os.getpid()}"}


def new_connection(
    settings: BrokerSettings,
    *,
    consumer: bool = False,
    confirm: bool = False,
    connect_timeout: float = CONNECT_TIMEOUT,
    node: int = 0,
) -> kombu.Connection:
    """An unconnected kombu connection to node number ``node`` of ``settings.hosts``.

    Consumer connections get heartbeats (their loop calls heartbeat_check);
    publisher connections sit idle between sends, so they get none.
    ``confirm`` makes every publish wait for the broker's ack.
    """
    if settings.memory:
        return kombu.Connection("memory://", transport_options={"polling_interval": settings.polling_interval})
    host, port = settings.hosts[node]
    return kombu.Connection(
        hostname=host,
        port=port,
        userid=settings.userid,
        password=settings.password,
        virtual_host=settings.virtual_host,
        ssl=settings.use_ssl,
        heartbeat=settings.heartbeat if consumer else 0,
        connect_timeout=connect_timeout,
        transport="pyamqp",
        transport_options={"confirm_publish": confirm, "client_properties": _client_properties()},
    )


def connect(conn: kombu.Connection) -> None:
    """One connection attempt; raises the transport's error on failure."""
    conn.ensure_connection(max_retries=0, reraise_as_library_errors=False)


def open_connection(
    settings: BrokerSettings,
    *,
    consumer: bool = False,
    confirm: bool = False,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> kombu.Connection:
    """A connected connection to the first node of ``settings.hosts`` that accepts one.

    Tries each node once, in order.  A refusal that retrying cannot fix
    (credentials, vhost) is raised at once; when no node answers, raises the
    last node's error (OSError naming every node when there are several).
    """
    if settings.memory or len(settings.hosts) == 1:
        conn = new_connection(settings, consumer=consumer, confirm=confirm, connect_timeout=connect_timeout)
        try:
            connect(conn)
        except BaseException:
            close_quietly(conn)
            raise
        wire.buffer_reads(conn)
        return conn
    reasons = []
    for node, (host, port) in enumerate(settings.hosts):
        conn = new_connection(settings, consumer=consumer, confirm=confirm, connect_timeout=connect_timeout,
                              node=node)
        try:
            connect(conn)
        except PERMANENT_ERRORS:
            close_quietly(conn)
            raise
        except broker_errors(conn) as exc:
            close_quietly(conn)
            reasons.append(f"{_netloc(host, port)}: {common.one_line(exc)}")
            continue
        if reasons:
            LOG.info("Connected to RabbitMQ node %s (not reachable: %s)", _netloc(host, port), "; ".join(reasons))
        wire.buffer_reads(conn)
        return conn
    raise OSError(f"no RabbitMQ node reachable ({'; '.join(reasons)})")


def node_of(conn: kombu.Connection) -> str:
    """``host:port`` of the node ``conn`` is connected to, for logs."""
    return "memory" if conn.transport_cls == "memory" else _netloc(conn.hostname, conn.port)


def broker_errors(conn: kombu.Connection) -> tuple[type[BaseException], ...]:
    """Every error class that means "the connection or channel is unusable"."""
    return (
        tuple(conn.connection_errors)
        + tuple(conn.channel_errors)
        + tuple(conn.recoverable_connection_errors)
        + (OSError, amqp.exceptions.MessageNacked)
    )


def close_quietly(conn: kombu.Connection | None) -> None:
    """Close ``conn`` without raising and without waiting more than CLOSE_TIMEOUT."""
    if conn is None:
        return
    with eventlet.Timeout(CLOSE_TIMEOUT, False):
        try:
            conn.release()
        except Exception as exc:  # noqa: BLE001 - the connection is being thrown away
            LOG.debug("Ignored error while closing a broker connection: %s", common.one_line(exc))


def disown(conn: kombu.Connection | None) -> None:
    """In a forked child: point this process's copy of ``conn``'s socket at /dev/null.

    The socket is the parent's too: whatever the child would read from it
    (replies, requests) the parent would miss, and whatever it would write
    (a close, a frame) would land in the middle of the parent's stream.
    After this the child reads end-of-file and writes vanish, while the
    parent's connection carries on untouched.
    """
    amqp_conn = getattr(conn, "_connection", None) if conn is not None else None
    sock = getattr(getattr(amqp_conn, "transport", None), "sock", None)
    try:
        fd = sock.fileno() if sock is not None else -1
    except OSError:
        return
    if fd < 0:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def backoff(failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive failed attempts (doubling, capped)."""
    start = FLAGS.rabbit_retry_interval
    return min(start * (2 ** max(failures - 1, 0)), max(FLAGS.rabbit_retry_backoff_max, start))


def check_connection() -> None:
    """Make sure the broker answers, for daemon start-up.

    Tries ``rabbit_max_retries`` times, ``rabbit_retry_interval`` apart (once
    when the broker refuses the credentials or vhost), and raises
    BrokerUnavailable with a one-line message naming the broker URL (without
    the password) and the last reason.
    """
    settings = current_settings()
    if settings.memory:
        return
    attempts = FLAGS.rabbit_max_retries
    reason = "no attempt made"
    errors = broker_errors(new_connection(settings))
    for attempt in range(1, attempts + 1):
        try:
            close_quietly(open_connection(settings))
            return
        except PERMANENT_ERRORS as exc:
            raise common.BrokerUnavailable(url=settings.display_url, reason=common.one_line(exc)) from None
        except errors as exc:
            reason = common.one_line(exc)
        if attempt < attempts:
            LOG.warning(
                "Broker %s unreachable (attempt %d of %d): %s", settings.display_url, attempt, attempts, reason
            )
            eventlet.sleep(FLAGS.rabbit_retry_interval)
    raise common.BrokerUnavailable(url=settings.display_url, reason=f"{reason} (gave up after {attempts} attempts)")


def reset_memory_broker() -> None:
    """Forget every queue, exchange and binding of the in-process memory transport."""
    memory.Channel.queues.clear()
    memory.Channel.events.clear()
    memory.Transport.global_state.clear()
