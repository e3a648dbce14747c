"""The simple scheduler: the least loaded live host that still has room.

For instances, load is the cores the host's live instances use, then their
RAM; a host takes no more than ``--max_cores`` cores, and no more RAM than its
compute node reports (when it has reported).  For volumes, load is the
gigabytes of the host's live volumes, up to ``--max_gigabytes``.  Other
requests are placed by chance.
"""

from __future__ import annotations

from typing import Any

from nova import exception, flags, utils
from nova.db import api as db
from nova.scheduler import chance, claims, driver

FLAGS = flags.FLAGS

flags.DEFINE_integer("max_cores", 16, "Most instance cores the simple scheduler puts on one host", lower_bound=1)
flags.DEFINE_integer("max_gigabytes", 10000, "Most volume gigabytes the simple scheduler puts on one host",
                     lower_bound=1)


class SimpleScheduler(chance.ChanceScheduler):
    def __init__(self) -> None:
        self.claims = claims.Claims()

    def placed(self, instance_id: int) -> None:
        self.claims.recorded(instance_id)

    def forget(self, instance_id: int) -> None:
        self.claims.forget(instance_id)

    def schedule_run_instance(self, ctxt: driver.Context, topic: str, instance_id: int, **kwargs: Any) -> str:
        """The least loaded host with room, counting this scheduler's placements not yet in the database.

        ``instance`` (the row, when the caller has it) spares a read.  Returns once the host may be
        recorded: no read of this process that began before the choice is still running (see ``claims``).
        """
        admin = ctxt.elevated()
        instance = kwargs.pop("instance", None) or db.instance_get_placement(admin, instance_id)
        if kwargs.get("forced_host"):
            return self.filter_hosts(ctxt, topic, **kwargs)[0]  # an admin's choice is not weighed
        vcpus, memory = instance["vcpus"] or 0, instance["memory_mb"] or 0
        token, unrecorded = self.claims.begin_read()
        try:
            # The live hosts, their nodes' memory and their instances' use: one statement.
            capacity = self.hosts_with_capacity(admin, topic, kwargs.get("availability_zone"), unrecorded)
            if not capacity:
                raise exception.NoValidHost(reason=f"no {topic} host is up and enabled{driver.zone_suffix(kwargs)}.")
            hosts = list(capacity)
            pending = self.claims.pending(token)
            candidates = []
            for host, row in capacity.items():
                used = {"vcpus": row["vcpus"], "memory_mb": row["used_memory_mb"], "instances": row["instances"]}
                for key, value in pending.get(host, {}).items():
                    used[key] = used.get(key, 0) + value
                if used["vcpus"] + vcpus > FLAGS.max_cores:
                    continue
                if row["memory_mb"] and used["memory_mb"] + memory > row["memory_mb"]:
                    continue
                candidates.append((used["vcpus"], used["memory_mb"], used["instances"], host))
            if not candidates:
                raise exception.NoValidHost(
                    reason=f"all {len(hosts)} live host(s) are at capacity for {vcpus} core(s) and {memory} MB "
                           f"(max_cores {FLAGS.max_cores}).")
            host = min(candidates)[3]
            self.claims.claim(instance_id, host, vcpus, memory)
        finally:
            self.claims.end_read(token)
        self.claims.wait_for_older_reads(instance_id)
        return host

    @staticmethod
    def hosts_with_capacity(admin: driver.Context, topic: str, availability_zone: str | None = None,
                            leave_out: list[int] | tuple[int, ...] = ()) -> dict[str, dict[str, Any]]:
        """``{host: compute_host_capacity row}`` of the live, enabled hosts (in the zone, when one is named),
        the instances in ``leave_out`` not counted."""
        from nova import service

        zone = (availability_zone or "").partition(":")[0]
        now = utils.utcnow()
        return {row["host"]: row for row in db.compute_host_capacity(admin, topic, leave_out)
                if service.service_is_up(row, now) and (not zone or row["availability_zone"] == zone)}

    def schedule_create_volume(self, ctxt: driver.Context, topic: str, volume_id: int, **kwargs: Any) -> str:
        admin = ctxt.elevated()
        size = db.volume_get(admin, volume_id)["size"] or 0
        hosts = self.filter_hosts(ctxt, topic, **kwargs)
        usage = db.volume_usage_by_host(admin, hosts)
        candidates = []
        for host in hosts:
            used = usage.get(host, {"gigabytes": 0, "volumes": 0})
            if used["gigabytes"] + size <= FLAGS.max_gigabytes:
                candidates.append((used["gigabytes"], used["volumes"], host))
        if not candidates:
            raise exception.NoValidHost(reason=f"all {len(hosts)} live volume host(s) are at capacity for "
                                               f"{size} GiB (max_gigabytes {FLAGS.max_gigabytes}).")
        return min(candidates)[2]
