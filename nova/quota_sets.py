"""Quota sets as the API front ends show and change them: limits, defaults and usage.

The front ends may import neither ``nova.quota`` nor ``nova.db``; this
module is their door to both.
"""

from __future__ import annotations

from typing import Any

from nova import context as nova_context
from nova import exception, quota
from nova.db import api as db

Context = nova_context.RequestContext
RESOURCES = quota.RESOURCES


def _check_project(ctxt: Context, project_id: str) -> None:
    """A user reads its own project's quotas; an admin any existing project's."""
    if ctxt.is_admin:
        db.project_get(ctxt.elevated(), project_id)
    elif project_id != ctxt.project_id:
        raise exception.NotAuthorized("Only an admin may read another project's quotas.")


def defaults() -> dict[str, int]:
    return quota.default_quotas()


def get(ctxt: Context, project_id: str) -> dict[str, int]:
    _check_project(ctxt, project_id)
    return quota.get_project_quotas(ctxt.elevated(), project_id)


def update(ctxt: Context, project_id: str, values: dict[str, int]) -> dict[str, int]:
    """Set some of a project's limits (admins only); all are checked before any is written."""
    if not ctxt.is_admin:
        raise exception.AdminRequired()
    db.project_get(ctxt.elevated(), project_id)
    for resource, limit in values.items():
        if resource not in RESOURCES:
            raise exception.InvalidInput(reason=f"unknown quota {resource!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < quota.UNLIMITED:
            raise exception.InvalidInput(reason=f"quota {resource} must be an integer of -1 or more")
    for resource, limit in values.items():
        quota.set_project_quota(ctxt.elevated(), project_id, resource, limit)
    return get(ctxt, project_id)


def usage(ctxt: Context) -> dict[str, Any]:
    """What the caller's project holds against its quotas."""
    project_id = ctxt.project_id
    instances, cores, ram = db.instance_data_get_for_project(ctxt, project_id)
    volumes, gigabytes = db.volume_data_get_for_project(ctxt, project_id)
    return {"instances": instances, "cores": cores, "ram": ram, "volumes": volumes, "gigabytes": gigabytes,
            "security_groups": db.security_group_count_by_project(ctxt, project_id),
            "floating_ips": db.floating_ip_count_by_project(ctxt, project_id),
            "key_pairs": db.key_pair_count_by_user(ctxt, ctxt.user_id)}
