"""Floating IPs: public addresses an operator creates per network host, which
a project allocates and associates with one of its instances' fixed IPs.

A non-admin context reads and changes only its own project's addresses
(``model_query`` scopes on ``project_id``); free addresses are reachable only
through ``floating_ip_allocate_address``, which claims one atomically.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, func, select, update

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import (
    authorize_project,
    is_admin,
    model_query,
    require_admin_context,
    require_context,
)
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
FloatingIp = models.FloatingIp
FixedIp = models.FixedIp

_CLAIM_ATTEMPTS = 100


def _by_address(session: Any, ctxt: Context, address: str) -> FloatingIp:
    stmt = (model_query(ctxt, FloatingIp).where(FloatingIp.address == address)
            .execution_options(populate_existing=True))
    row = session.scalars(stmt).first()
    if row is None:
        raise exception.FloatingIpNotFound(address=address)
    return row


@require_admin_context
def floating_ip_create(ctxt: Context, values: dict[str, Any]) -> FloatingIp:
    """Add an address to a host's pool; FloatingIpExists if it is there already."""
    with get_session() as session:
        clash = session.scalars(model_query(ctxt, FloatingIp).where(FloatingIp.address == values["address"])).first()
        if clash is not None:
            raise exception.FloatingIpExists(address=values["address"])
        row = FloatingIp()
        row.update(values)
        row.save(session)
        return row


@require_admin_context
def floating_ip_bulk_create(ctxt: Context, host: str, addresses: list[str]) -> None:
    """Add many addresses at once; nothing is added if any of them exists."""
    with get_session() as session:
        clash = session.scalars(model_query(ctxt, FloatingIp).where(FloatingIp.address.in_(addresses))).first()
        if clash is not None:
            raise exception.FloatingIpExists(address=clash.address)
        now = utils.utcnow()
        session.execute(FloatingIp.__table__.insert(), [
            {"address": a, "host": host, "deleted": False, "auto_assigned": False, "created_at": now}
            for a in addresses])


