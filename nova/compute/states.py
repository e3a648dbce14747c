"""The states an instance moves through.

``vm_state`` is where the instance stands (what the user sees), ``task_state``
what is being done to it right now (None when idle), ``power_state`` what the
hypervisor last reported.  Cactus kept one ``state`` int plus a free-form
``state_description``; this split is what later Nova settled on.
"""

from __future__ import annotations

# vm_state
BUILDING = "building"
ACTIVE = "active"
STOPPED = "stopped"
PAUSED = "paused"
SUSPENDED = "suspended"
RESCUED = "rescued"
ERROR = "error"
DELETED = "deleted"

VM_STATES = (BUILDING, ACTIVE, STOPPED, PAUSED, SUSPENDED, RESCUED, ERROR, DELETED)

# task_state
SCHEDULING = "scheduling"
NETWORKING = "networking"
BLOCK_DEVICE_MAPPING = "block_device_mapping"
SPAWNING = "spawning"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting_hard"
STOPPING = "stopping"
STARTING = "starting"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"
IMAGE_SNAPSHOT = "image_snapshot"
DELETING = "deleting"

# power_state: the hypervisor's view, numbered as in the first Nova.
NOSTATE = 0
RUNNING = 1
BLOCKED = 2
PAUSED_POWER = 3
SHUTDOWN = 4
SHUTOFF = 5
CRASHED = 6
SUSPENDED_POWER = 7
FAILED = 8

POWER_STATE_NAMES = {
    NOSTATE: "pending",
    RUNNING: "running",
    BLOCKED: "blocked",
    PAUSED_POWER: "paused",
    SHUTDOWN: "shutdown",
    SHUTOFF: "shutoff",
    CRASHED: "crashed",
    SUSPENDED_POWER: "suspended",
    FAILED: "failed",
}


def power_state_name(state: int | None) -> str:
    return POWER_STATE_NAMES.get(state or NOSTATE, "pending")
