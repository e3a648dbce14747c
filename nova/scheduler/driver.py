"""What every scheduling driver shares: which hosts are candidates at all.

A candidate is a service of the topic that is enabled (``nova-manage service
disable`` takes it out) and whose heartbeat is younger than
``--service_down_time``.
"""

from __future__ import annotations

from typing import Any

from nova import context as nova_context
from nova import exception, flags
from nova.db import api as db

FLAGS = flags.FLAGS

Context = nova_context.RequestContext


def zone_suffix(kwargs: dict[str, Any]) -> str:
    """" in zone Z" for messages, when the request named a zone."""
    zone = (kwargs.get("availability_zone") or "").partition(":")[0]
    return f" in zone {zone}" if zone else ""


class Scheduler:
    """Base class: picks a host for a request on a topic."""

    def placed(self, instance_id: int) -> None:
        """The manager recorded the host chosen for ``instance_id`` in the database."""

    def forget(self, instance_id: int) -> None:
        """The host chosen for ``instance_id`` was not recorded: it holds nothing there."""

    def hosts_up(self, ctxt: Context, topic: str, availability_zone: str | None = None) -> list[str]:
        """Hosts whose ``topic`` service is enabled and alive (in the zone, when one is named)."""
        from nova import service

        zone = (availability_zone or "").partition(":")[0]
        admin = ctxt.elevated()
        return [s["host"] for s in db.service_get_all_by_topic(admin, topic)
                if service.service_is_up(s) and (not zone or s["availability_zone"] == zone)]

    def forced_host(self, ctxt: Context, topic: str, host: str) -> str:
        """An admin's explicit choice, still refused when that host is down or disabled."""
        if not ctxt.is_admin:
            raise exception.NotAuthorized("Only an admin may place an instance on a given host.")
        if host not in self.hosts_up(ctxt, topic):
            raise exception.NoValidHost(reason=f"host {host} is down, disabled or does not run {topic}.")
        return host

    def schedule(self, ctxt: Context, topic: str, **kwargs: Any) -> str:
        raise NotImplementedError()

    def schedule_run_instance(self, ctxt: Context, topic: str, instance_id: int, **kwargs: Any) -> str:
        return self.schedule(ctxt, topic, instance_id=instance_id, **kwargs)

    def schedule_create_volume(self, ctxt: Context, topic: str, volume_id: int, **kwargs: Any) -> str:
        return self.schedule(ctxt, topic, volume_id=volume_id, **kwargs)
