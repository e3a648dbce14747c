"""Instance types (flavors).

``name`` and ``flavorid`` must be unique among flavors that are not
deleted; a deleted flavor keeps its row (old instances refer to it) and
does not block a new flavor of the same name.  No portable unique index can
skip deleted rows, so the check is made here, inside the inserting
transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, false, or_, select

from nova import context as nova_context
from nova import exception
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import apply_values, model_query, require_admin_context, require_context
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
InstanceType = models.InstanceType


def _get(ctxt: Context, not_found: Any, read_deleted: bool | None = None, **criteria: Any) -> InstanceType:
    stmt = model_query(ctxt, InstanceType, read_deleted=read_deleted).filter_by(**criteria)
    stmt = stmt.order_by(InstanceType.id.desc())
    with get_session() as session:
        row = session.scalars(stmt).first()
    if row is None:
        raise exception.InstanceTypeNotFound(instance_type=not_found)
    return row


@require_admin_context
def instance_type_create(ctxt: Context, values: dict[str, Any]) -> InstanceType:
    flavor = InstanceType()
    apply_values(flavor, values)
    with get_session() as session:
        clash = session.scalars(
            select(InstanceType).where(
                InstanceType.deleted == false(),
                or_(InstanceType.name == flavor.name, InstanceType.flavorid == flavor.flavorid),
            )
        ).first()
        if clash is not None and clash.name == flavor.name:
            raise exception.InstanceTypeExists(name=flavor.name)
        if clash is not None:
            raise exception.InstanceTypeExists(
                f"Instance type with flavorid {flavor.flavorid} already exists ({clash.name}).", name=flavor.name
            )
        flavor.save(session)
    return flavor


@require_context
def instance_type_get_all(ctxt: Context, inactive: bool = False) -> list[InstanceType]:
    """Flavors by flavorid; ``inactive`` includes deleted ones."""
    stmt = model_query(ctxt, InstanceType, read_deleted=True if inactive else None)
    stmt = stmt.order_by(InstanceType.flavorid, InstanceType.id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def instance_type_get(ctxt: Context, instance_type_id: int) -> InstanceType:
    """By primary key, deleted or not: instances keep pointing at their flavor's row."""
    return _get(ctxt, instance_type_id, read_deleted=True, id=instance_type_id)


@require_context
def instance_type_get_by_flavor_id(ctxt: Context, flavor_id: int) -> InstanceType:
    return _get(ctxt, f"with flavorid {flavor_id}", flavorid=int(flavor_id))


@require_admin_context
def instance_type_destroy(ctxt: Context, name: str) -> None:
    """Soft-delete the flavor ``name``."""
    stmt = model_query(ctxt, InstanceType, read_deleted=False).where(InstanceType.name == name)
    with get_session() as session:
        rows = list(session.scalars(stmt))
        if not rows:
            raise exception.InstanceTypeNotFound(instance_type=name)
        for row in rows:
            row.soft_delete(session)


@require_admin_context
def instance_type_purge(ctxt: Context, name: str) -> None:
    """Remove every row named ``name``, deleted or not.

    Refused (InvalidInput) while an instance, even a deleted one, refers
    to it.
    """
    with get_session() as session:
        found = session.scalars(select(InstanceType.id).where(InstanceType.name == name)).all()
        if not found:
            raise exception.InstanceTypeNotFound(instance_type=name)
        used = session.scalars(
            select(models.Instance.id).where(models.Instance.instance_type_id.in_(found)).limit(1)
        ).first()
        if used is not None:
            raise exception.InvalidInput(reason=f"instance type {name} is used by instance {used}")
        session.execute(delete(InstanceType).where(InstanceType.id.in_(found)))
