"""Services (one row per daemon per host) and the compute nodes they report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, update

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import apply_values, first_or_raise, model_query, require_admin_context
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext


def _service(session: Any, ctxt: Context, service_id: int) -> models.Service:
    stmt = model_query(ctxt, models.Service).where(models.Service.id == service_id)
    return first_or_raise(session, stmt, lambda: exception.ServiceNotFound(service=service_id))


@require_admin_context
def service_create(ctxt: Context, values: dict[str, Any]) -> models.Service:
    service = models.Service()
    apply_values(service, values)
    with get_session() as session:
        service.save(session)
    return service


@require_admin_context
def service_get(ctxt: Context, service_id: int) -> models.Service:
    with get_session() as session:
        return _service(session, ctxt, service_id)


@require_admin_context
def service_get_by_args(ctxt: Context, host: str, binary: str) -> models.Service:
    stmt = model_query(ctxt, models.Service).where(models.Service.host == host, models.Service.binary == binary)
    with get_session() as session:
        row = session.scalars(stmt).first()
    if row is None:
        raise exception.ServiceNotFound(service=f"{binary} on {host}")
    return row


@require_admin_context
def service_get_all(ctxt: Context, disabled: bool | None = None) -> list[models.Service]:
    stmt = model_query(ctxt, models.Service)
    if disabled is not None:
        stmt = stmt.where(models.Service.disabled == disabled)
    with get_session() as session:
        return list(session.scalars(stmt.order_by(models.Service.id)))


@require_admin_context
def service_get_all_by_topic(ctxt: Context, topic: str) -> list[models.Service]:
    """Enabled services of ``topic``: the candidates a scheduler may pick."""
    stmt = model_query(ctxt, models.Service).where(
        models.Service.topic == topic, models.Service.disabled == false()
    )
    with get_session() as session:
        return list(session.scalars(stmt.order_by(models.Service.id)))


@require_admin_context
def service_get_all_by_host(ctxt: Context, host: str) -> list[models.Service]:
    stmt = model_query(ctxt, models.Service).where(models.Service.host == host)
    with get_session() as session:
        return list(session.scalars(stmt.order_by(models.Service.id)))


@require_admin_context
def service_update(ctxt: Context, service_id: int, values: dict[str, Any]) -> models.Service:
    with get_session() as session:
        service = _service(session, ctxt, service_id)
        apply_values(service, values)
        service.save(session)
    return service


@require_admin_context
def service_destroy(ctxt: Context, service_id: int) -> None:
    """Soft-delete the service and the compute node it reported."""
    with get_session() as session:
        service = _service(session, ctxt, service_id)
        service.soft_delete(session)
        nodes = model_query(ctxt, models.ComputeNode).where(models.ComputeNode.service_id == service_id)
        for node in session.scalars(nodes):
            node.soft_delete(session)


@require_admin_context
def service_heartbeat(ctxt: Context, service_id: int) -> models.Service:
    """Count one report: ``report_count + 1`` in SQL, so concurrent beats all count."""
    stmt = (
        update(models.Service)
        .where(models.Service.id == service_id, models.Service.deleted == false())
        .values(report_count=models.Service.report_count + 1, updated_at=utils.utcnow())
        .execution_options(synchronize_session=False)
    )
    with get_session() as session:
        if session.execute(stmt).rowcount != 1:
            raise exception.ServiceNotFound(service=service_id)
        return session.scalars(
            model_query(ctxt, models.Service)
            .where(models.Service.id == service_id)
            .execution_options(populate_existing=True)
        ).one()


def _compute_node(session: Any, ctxt: Context, **criteria: Any) -> models.ComputeNode:
    stmt = model_query(ctxt, models.ComputeNode).filter_by(**criteria)
    row = session.scalars(stmt).first()
    if row is None:
        described = ", ".join(f"{key} {value}" for key, value in criteria.items())
        raise exception.NotFound(f"No compute node with {described}.")
    return row


@require_admin_context
def compute_node_create(ctxt: Context, values: dict[str, Any]) -> models.ComputeNode:
    node = models.ComputeNode()
    apply_values(node, values)
    with get_session() as session:
        node.save(session)
    return node


@require_admin_context
def compute_node_get_by_service(ctxt: Context, service_id: int) -> models.ComputeNode:
    with get_session() as session:
        return _compute_node(session, ctxt, service_id=service_id)


@require_admin_context
def compute_node_update(ctxt: Context, compute_id: int, values: dict[str, Any]) -> models.ComputeNode:
    with get_session() as session:
        node = _compute_node(session, ctxt, id=compute_id)
        apply_values(node, values)
        node.save(session)
    return node
