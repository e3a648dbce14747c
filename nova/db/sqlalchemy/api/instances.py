"""Instances and their metadata.  Every read goes through ``model_query``, so
a non-admin context never sees, changes or deletes another project's."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import false, func, or_, select, update
from sqlalchemy.orm import joinedload, raiseload, subqueryload

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import (
    apply_values,
    authorize_project,
    duplicate_as,
    first_or_raise,
    is_admin,
    model_query,
    require_admin_context,
    require_context,
)
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
Instance = models.Instance


# The row and its flavor only (one statement): reading the metadata or the groups of such a row raises,
# so a caller that needs them cannot silently get an empty list instead.
_ROW_ONLY = (raiseload(Instance.metadata_items), raiseload(Instance.security_groups))


def _instance(session: Any, ctxt: Context, instance_id: int, related: bool = True) -> Instance:
    stmt = model_query(ctxt, Instance).where(Instance.id == instance_id)
    if not related:
        stmt = stmt.options(*_ROW_ONLY)
    return first_or_raise(session, stmt, lambda: exception.InstanceNotFound(instance_id=instance_id))


def _check_owner(ctxt: Context, values: dict[str, Any]) -> None:
    if "project_id" in values:
        authorize_project(ctxt, values["project_id"])


@require_context
def instance_create(ctxt: Context, values: dict[str, Any]) -> Instance:
    """Create an instance; ``values["metadata"]`` may hold a dict of key/value pairs.

    ``uuid`` is generated when not given; a non-admin context creates in its
    own project only.
    """
    values = dict(values)
    metadata = values.pop("metadata", None) or {}
    values.setdefault("uuid", str(uuid.uuid4()))
    if not is_admin(ctxt):
        values.setdefault("project_id", ctxt.project_id)
        values.setdefault("user_id", ctxt.user_id)
    _check_owner(ctxt, values)
    instance = Instance()
    apply_values(instance, values)
    with duplicate_as(lambda _detail: exception.Duplicate(f"An instance with uuid {values['uuid']} exists.")):
        with get_session() as session:
            instance.save(session)
            for key, value in metadata.items():
                session.add(models.InstanceMetadata(instance_id=instance.id, key=key, value=value))
            session.flush()
            return _instance(session, ctxt, instance.id)


@require_context
def instance_get(ctxt: Context, instance_id: int, related: bool = True) -> Instance:
    """The instance with its flavor, metadata and groups; only the row and its flavor (one statement)
    when not ``related``."""
    with get_session() as session:
        return _instance(session, ctxt, instance_id, related)


@require_context
def instance_get_all(ctxt: Context) -> list[Instance]:
    """Every instance the context may see: all for an admin, its project's otherwise."""
    with get_session() as session:
        return list(session.scalars(model_query(ctxt, Instance).order_by(Instance.id)))


