"""Per-project quotas: flag defaults, overridden by rows in the quotas table."""

from __future__ import annotations

from nova import context, exception, flags
from nova.db import api as db

FLAGS = flags.FLAGS

flags.DEFINE_integer("quota_instances", 10, "Instances per project", lower_bound=-1)
flags.DEFINE_integer("quota_cores", 20, "Instance cores per project", lower_bound=-1)
flags.DEFINE_integer("quota_ram", 50 * 1024, "Megabytes of instance RAM per project", lower_bound=-1)
flags.DEFINE_integer("quota_volumes", 10, "Volumes per project", lower_bound=-1)
flags.DEFINE_integer("quota_gigabytes", 1000, "Volume gigabytes per project", lower_bound=-1)
flags.DEFINE_integer("quota_floating_ips", 10, "Floating IPs per project", lower_bound=-1)
flags.DEFINE_integer("quota_metadata_items", 128, "Metadata items per instance", lower_bound=-1)
flags.DEFINE_integer("quota_security_groups", 10, "Security groups per project", lower_bound=-1)
flags.DEFINE_integer("quota_security_group_rules", 20, "Rules per security group", lower_bound=-1)
flags.DEFINE_integer("quota_key_pairs", 100, "Key pairs per user", lower_bound=-1)

RESOURCES = (
    "instances", "cores", "ram", "volumes", "gigabytes", "floating_ips",
    "metadata_items", "security_groups", "security_group_rules", "key_pairs",
)
UNLIMITED = -1


def default_quotas() -> dict[str, int]:
    return {name: getattr(FLAGS, f"quota_{name}") for name in RESOURCES}


def get_project_quotas(ctxt: context.RequestContext, project_id: str) -> dict[str, int]:
    """The limits that apply to a project: its own rows over the defaults."""
    quotas = default_quotas()
    quotas.update(db.quota_get_all_by_project(ctxt, project_id))
    return quotas


def instance_usage_and_limits(ctxt: context.RequestContext,
                              project_id: str) -> tuple[tuple[int, int, int], dict[str, int]]:
    """((instances, cores, ram) the project's live instances hold, the limits that apply to it), read in
    one statement: what a launch checks."""
    used, own = db.quota_get_with_instance_usage(ctxt.elevated(), project_id)
    limits = default_quotas()
    limits.update(own)
    return used, limits


def set_project_quota(ctxt: context.RequestContext, project_id: str, resource: str, limit: int) -> None:
    if resource not in RESOURCES:
        raise exception.InvalidInput(reason=f"unknown quota {resource!r}; known: {', '.join(RESOURCES)}")
    if limit < UNLIMITED:
        raise exception.InvalidInput(reason=f"quota limit must be -1 (unlimited) or more, not {limit}")
    db.quota_set(ctxt, project_id, resource, limit)


def allowed(ctxt: context.RequestContext, project_id: str, resource: str, in_use: int, requested: int) -> int:
    """How many of ``requested`` fit under the limit (all of them when unlimited)."""
    return allowed_within(get_project_quotas(ctxt, project_id), resource, in_use, requested)


def allowed_within(limits: dict[str, int], resource: str, in_use: int, requested: int) -> int:
    """``allowed`` against limits already read with ``get_project_quotas`` (one read for several resources)."""
    limit = limits[resource]
    if limit == UNLIMITED:
        return requested
    return max(0, min(requested, limit - in_use))


def check_metadata_items(ctxt: context.RequestContext, count: int) -> None:
    """QuotaError unless ``count`` metadata items (of one instance or image) fit the project's quota."""
    if count and ctxt.project_id and allowed(ctxt, ctxt.project_id, "metadata_items", 0, count) < count:
        raise exception.QuotaError(reason=f"{count} metadata items exceed the metadata_items quota")