@require_context
def floating_ip_allocate_address(ctxt: Context, host: str | None, project_id: str,
                                 limit: int | None = None) -> FloatingIp:
    """Claim a free address (of ``host``'s pool when given) for the project.

    With ``limit``, raises AddressLimitExceeded when the project holds that
    many already; the project's row is locked meanwhile (PostgreSQL,
    MariaDB) so concurrent allocations are counted one after the other.
    Raises NoMoreFloatingIps when the pool is empty.
    """
    authorize_project(ctxt, project_id)
    for _attempt in range(_CLAIM_ATTEMPTS):
        with get_session() as session:
            if limit is not None:
                if session.get_bind().dialect.name != "sqlite":
                    session.execute(select(models.Project.id).where(models.Project.id == project_id)
                                    .with_for_update())
                held = session.scalar(select(func.count(FloatingIp.id)).where(
                    FloatingIp.project_id == project_id, FloatingIp.deleted == false()))
                if held >= limit:
                    raise exception.AddressLimitExceeded(limit=limit)
            pick = (select(FloatingIp.id)
                    .where(FloatingIp.deleted == false(), FloatingIp.project_id.is_(None))
                    .order_by(FloatingIp.id).limit(1))
            if host is not None:
                pick = pick.where(FloatingIp.host == host)
            if session.get_bind().dialect.name != "sqlite":
                pick = pick.with_for_update(skip_locked=True)
            candidate = session.scalar(pick)
            if candidate is None:
                raise exception.NoMoreFloatingIps()
            claimed = session.execute(
                update(FloatingIp)
                .where(FloatingIp.id == candidate, FloatingIp.project_id.is_(None))
                .values(project_id=project_id, updated_at=utils.utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed == 1:
                return session.get(FloatingIp, candidate, populate_existing=True)
    raise exception.DatabaseError(reason="could not claim a floating IP")


@require_context
def floating_ip_count_by_project(ctxt: Context, project_id: str) -> int:
    authorize_project(ctxt, project_id)
    with get_session() as session:
        return session.scalar(
            select(func.count(FloatingIp.id))
            .where(FloatingIp.project_id == project_id, FloatingIp.deleted == false()))


@require_context
def floating_ip_deallocate(ctxt: Context, address: str) -> None:
    """Give the address back to the pool; it must not be associated."""
    with get_session() as session:
        row = _by_address(session, ctxt, address)
        if row.project_id is None:
            raise exception.FloatingIpNotFound(address=address)
        if row.fixed_ip_id is not None:
            raise exception.FloatingIpAssociated(address=address)
        row.update({"project_id": None, "auto_assigned": False})
        row.save(session)


@require_admin_context
def floating_ip_destroy(ctxt: Context, address: str) -> None:
    """Remove an address from the pool; refused while a project holds it."""
    with get_session() as session:
        row = _by_address(session, ctxt, address)
        if row.project_id is not None:
            raise exception.FloatingIpInUse(address=address, project_id=row.project_id)
        row.soft_delete(session)


@require_context
def floating_ip_fixed_ip_associate(ctxt: Context, floating_address: str, fixed_address: str) -> FloatingIp:
    """Point a project's floating address at a fixed address of one of its instances."""
    with get_session() as session:
        row = _by_address(session, ctxt, floating_address)
        if row.project_id is None:
            raise exception.FloatingIpNotFound(address=floating_address)
        fixed = session.scalars(
            select(FixedIp).where(FixedIp.address == fixed_address, FixedIp.deleted == false())).first()
        if fixed is None or fixed.instance_id is None:
            raise exception.FixedIpNotFound(address=fixed_address)
        if not is_admin(ctxt):
            owner = session.scalar(select(models.Instance.project_id).where(models.Instance.id == fixed.instance_id))
            if owner != ctxt.project_id:
                raise exception.FixedIpNotFound(address=fixed_address)
        row.fixed_ip_id = fixed.id
        row.save(session)
        return row


@require_context
def floating_ip_disassociate(ctxt: Context, address: str) -> str | None:
    """Unpoint the address; returns the fixed address it had, or None."""
    with get_session() as session:
        row = _by_address(session, ctxt, address)
        fixed_address = None
        if row.fixed_ip_id is not None:
            fixed = session.get(FixedIp, row.fixed_ip_id)
            fixed_address = fixed.address if fixed is not None else None
        row.fixed_ip_id = None
        row.save(session)
        return fixed_address


@require_context
def floating_ip_get_by_address(ctxt: Context, address: str) -> FloatingIp:
    """FloatingIpNotFound also for another project's (or a free) address when not admin."""
    with get_session() as session:
        return _by_address(session, ctxt, address)


@require_admin_context
def floating_ip_get_all(ctxt: Context) -> list[FloatingIp]:
    with get_session() as session:
        return list(session.scalars(model_query(ctxt, FloatingIp).order_by(FloatingIp.id)))


@require_admin_context
def floating_ip_get_all_by_host(ctxt: Context, host: str) -> list[FloatingIp]:
    stmt = model_query(ctxt, FloatingIp).where(FloatingIp.host == host).order_by(FloatingIp.id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def floating_ip_get_all_by_project(ctxt: Context, project_id: str) -> list[FloatingIp]:
    authorize_project(ctxt, project_id)
    stmt = model_query(ctxt, FloatingIp).where(FloatingIp.project_id == project_id).order_by(FloatingIp.id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_admin_context
def floating_ip_get_by_fixed_address(ctxt: Context, fixed_address: str) -> list[FloatingIp]:
    stmt = (model_query(ctxt, FloatingIp).join(FixedIp, FixedIp.id == FloatingIp.fixed_ip_id)
            .where(FixedIp.address == fixed_address, FixedIp.deleted == false()).order_by(FloatingIp.id))
    with get_session() as session:
        return list(session.scalars(stmt))


_FLOATING_COLUMNS = tuple(FloatingIp.__table__.c)


@require_context
def floating_ip_get_all_with_fixed(ctxt: Context, addresses: list[str] | None = None
                                   ) -> list[tuple[dict[str, Any], str | None, int | None]]:
    """``(floating IP columns, fixed address, instance id)`` in one query, plain rows (no ORM
    objects); the last two None when unassociated.

    Without ``addresses``: the allocated addresses the context may see (its
    project's, or every project's for an admin).  With ``addresses``: those
    of them the context may see, free ones included for an admin; the caller
    tells the missing ones.  Ordered by id.
    """
    stmt = (
        model_query(ctxt, FloatingIp)
        .with_only_columns(*_FLOATING_COLUMNS, FixedIp.address.label("fixed_address"),
                           FixedIp.instance_id.label("fixed_instance_id"))
        .outerjoin(FixedIp, and_(FixedIp.id == FloatingIp.fixed_ip_id, FixedIp.deleted == false()))
        .order_by(FloatingIp.id)
    )
    if addresses:
        stmt = stmt.where(FloatingIp.address.in_(list(addresses)))
    else:
        stmt = stmt.where(FloatingIp.project_id.is_not(None))
    names = [c.key for c in _FLOATING_COLUMNS]
    with get_session() as session:
        return [(dict(zip(names, row[:-2])), row[-2], row[-1]) for row in session.execute(stmt)]
