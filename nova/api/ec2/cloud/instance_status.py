"""DescribeInstanceStatus, MonitorInstances and UnmonitorInstances.

An instance's status checks: ``instanceStatus`` is ``ok`` while it runs;
``systemStatus`` is ``ok`` while the compute service of its host sends its
heartbeat and ``impaired`` when it does not.  Instances that are not
running have no checks (``not-applicable``) and are listed only with
``IncludeAllInstances``.  There is no detailed monitoring: Monitor and
UnmonitorInstances answer ``disabled``.
"""

from __future__ import annotations

from typing import Any, Callable

from nova import context, flags
from nova.api.ec2 import ec2utils
from nova.api.ec2.actions import ALL, PROJECT_ADMIN, ActionSet
from nova.api.ec2.cloud import instances
from nova.api.ec2.cloud import tags as tagging
from nova.api.ec2.params import Boolean, Filters, Integer, Param, String
from nova.compute import api as compute_api

FLAGS = flags.FLAGS
actions = ActionSet()


def _summary(status: str, check: str) -> dict[str, Any]:
    if status == "not-applicable":
        return {"status": status, "details": []}
    return {"status": status, "details": [{"name": check, "status": "passed" if status == "ok" else "failed"}]}


def _statuses(row: Any, host_alive: bool) -> tuple[str, str]:
    """(instance status, system status) of an instance row."""
    if ec2utils.instance_state(row)[1] != ec2utils.RUNNING:
        return "not-applicable", "not-applicable"
    return ("ok" if host_alive else "insufficient-data"), ("ok" if host_alive else "impaired")


_FILTER_VALUES: dict[str, Callable[[tuple[Any, str, str]], list[Any]]] = {
    "availability-zone": lambda e: [e[0]["availability_zone"] or FLAGS.node_availability_zone],
    "instance-state-name": lambda e: [ec2utils.instance_state(e[0])[1]],
    "instance-state-code": lambda e: [ec2utils.instance_state(e[0])[0]],
    "instance-status.status": lambda e: [e[1]],
    "instance-status.reachability": lambda e: [{"ok": "passed"}.get(e[1], e[1])],
    "system-status.status": lambda e: [e[2]],
    "system-status.reachability": lambda e: [{"ok": "passed", "impaired": "failed"}.get(e[2], e[2])],
    "event.code": lambda e: [],
}


@actions.register("DescribeInstanceStatus", roles=ALL, params=[
    Param("InstanceId", instances.INSTANCE_IDS, default=[]),
    Param("IncludeAllInstances", Boolean(), default=False),
    Param("Filter", Filters(*_FILTER_VALUES), default={}, dest="filters"),
    Param("MaxResults", Integer(5, 1000)),
    Param("NextToken", String(max_length=64)),
])
def describe_instance_status(ctxt: context.RequestContext, instance_id: list[int], include_all_instances: bool,
                             filters: dict[str, list[str]], max_results: int | None,
                             next_token: str | None) -> dict[str, Any]:
    compute = compute_api.API()
    if instance_id:
        rows = instances._instances_by_id(ctxt, instance_id, with_deleted=False)
    else:
        rows = compute.get_all(ctxt, {})
    if not include_all_instances:
        rows = [r for r in rows if ec2utils.instance_state(r)[1] == ec2utils.RUNNING]
    alive = compute.hosts_alive(ctxt, sorted({r["host"] for r in rows if r["host"]}))
    entries = [(r, *_statuses(r, alive.get(r["host"], False))) for r in rows]
    entries = [e for e in entries if tagging.matches(filters, _FILTER_VALUES, e, {})]
    page, token = tagging.paginate(entries, max_results, next_token)
    return {"instanceStatusSet": [{
        "instanceId": ec2utils.id_to_ec2_id(row["id"], "i"),
        "availabilityZone": row["availability_zone"] or FLAGS.node_availability_zone,
        "instanceState": dict(zip(("code", "name"), ec2utils.instance_state(row))),
        "instanceStatus": _summary(instance_status, "reachability"),
        "systemStatus": _summary(system_status, "reachability"),
        "eventsSet": [],
    } for row, instance_status, system_status in page], "nextToken": token}


def _monitoring(ctxt: context.RequestContext, instance_id: list[int]) -> dict[str, Any]:
    rows = instances._instances_by_id(ctxt, instance_id, with_deleted=False)
    return {"instancesSet": [{"instanceId": ec2utils.id_to_ec2_id(r["id"], "i"), "monitoring": {"state": "disabled"}}
                             for r in rows]}


@actions.register("MonitorInstances", roles=PROJECT_ADMIN, params=[
    Param("InstanceId", instances.INSTANCE_IDS, required=True),
])
def monitor_instances(ctxt: context.RequestContext, instance_id: list[int]) -> dict[str, Any]:
    """There is no detailed monitoring here: every instance stays ``disabled``."""
    return _monitoring(ctxt, instance_id)


@actions.register("UnmonitorInstances", roles=PROJECT_ADMIN, params=[
    Param("InstanceId", instances.INSTANCE_IDS, required=True),
])
def unmonitor_instances(ctxt: context.RequestContext, instance_id: list[int]) -> dict[str, Any]:
    return _monitoring(ctxt, instance_id)
