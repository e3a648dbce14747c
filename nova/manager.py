"""Base class of the managers that hold each daemon's logic.

"Smart managers, dumb data": a manager owns its daemon's behaviour, calls its
driver for anything outside the process, and the db API for state.  Its
public methods, defined on subclasses, are what RPC may call (see
``nova.rpc.dispatcher``); the methods of this base class are not exposed.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from nova import context, flags

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)


def periodic_task(interval: float | None = None) -> Callable:
    """Mark a manager method as a periodic task.

    With no interval it runs every ``--periodic_interval``; otherwise at most
    once per ``interval`` seconds.
    """

    def decorate(func: Callable) -> Callable:
        func._periodic_task = True  # type: ignore[attr-defined]
        func._periodic_interval = interval  # type: ignore[attr-defined]
        return func

    if callable(interval):
        func, interval = interval, None
        return decorate(func)
    return decorate


class Manager:
    """Holds ``self.db`` and ``self.host``; subclasses add RPC methods."""

    rpc_hidden: frozenset[str] = frozenset()

    def __init__(self, host: str | None = None, db_driver: Any = None) -> None:
        from nova.db import api as db_api

        self.host = host or FLAGS.host
        self.db = db_driver or db_api
        self._last_run: dict[str, float] = {}

    def init_host(self) -> None:
        """Reconcile with the outside world before consuming messages."""

    def periodic_tasks(self, ctxt: context.RequestContext | None = None) -> None:
        """Run every method marked with ``@periodic_task`` that is due.

        One failing task is logged and does not stop the others.
        """
        ctxt = ctxt or context.get_admin_context()
        now = time.monotonic()
        for name in dir(type(self)):
            func = getattr(type(self), name, None)
            if not getattr(func, "_periodic_task", False):
                continue
            interval = func._periodic_interval
            last = self._last_run.get(name)
            if interval and last is not None and now - last < interval:
                continue
            self._last_run[name] = now
            try:
                getattr(self, name)(ctxt)
            except Exception:
                LOG.exception("Periodic task %s failed", name)

    def service_capabilities(self) -> dict[str, Any]:
        """What this node reports about itself (overridden by compute)."""
        return {}


class SchedulerDependentManager(Manager):
    """A manager whose node reports its capabilities to the schedulers.

    Every periodic run fanout-casts ``update_service_capabilities`` to the
    scheduler topic, so every nova-scheduler learns what this node offers.
    """

    service_name = "undefined"
    rpc_hidden = frozenset({"publish_service_capabilities", "service_capabilities"})

    @periodic_task
    def publish_service_capabilities(self, ctxt: context.RequestContext) -> None:
        from nova.scheduler import rpcapi as scheduler_rpcapi

        scheduler_rpcapi.SchedulerAPI().update_service_capabilities(ctxt, self.service_name, self.host,
                                                                    self.service_capabilities())
