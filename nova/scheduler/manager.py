"""nova-scheduler's manager: knows what each node offers and places instances.

Nodes fanout-cast their capabilities here (see
``nova.manager.SchedulerDependentManager``).  ``run_instance`` asks the
``--scheduler_driver`` for a host, records it on the instance and casts the
request to ``compute.<host>``; when no host fits, the instance goes to
``error`` with the reason instead of waiting in ``building``.  ``create_volume``
does the same for volumes (``volume.<host>``); a volume made from a snapshot
goes to the snapshot's host, which keeps the snapshot's data.
"""

from __future__ import annotations

import datetime
import logging
import time
from typing import Any

from eventlet import semaphore

from nova import context, exception, flags, manager, utils
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import states
from nova.volume import rpcapi as volume_rpcapi

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_string("scheduler_driver", "nova.scheduler.chance.ChanceScheduler",
                    "Class that picks hosts (nova.scheduler.chance.ChanceScheduler or "
                    "nova.scheduler.simple.SimpleScheduler)")


class SchedulerManager(manager.Manager):
    """Collects service capabilities and routes requests to hosts."""

    def __init__(self, host: str | None = None, db_driver: Any = None) -> None:
        super().__init__(host=host, db_driver=db_driver)
        self._capabilities: dict[str, dict[str, dict[str, Any]]] = {}
        self.driver = utils.import_class(FLAGS.scheduler_driver)()
        # Volume placement reads usage then records a host: one at a time, so
        # concurrent requests see each other's choices.
        self._placing = semaphore.Semaphore(1)
        # Instances whose placement is under way in this process.
        self._instances_in_flight: set[int] = set()

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

    def run_instance(self, ctxt: context.RequestContext, topic: str, instance_id: int,
                     availability_zone: str | None = None, forced_host: str | None = None,
                     vcpus: int | None = None, memory_mb: int | None = None) -> str | None:
        """Pick a host for the instance and cast ``run_instance`` to it; returns the host.

        With ``vcpus`` and ``memory_mb`` (sent by nova-api, which wrote them)
        the row is not read first: the compare-and-set that records the host
        finds an instance deleted or placed meanwhile, as the read would have.

        No lock is held across the database reads and writes: the driver
        counts the instances it placed whose host a concurrent usage read may
        not show yet (see ``Scheduler.placed``), so placements run side by side
        and still see each other's choices; it returns a host only once writing
        it cannot make a concurrent read count it twice (``nova.scheduler.claims``).
        """
        admin = ctxt.elevated()
        if instance_id in self._instances_in_flight:
            LOG.info("Instance %s is being placed already (the request came again)", instance_id)
            return None
        self._instances_in_flight.add(instance_id)
        try:
            if vcpus is not None and memory_mb is not None:
                instance = {"id": instance_id, "vcpus": vcpus, "memory_mb": memory_mb}
            else:
                try:
                    instance = self.db.instance_get_placement(admin, instance_id)
                except exception.NotFound:
                    LOG.info("Instance %s was deleted before it was scheduled", instance_id)
                    return None
                if instance["vm_state"] != states.BUILDING or instance["host"]:
                    LOG.info("Instance %s is already placed (%s, host %s)", instance_id, instance["vm_state"],
                             instance["host"])
                    return instance["host"]
            try:
                host = self.driver.schedule_run_instance(ctxt, topic, instance_id, instance=instance,
                                                         forced_host=forced_host,
                                                         availability_zone=availability_zone)
            except (exception.NoValidHost, exception.NotAuthorized) as exc:
                LOG.warning("Instance %s cannot be placed: %s", instance_id, exc)
                try:
                    self.db.instance_set(admin, instance_id, {"vm_state": states.ERROR, "task_state": None,
                                                              "fault": str(exc)})
                except exception.NotFound:
                    LOG.info("Instance %s was deleted while it was being scheduled", instance_id)
                return None
            try:
                # Compare-and-set: a delete (or another placement) since the read wins.
                recorded = self.db.instance_set(admin, instance_id, {"host": host, "scheduled_at": utils.utcnow()},
                                                expected={"vm_state": states.BUILDING, "host": None})
            except Exception:
                self.driver.forget(instance_id)
                raise
            if not recorded:
                self.driver.forget(instance_id)
                LOG.info("Instance %s was deleted or placed while it was being scheduled", instance_id)
                return None
            self.driver.placed(instance_id)
        finally:
            self._instances_in_flight.discard(instance_id)
        compute_rpcapi.ComputeAPI(topic=topic).run_instance(ctxt, host, instance_id)
        LOG.info("Instance %s goes to %s", instance_id, host)
        return host

    @manager.periodic_task
    def _fail_unplaced_instances(self, ctxt: context.RequestContext) -> None:
        """Instances no scheduler placed within ``--instance_build_timeout`` (their request was lost to a
        crash or a database outage) end in error with a fault instead of building forever."""
        limit = utils.utcnow() - datetime.timedelta(seconds=FLAGS.instance_build_timeout)
        try:
            waiting = self.db.instance_get_all_for_host(ctxt, None, states.BUILDING)
            for instance in waiting:
                if (instance["task_state"] != states.SCHEDULING or instance["created_at"] >= limit
                        or instance["id"] in self._instances_in_flight):
                    continue
                reason = f"no scheduler placed it within {FLAGS.instance_build_timeout}s"
                # Compare-and-set: an instance placed or deleted since the listing is left alone.
                if self.db.instance_set(ctxt, instance["id"], {"vm_state": states.ERROR, "task_state": None,
                                                               "fault": reason},
                                        expected={"vm_state": states.BUILDING, "host": None}):
                    LOG.error("Instance %s: %s", instance["id"], reason)
        except exception.DatabaseError as exc:
            LOG.warning("_fail_unplaced_instances skipped: %s", " ".join(str(exc).split())[:300])

    def create_volume(self, ctxt: context.RequestContext, topic: str, volume_id: int,
                      snapshot_id: int | None = None, availability_zone: str | None = None) -> str | None:
        """Pick a host for the volume and cast ``create_volume`` to it; returns the host."""
        admin = ctxt.elevated()
        with self._placing:
            try:
                volume = self.db.volume_get(admin, volume_id)
            except exception.NotFound:
                LOG.info("Volume %s was deleted before it was scheduled", volume_id)
                return None
            if volume["status"] != "creating" or volume["host"]:
                LOG.info("Volume %s is already placed (%s, host %s)", volume_id, volume["status"], volume["host"])
                return volume["host"]
            try:
                if snapshot_id is not None:
                    host = self._snapshot_host(admin, topic, snapshot_id)
                else:
                    host = self.driver.schedule_create_volume(ctxt, topic, volume_id,
                                                              availability_zone=availability_zone)
            except (exception.NoValidHost, exception.NotAuthorized, exception.SnapshotNotFound) as exc:
                LOG.warning("Volume %s cannot be placed: %s", volume_id, exc)
                self.db.volume_update(admin, volume_id, {"status": "error", "fault": str(exc)})
                return None
            self.db.volume_update(admin, volume_id, {"host": host, "scheduled_at": utils.utcnow()})
        volume_rpcapi.VolumeAPI(topic=topic).create_volume(ctxt, host, volume_id, snapshot_id=snapshot_id)
        LOG.info("Volume %s goes to %s", volume_id, host)
        return host

    def _snapshot_host(self, admin: context.RequestContext, topic: str, snapshot_id: int) -> str:
        host = self.db.snapshot_get(admin, snapshot_id)["host"]
        if host not in self.driver.hosts_up(admin, topic):
            raise exception.NoValidHost(reason=f"volume host {host}, which keeps snapshot {snapshot_id}, "
                                               f"is down or disabled.")
        return host
