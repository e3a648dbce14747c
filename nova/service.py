"""A daemon's Service: a manager on the bus, with heartbeat and periodic tasks.

``Service(host, binary, topic, manager_class)`` consumes ``topic``,
``topic.<host>`` and the topic's fanout, dispatches messages to the manager,
writes a heartbeat into the ``services`` table every ``--report_interval``
seconds and runs the manager's periodic tasks.  ``serve()`` and ``wait()``
run services until SIGTERM or SIGINT, then stop them gracefully.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Any

import eventlet
import eventlet.event
import eventlet.hubs
import eventlet.patcher

from nova import context, exception, flags, rpc, sdnotify, utils
from nova.db import api as db
from nova.servicegroup import service_is_up  # noqa: F401  (callers name it nova.service.service_is_up)

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_integer("report_interval", 10, "Seconds between heartbeats into the services table", lower_bound=1)
flags.DEFINE_integer("periodic_interval", 60, "Seconds between runs of the periodic tasks", lower_bound=1)
flags.DEFINE_integer("graceful_shutdown_timeout", 60, "Seconds a stopping service waits for messages in hand", lower_bound=0)


class Service:
    """One manager exposed over RPC on ``topic`` for ``host``."""

    def __init__(self, host: str, binary: str, topic: str, manager_class: str,
                 report_interval: int | None = None, periodic_interval: int | None = None) -> None:
        self.host = host
        self.binary = binary
        self.topic = topic
        self.manager_class_name = manager_class
        self.manager = utils.import_class(manager_class)(host=host)
        self.report_interval = report_interval or FLAGS.report_interval
        self.periodic_interval = periodic_interval or FLAGS.periodic_interval
        self.service_id: int | None = None
        self.server: Any = None
        self._timers: list[eventlet.greenthread.GreenThread] = []
        self._stopped = eventlet.event.Event()
        self._model_disconnected = False

    @classmethod
    def create(cls, binary: str | None = None, topic: str | None = None, host: str | None = None,
               manager: str | None = None, **kwargs: Any) -> "Service":
        """Defaults as the first Nova had them: topic from the binary, manager from its flag."""
        binary = binary or os.path.basename(sys.argv[0])
        topic = topic or binary.rpartition("nova-")[2]
        manager = manager or getattr(FLAGS, f"{topic}_manager")
        return cls(host or FLAGS.host, binary, topic, manager, **kwargs)

    def start(self) -> None:
        ctxt = context.get_admin_context()
        self.manager.init_host()
        self.service_id = self._ensure_service_row(ctxt)["id"]
        from nova.rpc import dispatcher

        self.server = rpc.Server(self.topic, self.host, dispatcher.Dispatcher(self.manager))
        self.server.start()
        self._timers.append(eventlet.spawn(self._every, self.report_interval, self.report_state))
        self._timers.append(eventlet.spawn(self._every, self.periodic_interval, self.periodic_tasks, initial_delay=True))
        LOG.info("Started %s on %s (topic %s, manager %s)", self.binary, self.host, self.topic, self.manager_class_name)

    def _ensure_service_row(self, ctxt: context.RequestContext) -> Any:
        try:
            return db.service_get_by_args(ctxt, self.host, self.binary)
        except exception.NotFound:
            return db.service_create(ctxt, {
                "host": self.host,
                "binary": self.binary,
                "topic": self.topic,
                "report_count": 0,
                "availability_zone": FLAGS.node_availability_zone,
            })

    def _every(self, interval: float, func: Any, initial_delay: bool = False) -> None:
        if initial_delay:
            eventlet.sleep(interval)
        while not self._stopped.ready():
            try:
                func()
            except Exception:
                LOG.exception("%s failed", getattr(func, "__name__", func))
            eventlet.sleep(interval)

    def report_state(self) -> None:
        """Heartbeat: bump report_count and updated_at; recreate a lost row.

        A database outage is logged once, not per beat, and does not stop the
        service: beats resume when the database answers again.
        """
        ctxt = context.get_admin_context()
        try:
            try:
                db.service_heartbeat(ctxt, self.service_id)
            except exception.NotFound:
                self.service_id = self._ensure_service_row(ctxt)["id"]
                db.service_heartbeat(ctxt, self.service_id)
        except Exception as exc:
            if not self._model_disconnected:
                self._model_disconnected = True
                LOG.error("Model server went away: %s", " ".join(str(exc).split())[:300])
            return
        if self._model_disconnected:
            self._model_disconnected = False
            LOG.info("Model server is back; heartbeats resume")

    def periodic_tasks(self) -> None:
        self.manager.periodic_tasks(context.get_admin_context())

    def stop(self, timeout: float | None = None) -> None:
        """Stop consuming, let messages in hand finish, stop the timers."""
        if self._stopped.ready():
            return
        self._stopped.send(True)
        for timer in self._timers:
            timer.kill()
        if self.server is not None:
            self.server.stop(timeout=FLAGS.graceful_shutdown_timeout if timeout is None else timeout)
        LOG.info("Stopped %s on %s", self.binary, self.host)

    def kill(self) -> None:
        """Stop and remove this service's row (used by tests and decommissioning)."""
        self.stop(timeout=0)
        if self.service_id is None:
            return
        try:
            db.service_destroy(context.get_admin_context(), self.service_id)
        except exception.NotFound:
            pass


_launched: list[Any] = []


def serve(*services: Any) -> None:
    """Start services (Service or WSGI servers) and install the stop signals."""
    for service in services:
        service.start()
        _launched.append(service)
    _launched.append(_stop_signal_event())


def _stop_signal_event() -> eventlet.event.Event:
    """An event sent the first SIGTERM or SIGINT, from a greenthread.

    A Python signal handler runs while the hub sleeps in epoll, and the
    interrupted epoll is retried (PEP 475): what the handler schedules would
    wait for the hub's next wake-up, up to a minute in an idle daemon. So the
    handler only notes the signal and writes a byte to a pipe the hub
    watches; a greenthread reading the pipe logs it and sends the event.
    """
    done = eventlet.event.Event()
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    caught: list[int] = []
    write = eventlet.patcher.original("os").write

    def _on_signal(signum: int, frame: Any) -> None:
        caught.append(signum)
        try:
            write(write_fd, b"s")
        except OSError:
            pass  # the pipe is full: the watcher has a byte to wake on already

    def _watch() -> None:
        while True:
            eventlet.hubs.trampoline(read_fd, read=True)
            try:
                os.read(read_fd, 64)
            except BlockingIOError:
                pass
            while caught:
                signum = caught.pop(0)
                LOG.info("Caught %s, stopping", signal.Signals(signum).name)
                if not done.ready():
                    done.send(signum)

    eventlet.spawn(_watch)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    return done


def wait() -> int:
    """Block until a stop signal, stop everything gracefully, return 0."""
    done = _launched.pop()
    done.wait()
    sdnotify.stopping()
    for service in reversed(_launched):
        try:
            service.stop()
        except Exception:
            LOG.exception("Error while stopping %s", service)
    _launched.clear()
    rpc.cleanup()
    return 0
