"""Volumes (EC2 CreateVolume and friends; per project).

A volume row carries everything a listing shows (its attachment is
``instance_id``, ``mountpoint`` and ``attach_time`` on the row itself), so
every read here is one SELECT whatever the number of rows.
"""

from __future__ import annotations

from typing import Any

from nova import context as nova_context
from nova import exception
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import (
    apply_values,
    authorize_project,
    first_or_raise,
    model_query,
    require_admin_context,
    require_context,
)
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
Volume = models.Volume


@require_context
def volume_create(ctxt: Context, values: dict[str, Any]) -> Volume:
    """A new volume row; a non-admin context creates it in its own project."""
    values = dict(values)
    values.setdefault("project_id", ctxt.project_id)
    values.setdefault("user_id", ctxt.user_id)
    authorize_project(ctxt, values["project_id"])
    row = Volume()
    apply_values(row, values)
    with get_session() as session:
        row.save(session)
    return row


@require_context
def volume_get(ctxt: Context, volume_id: int) -> Volume:
    """VolumeNotFound also for another project's volume when not admin."""
    with get_session() as session:
        stmt = model_query(ctxt, Volume).where(Volume.id == volume_id)
        return first_or_raise(session, stmt, lambda: exception.VolumeNotFound(volume_id=volume_id))


@require_admin_context
def volume_get_all(ctxt: Context) -> list[Volume]:
    with get_session() as session:
        return list(session.scalars(model_query(ctxt, Volume).order_by(Volume.id)))


@require_context
def volume_get_all_by_project(ctxt: Context, project_id: str) -> list[Volume]:
    authorize_project(ctxt, project_id)
    stmt = model_query(ctxt, Volume).where(Volume.project_id == project_id).order_by(Volume.id)
    with get_session() as session:
        return list(session.scalars(stmt))
