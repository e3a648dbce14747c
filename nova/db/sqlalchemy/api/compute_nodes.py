"""Compute nodes seen from the scheduler's side (creation and updates live
in ``services.py`` beside the services that own them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, select

from nova import context as nova_context
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import model_query, require_admin_context
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext


@require_admin_context
def compute_node_get_all(ctxt: Context) -> dict[str, Any]:
    """``{host: node}`` for every compute node whose service is not deleted."""
    stmt = (
        select(models.Service.host, models.ComputeNode)
        .join(models.ComputeNode, models.ComputeNode.service_id == models.Service.id)
        .where(models.Service.deleted == false(), models.ComputeNode.deleted == false())
        .order_by(models.ComputeNode.id)
    )
    with get_session() as session:
        return {host: node for host, node in session.execute(stmt).all()}


@require_admin_context
def compute_node_get_by_host(ctxt: Context, host: str) -> models.ComputeNode | None:
    """The node nova-compute on ``host`` reports, or None before its first report."""
    stmt = (
        model_query(ctxt, models.ComputeNode)
        .join(models.Service, models.ComputeNode.service_id == models.Service.id)
        .where(models.Service.host == host, models.Service.binary == "nova-compute",
               models.Service.deleted == false())
    )
    with get_session() as session:
        return session.scalars(stmt).first()
