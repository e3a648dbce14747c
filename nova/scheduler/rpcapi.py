"""The typed client of nova-scheduler (``SchedulerManager``): the only code that builds its messages."""

from __future__ import annotations

from typing import Any

from nova import context as nova_context
from nova.rpc import proxy

Context = nova_context.RequestContext


class SchedulerAPI(proxy.RpcProxy):
    """One method per RPC method of ``nova.scheduler.manager.SchedulerManager``."""

    topic_flag = "scheduler_topic"

    def run_instance(self, ctxt: Context, topic: str, instance_id: int, availability_zone: str | None = None,
                     forced_host: str | None = None, vcpus: int | None = None,
                     memory_mb: int | None = None) -> None:
        """Cast: any scheduler places the instance and casts it on to ``<topic>.<host>``.  ``vcpus`` and
        ``memory_mb`` (the instance's, as written) spare the scheduler a read of the row."""
        self.cast(ctxt, self.make_msg("run_instance", topic=topic, instance_id=instance_id,
                                      availability_zone=availability_zone, forced_host=forced_host,
                                      vcpus=vcpus, memory_mb=memory_mb))

    def create_volume(self, ctxt: Context, topic: str, volume_id: int, snapshot_id: int | None = None,
                      availability_zone: str | None = None) -> None:
        """Cast: any scheduler places the volume and casts it on to ``<topic>.<host>``."""
        self.cast(ctxt, self.make_msg("create_volume", topic=topic, volume_id=volume_id, snapshot_id=snapshot_id,
                                      availability_zone=availability_zone))

    def update_service_capabilities(self, ctxt: Context, service_name: str, host: str,
                                    capabilities: dict[str, Any]) -> None:
        """Fanout: every scheduler running now learns what ``service_name`` on ``host`` offers."""
        self.fanout_cast(ctxt, self.make_msg("update_service_capabilities", service_name=service_name,
                                             host=host, capabilities=capabilities))

    def get_service_capabilities(self, ctxt: Context, host: str | None = None,
                                 timeout: float | None = None) -> dict[str, Any]:
        """Call: what one scheduler heard from every host (or from ``host``)."""
        return self.call(ctxt, self.make_msg("get_service_capabilities", host=host), timeout=timeout)
