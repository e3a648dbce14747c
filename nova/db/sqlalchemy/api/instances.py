"""Instances and their metadata.  Every read goes through ``model_query``, so
a non-admin context never sees, changes or deletes another project's."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import false, update

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import (
    apply_values,
    authorize_project,
    duplicate_as,
    is_admin,
    model_query,
    require_admin_context,
    require_context,
)
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
Instance = models.Instance


def _instance(session: Any, ctxt: Context, instance_id: int) -> Instance:
    stmt = (
        model_query(ctxt, Instance)
        .where(Instance.id == instance_id)
        .execution_options(populate_existing=True)
    )
    row = session.scalars(stmt).first()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_id)
    return row


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
def instance_get(ctxt: Context, instance_id: int) -> Instance:
    with get_session() as session:
        return _instance(session, ctxt, instance_id)


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
def instance_update(ctxt: Context, instance_id: int, values: dict[str, Any]) -> Instance:
    _check_owner(ctxt, values)
    with get_session() as session:
        instance = _instance(session, ctxt, instance_id)
        apply_values(instance, values)
        instance.save(session)
        return _instance(session, ctxt, instance_id)


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