@require_context
def instance_get_all_by_project(ctxt: Context, project_id: str) -> list[Instance]:
    authorize_project(ctxt, project_id)
    stmt = model_query(ctxt, Instance).where(Instance.project_id == project_id).order_by(Instance.id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_admin_context
def instance_get_all_by_host(ctxt: Context, host: str) -> list[Instance]:
    stmt = model_query(ctxt, Instance).where(Instance.host == host).order_by(Instance.id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def instance_update(ctxt: Context, instance_id: int, values: dict[str, Any], related: bool = True) -> Instance:
    """Set ``values`` on the instance; returns it as updated.

    The row loaded for the update is the answer (no second read) unless the
    flavor changed, whose joined row must be read again.  Without ``related``
    the answer has no metadata or groups, and the update is two statements.
    """
    _check_owner(ctxt, values)
    with get_session() as session:
        instance = _instance(session, ctxt, instance_id, related)
        apply_values(instance, values)
        instance.save(session)
        if "instance_type_id" in values:
            session.expire(instance)
            return _instance(session, ctxt, instance_id, related)
        return instance


@require_context
def instance_metadata_update(ctxt: Context, instance_id: int, metadata: dict[str, str],
                             delete: bool = False) -> dict[str, str | None]:
    """Set ``metadata``'s keys on the instance (and drop every other key when ``delete``); the result."""
    now = utils.utcnow()
    with get_session() as session:
        instance = _instance(session, ctxt, instance_id)
        rows = {item.key: item for item in instance.metadata_items}
        for key, row in rows.items():
            if key in metadata:
                row.value = metadata[key]
            elif delete:
                row.deleted, row.deleted_at = True, now
        for key, value in metadata.items():
            if key not in rows:
                session.add(models.InstanceMetadata(instance_id=instance.id, key=key, value=value))
        session.flush()
        session.expire(instance)
        return _instance(session, ctxt, instance_id).metadata_dict


@require_context
def instance_destroy(ctxt: Context, instance_id: int) -> None:
    """Soft-delete the instance, its metadata and its security group links."""
    now = utils.utcnow()
    with get_session() as session:
        instance = _instance(session, ctxt, instance_id)
        instance.soft_delete(session)
        for model in (models.InstanceMetadata, models.SecurityGroupInstanceAssociation):
            session.execute(
                update(model)
                .where(model.instance_id == instance_id, model.deleted == false())
                .values(deleted=True, deleted_at=now)
                .execution_options(synchronize_session=False)
            )


_FILTERS = ("instance_ids", "reservation_id", "vm_state", "host", "fixed_ip", "key_name",
            "availability_zone", "project_id", "user_id", "uuid")


def filter_clauses(filters: dict[str, Any] | None) -> list[Any]:
    """WHERE clauses on ``instances`` for the filters ``instance_get_all_by_filters`` takes.

    ``instance_ids`` is a list of ids; ``vm_state`` a state or a list of
    states; ``fixed_ip`` an address held by the instance; the others match the
    column of the same name.  An unknown filter is the caller's mistake.
    """
    filters = dict(filters or {})
    unknown = sorted(set(filters) - set(_FILTERS))
    if unknown:
        raise exception.InvalidInput(reason=f"unknown instance filter(s): {', '.join(unknown)}")
    clauses = []
    for key, value in filters.items():
        if value is None:
            continue
        if key == "instance_ids":
            clauses.append(Instance.id.in_([int(v) for v in value]))
        elif key == "vm_state":
            states = [value] if isinstance(value, str) else list(value)
            clauses.append(Instance.vm_state.in_(states))
        elif key == "fixed_ip":
            held = (
                select(models.FixedIp.instance_id)
                .where(models.FixedIp.address == value, models.FixedIp.deleted == false())
                .scalar_subquery()
            )
            clauses.append(Instance.id.in_(held))
        else:
            clauses.append(getattr(Instance, key) == value)
    return clauses


@require_context
def instance_get_all_by_filters(ctxt: Context, filters: dict[str, Any] | None = None,
                                related: bool = True) -> list[Instance]:
    """Instances the context may see that match every filter given (see ``filter_clauses``); without
    ``related``, only the rows and their flavors (one statement)."""
    clauses = filter_clauses(filters)
    if not related:
        stmt = model_query(ctxt, Instance).options(joinedload(Instance.instance_type), *_ROW_ONLY)
        with get_session() as session:
            return list(session.scalars(stmt.where(*clauses).order_by(Instance.id)))
    # What the listings render, loaded with the rows in a fixed number of
    # queries; stated here so no change of the mapper's defaults can make a
    # listing issue one query per instance.  subqueryload, not selectin: the
    # latter sends the ids in batches of 500, one more query per batch.
    stmt = model_query(ctxt, Instance).options(
        joinedload(Instance.instance_type),
        subqueryload(Instance.metadata_items),
        subqueryload(Instance.security_groups).subqueryload(models.SecurityGroup.rules))
    with get_session() as session:
        return list(session.scalars(stmt.where(*clauses).order_by(Instance.id)))


@require_context
def instance_get_all_by_reservation(ctxt: Context, reservation_id: str) -> list[Instance]:
    return instance_get_all_by_filters(ctxt, {"reservation_id": reservation_id})


@require_context
def instance_data_get_for_project(ctxt: Context, project_id: str) -> tuple[int, int, int]:
    """(instances, vcpus, memory_mb) the project's live instances hold, for quotas."""
    authorize_project(ctxt, project_id)
    stmt = select(
        func.count(Instance.id), func.coalesce(func.sum(Instance.vcpus), 0),
        func.coalesce(func.sum(Instance.memory_mb), 0),
    ).where(Instance.project_id == project_id, Instance.deleted == false())
    with get_session() as session:
        count, vcpus, memory = session.execute(stmt).one()
    return int(count), int(vcpus), int(memory)


@require_admin_context
def instance_usage_by_host(ctxt: Context, topic_hosts: list[str] | None = None) -> dict[str, dict[str, int]]:
    """What the live instances on each host hold: ``{host: {instances, vcpus, memory_mb, local_gb}}``.

    Instances in ``error`` hold nothing (their spawn failed or was abandoned).
    """
    stmt = (
        select(Instance.host, func.count(Instance.id), func.coalesce(func.sum(Instance.vcpus), 0),
               func.coalesce(func.sum(Instance.memory_mb), 0), func.coalesce(func.sum(Instance.local_gb), 0))
        .where(Instance.deleted == false(), Instance.host.is_not(None),
               or_(Instance.vm_state.is_(None), Instance.vm_state != "error"))
        .group_by(Instance.host)
    )
    if topic_hosts is not None:
        stmt = stmt.where(Instance.host.in_(topic_hosts))
    with get_session() as session:
        rows = session.execute(stmt).all()
    return {host: {"instances": int(n), "vcpus": int(c), "memory_mb": int(m), "local_gb": int(d)}
            for host, n, c, m, d in rows}
