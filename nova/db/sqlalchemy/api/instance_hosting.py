"""What the back-end daemons read and write on an instance while they place, build and delete it.

These are the boot path's statements, one each where the general functions
of ``instances.py`` take several: ``instance_update`` reads the whole
instance (its flavor, metadata, security groups and their rules: four
statements) before it writes, and answers with it; the scheduler and
nova-compute already hold the row and need only the write.  Every write is
one ``UPDATE`` that also bumps ``updated_at``; a non-admin context reaches
only its own project's instances, as everywhere in the backend.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.orm import joinedload, raiseload

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import is_admin, model_query, require_admin_context, require_context
from nova.db.sqlalchemy.session import get_connection, get_session

Context = nova_context.RequestContext
Instance = models.Instance

_COLUMNS = frozenset(Instance.__table__.c.keys())


def _where_visible(ctxt: Context, instance_id: int) -> list[Any]:
    clauses = [Instance.id == instance_id, Instance.deleted == false()]
    if not is_admin(ctxt):
        clauses.append(Instance.project_id == ctxt.project_id)
    return clauses


def _check_columns(values: dict[str, Any]) -> None:
    unknown = sorted(set(values) - _COLUMNS)
    if unknown:
        raise exception.InvalidInput(reason=f"instances has no column(s) {', '.join(unknown)}")
    if "project_id" in values or "id" in values:
        raise exception.InvalidInput(reason="an instance's id and project are not set here")


@require_context
def instance_get_for_host(ctxt: Context, instance_id: int, security_groups: bool = False) -> Instance:
    """The instance's row and flavor in one statement, for a daemon that builds or deletes it.

    Its metadata and the rules of its security groups are not loaded (touching
    them raises); its security groups (without rules) are, in the same
    statement, when ``security_groups``.  InstanceNotFound as ``instance_get``.
    """
    options = [joinedload(Instance.instance_type), raiseload(Instance.metadata_items)]
    if security_groups:
        options.append(joinedload(Instance.security_groups).raiseload(models.SecurityGroup.rules))
    else:
        options.append(raiseload(Instance.security_groups))
    stmt = model_query(ctxt, Instance).where(Instance.id == instance_id).options(*options) \
        .execution_options(populate_existing=True)
    with get_session() as session:
        row = session.scalars(stmt).unique().first()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_id)
    return row


@require_context
def instance_set(ctxt: Context, instance_id: int, values: dict[str, Any],
                 expected: dict[str, Any] | None = None) -> bool:
    """Set ``values`` on the live instance in one UPDATE; nothing is read back.

    ``expected`` (column -> value, None meaning NULL) makes it a compare-and-set:
    False when the row no longer matches (or is gone).  Without it a missing row
    raises InstanceNotFound, as ``instance_update`` does.
    """
    _check_columns(values)
    clauses = _where_visible(ctxt, instance_id)
    for key, value in (expected or {}).items():
        _check_columns({key: value})
        column = Instance.__table__.c[key]
        clauses.append(column.is_(None) if value is None else column == value)
    stmt = update(Instance).where(*clauses).values(**values)
    with get_connection() as connection:
        done = connection.execute(stmt).rowcount == 1
    if not done and expected is None:
        raise exception.InstanceNotFound(instance_id=instance_id)
    return done


@require_context
def instance_set_deleted(ctxt: Context, instance_id: int, values: dict[str, Any]) -> None:
    """Set ``values`` (the terminated state) and soft-delete the instance, its metadata and its security
    group links, in one transaction of three UPDATEs (``instance_update`` then ``instance_destroy`` read
    the instance twice).  InstanceNotFound when it is gone already."""
    _check_columns(values)
    now = utils.utcnow()
    with get_connection() as connection:
        gone = connection.execute(
            update(Instance).where(*_where_visible(ctxt, instance_id)).values(**values, deleted=True, deleted_at=now)
        ).rowcount != 1
        if gone:
            raise exception.InstanceNotFound(instance_id=instance_id)
        for model in (models.InstanceMetadata, models.SecurityGroupInstanceAssociation):
            connection.execute(
                update(model)
                .where(model.instance_id == instance_id, model.deleted == false())
                .values(deleted=True, deleted_at=now)
            )


@require_admin_context
def compute_host_capacity(ctxt: Context, topic: str) -> list[dict[str, Any]]:
    """Every enabled service of ``topic`` with what a placement weighs, in one statement.

    One dict per service, in service id order: ``host``, ``availability_zone``,
    ``updated_at`` and ``created_at`` (for ``service_is_up``), ``memory_mb``
    (its compute node's, None before the node's first report) and what its
    live instances hold: ``instances``, ``vcpus``, ``used_memory_mb``
    (instances in ``error`` hold nothing, as in ``instance_usage_by_host``).
    """
    usage = (
        select(Instance.host.label("host"), func.count(Instance.id).label("instances"),
               func.coalesce(func.sum(Instance.vcpus), 0).label("vcpus"),
               func.coalesce(func.sum(Instance.memory_mb), 0).label("memory_mb"))
        .where(Instance.deleted == false(), Instance.host.is_not(None),
               or_(Instance.vm_state.is_(None), Instance.vm_state != "error"))
        .group_by(Instance.host)
        .subquery()
    )
    service, node = models.Service, models.ComputeNode
    stmt = (
        select(service.host, service.availability_zone, service.updated_at, service.created_at,
               node.memory_mb, usage.c.instances, usage.c.vcpus, usage.c.memory_mb)
        .outerjoin(node, and_(node.service_id == service.id, node.deleted == false()))
        .outerjoin(usage, usage.c.host == service.host)
        .where(service.topic == topic, service.disabled == false(), service.deleted == false())
        .order_by(service.id, node.id)
    )
    with get_connection() as connection:
        rows = connection.execute(stmt).all()
    return [{"host": host, "availability_zone": zone, "updated_at": updated, "created_at": created,
             "memory_mb": memory, "instances": int(count or 0), "vcpus": int(vcpus or 0),
             "used_memory_mb": int(used or 0)}
            for host, zone, updated, created, memory, count, vcpus, used in rows]
