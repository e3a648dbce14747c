"""Networks: created by the operator, bound to a project (VLAN mode) and to
the nova-network host that serves them.

Binding is a compare-and-set ``UPDATE ... WHERE <column> IS NULL`` so two
nova-network hosts (or two projects) racing for one row never both win.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, func, select, update

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import (
    apply_values,
    authorize_project,
    duplicate_as,
    first_or_raise,
    model_query,
    prepared,
    require_admin_context,
    require_context,
)
from nova.db.sqlalchemy import single_statement
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
Network = models.Network
FixedIp = models.FixedIp


def _network(session: Any, ctxt: Context, network_id: int) -> Network:
    stmt = model_query(ctxt, Network).where(Network.id == network_id)
    return first_or_raise(session, stmt, lambda: exception.NetworkNotFound(network_id=network_id))


@require_admin_context
def network_create_safe(ctxt: Context, values: dict[str, Any]) -> Network:
    """Create a network; NetworkExists when its cidr (or VPN endpoint) is taken."""
    network = Network()
    apply_values(network, values)
    with duplicate_as(lambda _d: exception.NetworkExists(cidr=values.get("cidr"))):
        with get_session() as session:
            if values.get("cidr"):
                clash = session.scalars(
                    model_query(ctxt, Network).where(Network.cidr == values["cidr"])).first()
                if clash is not None:
                    raise exception.NetworkExists(cidr=values["cidr"])
            network.save(session)
            return network


@require_admin_context
def network_get(ctxt: Context, network_id: int) -> Network:
    with get_session() as session:
        return _network(session, ctxt, network_id)


@require_admin_context
def network_get_all(ctxt: Context) -> list[Network]:
    with get_session() as session:
        return list(session.scalars(model_query(ctxt, Network).order_by(Network.id)))


@require_admin_context
def network_get_all_by_host(ctxt: Context, host: str) -> list[Network]:
    stmt = model_query(ctxt, Network).where(Network.host == host).order_by(Network.id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_admin_context
def network_get_by_bridge(ctxt: Context, bridge: str) -> Network:
    stmt = model_query(ctxt, Network).where(Network.bridge == bridge).order_by(Network.id)
    with get_session() as session:
        row = session.scalars(stmt).first()
    if row is None:
        raise exception.NetworkNotFoundForBridge(bridge=bridge)
    return row


@require_admin_context
def network_get_unassociated(ctxt: Context) -> list[Network]:
    """Networks bound to no project (the flat strategies' pool)."""
    if getattr(ctxt, "read_deleted", False):
        stmt = _unassociated_statement(ctxt)
    else:  # nova-network reads it for every allocation: built once
        stmt = prepared(("networks-unassociated",), lambda: _unassociated_statement(ctxt))
    with single_statement.get_session() as session:
        return list(session.scalars(stmt))


def _unassociated_statement(ctxt: Context) -> Any:
    return model_query(ctxt, Network).where(Network.project_id.is_(None)).order_by(Network.id)


@require_admin_context
def network_update(ctxt: Context, network_id: int, values: dict[str, Any]) -> Network:
    with get_session() as session:
        network = _network(session, ctxt, network_id)
        apply_values(network, values)
        network.save(session)
        return network


@require_admin_context
def network_set_host(ctxt: Context, network_id: int, host: str) -> str:
    """Claim the network for ``host`` unless another host has it; returns the owner."""
    with get_session() as session:
        session.execute(
            update(Network)
            .where(Network.id == network_id, Network.host.is_(None), Network.deleted == false())
            .values(host=host, updated_at=utils.utcnow())
            .execution_options(synchronize_session=False)
        )
        return _network(session, ctxt, network_id).host


@require_context
def project_get_network(ctxt: Context, project_id: str, associate: bool = True) -> Network:
    """The project's network; with ``associate``, bind a free one at first use.

    Raises NoMoreNetworks when every network belongs to a project already.
    """
    authorize_project(ctxt, project_id)
    admin = ctxt.elevated()
    for _attempt in range(20):
        with get_session() as session:
            row = session.scalars(model_query(admin, Network).where(Network.project_id == project_id)).first()
            if row is not None:
                return row
            if not associate:
                raise exception.ProjectNetworkNotFound(project_id=project_id)
            free = session.scalars(
                model_query(admin, Network).where(Network.project_id.is_(None)).order_by(Network.id)).first()
            if free is None:
                raise exception.NoMoreNetworks()
            session.execute(
                update(Network)
                .where(Network.id == free.id, Network.project_id.is_(None))
                .values(project_id=project_id, updated_at=utils.utcnow())
                .execution_options(synchronize_session=False)
            )
        # Either we bound it or a racing writer did; the next pass reads the result.
    raise exception.DatabaseError(reason=f"could not bind a network to project {project_id}")


@require_admin_context
def network_disassociate(ctxt: Context, network_id: int) -> None:
    """Unbind a network from its project and host."""
    network_update(ctxt, network_id, {"project_id": None, "host": None})


@require_admin_context
def network_delete_safe(ctxt: Context, network_id: int) -> None:
    """Soft-delete a network and its addresses; refused while any is in use."""
    now = utils.utcnow()
    with get_session() as session:
        network = _network(session, ctxt, network_id)
        in_use = session.scalar(
            select(func.count()).select_from(FixedIp)
            .where(FixedIp.network_id == network_id, FixedIp.deleted == false(), FixedIp.instance_id.is_not(None)))
        if in_use:
            raise exception.NetworkInUse(network_id=network_id, count=in_use)
        session.execute(
            update(FixedIp).where(FixedIp.network_id == network_id, FixedIp.deleted == false())
            .values(deleted=True, deleted_at=now).execution_options(synchronize_session=False))
        network.soft_delete(session)


@require_admin_context
def network_count(ctxt: Context) -> int:
    with get_session() as session:
        return session.scalar(select(func.count()).select_from(model_query(ctxt, Network).subquery()))
