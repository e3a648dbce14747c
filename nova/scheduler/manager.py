"""nova-scheduler's manager: knows what each node offers.

Nodes fanout-cast their capabilities here (see
``nova.manager.SchedulerDependentManager``); the scheduling drivers that pick
hosts for instances and volumes build on this table.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from nova import context, exception, flags, manager

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)


class SchedulerManager(manager.Manager):
    """Collects service capabilities; later, routes requests to hosts."""

    def __init__(self, host: str | None = None, db_driver: Any = None) -> None:
        super().__init__(host=host, db_driver=db_driver)
        self._capabilities: dict[str, dict[str, dict[str, Any]]] = {}

    def update_service_capabilities(self, ctxt: context.RequestContext, service_name: str, host: str,
                                    capabilities: dict[str, Any]) -> None:
        """Remember what ``service_name`` on ``host`` reported, with when."""
        reported = dict(capabilities or {})
        reported["timestamp"] = time.time()
        self._capabilities.setdefault(host, {})[service_name] = reported
        LOG.debug("Capabilities of %s on %s updated", service_name, host, extra={"context": ctxt})

    def get_service_capabilities(self, ctxt: context.RequestContext, host: str | None = None) -> dict[str, Any]:
        """Every host's capabilities, or one host's (HostNotFound if it never reported)."""
        if host is None:
            return self._capabilities
        if host not in self._capabilities:
            raise exception.HostNotFound(host=host)
        return {host: self._capabilities[host]}
