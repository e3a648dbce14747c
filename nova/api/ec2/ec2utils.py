"""EC2 ids and instance states.

EC2 ids are a prefix and the database id in eight (or more) hex digits:
``i-0000000a`` is instance 10 (the conversions live in ``nova.ec2_ids``; a
malformed id is an ``Invalid<Kind>ID.Malformed`` error here).  Region and
availability zone are both "nova" unless the flags say otherwise.
"""

from __future__ import annotations

import datetime
from typing import Any

from nova import ec2_ids, exception, utils
from nova.ec2_ids import IMAGE_PREFIXES, id_to_ec2_id, image_ec2_id  # noqa: F401  (used by the EC2 controllers)

# prefix -> (kind used in error codes, kwargs of nova exceptions that carry such ids)
PREFIXES = {
    "i": ("InvalidInstanceID", ("instance_id",)),
    "ami": ("InvalidAMIID", ("image_id",)),
    "aki": ("InvalidAMIID", ("kernel_id",)),
    "ari": ("InvalidAMIID", ("ramdisk_id",)),
    "vol": ("InvalidVolumeID", ("volume_id",)),
    "snap": ("InvalidSnapshotID", ("snapshot_id",)),
    "sg": ("InvalidGroupId", ("security_group_id",)),
    "eipalloc": ("InvalidAllocationID", ("floating_ip_id",)),
}
_KEY_PREFIX = {key: prefix for prefix, (_kind, keys) in PREFIXES.items() for key in keys}


def ec2_id_for_key(key: str, value: Any) -> str | None:
    """The EC2 form of an exception kwarg such as ``instance_id=10``, if it is one."""
    prefix = _KEY_PREFIX.get(key)
    if prefix is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return id_to_ec2_id(value, prefix)
    if utils.decimal(value, 18) is not None:
        return id_to_ec2_id(int(value), prefix)
    return None


def ec2_id_to_id(ec2_id: str, prefixes: tuple[str, ...] = ("i",)) -> int:
    """The database id in ``ec2_id``; ``Invalid<Kind>ID.Malformed`` otherwise."""
    from nova.api.ec2.faults import EC2APIError

    try:
        return ec2_ids.ec2_id_to_id(ec2_id, prefixes)
    except exception.InvalidEc2Id as exc:
        kind = PREFIXES.get(prefixes[0], ("InvalidParameterValue",))[0]
        raise EC2APIError(f"{kind}.Malformed", str(exc)) from None


def isotime(at: datetime.datetime | None) -> str | None:
    if at is None:
        return None
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# EC2 instance states: name -> code.
PENDING, RUNNING, SHUTTING_DOWN, TERMINATED, STOPPING, STOPPED = (
    "pending", "running", "shutting-down", "terminated", "stopping", "stopped")
STATE_CODES = {PENDING: 0, RUNNING: 16, SHUTTING_DOWN: 32, TERMINATED: 48, STOPPING: 64, STOPPED: 80}
ERROR = "error"
ERROR_CODE = 272  # not an AWS code: an instance that failed to build or run


def instance_state(instance: Any) -> tuple[int, str]:
    """(code, name) of the EC2 state for an instance row's vm_state/task_state.

    The state names are those of nova.compute.states.
    """
    vm_state = instance.get("vm_state")
    task_state = instance.get("task_state")
    if instance.get("deleted") or vm_state == "deleted":
        name = TERMINATED
    elif task_state == "deleting":
        name = SHUTTING_DOWN
    elif vm_state == "error":
        return ERROR_CODE, ERROR
    elif task_state == "stopping":
        name = STOPPING
    elif task_state == "starting" or vm_state == "building" or task_state in (
        "scheduling", "networking", "spawning"
    ):
        name = PENDING
    elif vm_state in ("stopped", "paused", "suspended"):
        name = STOPPED
    elif vm_state in ("active", "rescued"):
        name = RUNNING
    else:
        name = PENDING
    return STATE_CODES[name], name
