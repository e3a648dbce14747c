"""Broker settings from flags, kombu connections, and the start-up check.

Every connection is built from a ``BrokerSettings`` snapshot of the flags, so
code holding connections can tell when the flags changed under it.
"""

from __future__ import annotations

import dataclasses
import logging
import urllib.parse

import amqp.exceptions
import eventlet
import kombu
from kombu.transport import memory

from nova.rpc import common

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
    """What a connection is built from; equal settings mean interchangeable connections."""

    memory: bool
    host: str = ""
    port: int = 0
    userid: str = ""
    password: str = dataclasses.field(default="", repr=False)
    virtual_host: str = "/"
    use_ssl: bool = False
    heartbeat: int = 0
    polling_interval: float = 0.0

    @property
    def display_url(self) -> str:
        """The broker URL without the password, for logs and errors."""
        if self.memory:
            return "memory://"
        scheme = "amqps" if self.use_ssl else "amqp"
        vhost = "/" if self.virtual_host == "/" else urllib.parse.quote(self.virtual_host, safe="")
        return f"{scheme}://{urllib.parse.quote(self.userid, safe='')}@{self.host}:{self.port}/{vhost}"


def current_settings() -> BrokerSettings:
    if FLAGS.fake_rabbit:
        return BrokerSettings(memory=True, polling_interval=FLAGS.rpc_memory_polling_interval)
    return BrokerSettings(
        memory=False,
        host=FLAGS.rabbit_host,
        port=FLAGS.rabbit_port,
        userid=FLAGS.rabbit_userid,
        password=FLAGS.rabbit_password,
        virtual_host=FLAGS.rabbit_virtual_host,
        use_ssl=FLAGS.rabbit_use_ssl,
        heartbeat=FLAGS.rabbit_heartbeat,
    )


def new_connection(
    settings: BrokerSettings,
    *,
    consumer: bool = False,
    confirm: bool = False,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> kombu.Connection:
    """An unconnected kombu connection.

    Consumer connections get heartbeats (their loop calls heartbeat_check);
    publisher connections sit idle between sends, so they get none.
    ``confirm`` makes every publish wait for the broker's ack.
    """
    if settings.memory:
        return kombu.Connection("memory://", transport_options={"polling_interval": settings.polling_interval})
    return kombu.Connection(
        hostname=settings.host,
        port=settings.port,
        userid=settings.userid,
        password=settings.password,
        virtual_host=settings.virtual_host,
        ssl=settings.use_ssl,
        heartbeat=settings.heartbeat if consumer else 0,
        connect_timeout=connect_timeout,
        transport="pyamqp",
        transport_options={"confirm_publish": confirm},
    )


def connect(conn: kombu.Connection) -> None:
    """One connection attempt; raises the transport's error on failure."""
    conn.ensure_connection(max_retries=0, reraise_as_library_errors=False)


def broker_errors(conn: kombu.Connection) -> tuple[type[BaseException], ...]:
    """Every error class that means "the connection or channel is unusable"."""
    return (
        tuple(conn.connection_errors)
        + tuple(conn.channel_errors)
        + tuple(conn.recoverable_connection_errors)
        + (OSError,)
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
    for attempt in range(1, attempts + 1):
        conn = new_connection(settings)
        try:
            connect(conn)
            return
        except PERMANENT_ERRORS as exc:
            raise common.BrokerUnavailable(url=settings.display_url, reason=common.one_line(exc)) from None
        except broker_errors(conn) as exc:
            reason = common.one_line(exc)
        finally:
            close_quietly(conn)
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
