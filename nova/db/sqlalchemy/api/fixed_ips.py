"""Fixed IPs: one row per address of every network, made when the network is.

``fixed_ip_associate_pool`` must never give one address to two instances,
however many allocations run at once: it picks a candidate with ``SELECT ...
FOR UPDATE SKIP LOCKED`` (PostgreSQL and MariaDB; concurrent pickers take
different rows) and claims it with ``UPDATE ... WHERE instance_id IS NULL``,
which only one writer can win; a loser tries the next free row.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, false, func, or_, select, true, update

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import is_admin, model_query, prepared, require_admin_context, require_context
from nova.db.sqlalchemy import single_statement
from nova.db.sqlalchemy.session import get_connection, get_engine, get_session

Context = nova_context.RequestContext
FixedIp = models.FixedIp
FloatingIp = models.FloatingIp
Instance = models.Instance
Network = models.Network
SGAssoc = models.SecurityGroupInstanceAssociation

_CLAIM_ATTEMPTS = 100


def _by_address(session: Any, ctxt: Context, address: str) -> FixedIp:
    stmt = model_query(ctxt, FixedIp).where(FixedIp.address == address).execution_options(populate_existing=True)
    row = session.scalars(stmt).first()
    if row is None:
        raise exception.FixedIpNotFound(address=address)
    return row


@require_admin_context
def fixed_ip_bulk_create(ctxt: Context, rows: list[dict[str, Any]]) -> None:
    with get_session() as session:
        session.execute(models.FixedIp.__table__.insert(), [
            {"deleted": False, "allocated": False, "leased": False, "reserved": False,
             "created_at": utils.utcnow(), **row} for row in rows])


@require_admin_context
def fixed_ip_associate_pool(ctxt: Context, network_id: int, instance_id: int, mac_address: str) -> FixedIp:
    """Give the instance a free, unreserved address of the network, marked allocated.

    Raises NoMoreFixedIps when none is left and MacAddressInUse when another
    address already carries ``mac_address`` (the caller draws a new one).
    """
    for _attempt in range(_CLAIM_ATTEMPTS):
        with get_session() as session:
            taken = session.scalar(
                select(FixedIp.id).where(FixedIp.mac_address == mac_address, FixedIp.deleted == false()).limit(1))
            if taken is not None:
                raise exception.MacAddressInUse(mac_address=mac_address)
            pick = (
                select(FixedIp.id)
                .where(FixedIp.network_id == network_id, FixedIp.deleted == false(),
                       FixedIp.reserved == false(), FixedIp.instance_id.is_(None))
                .order_by(FixedIp.id)
                .limit(1)
            )
            if session.get_bind().dialect.name != "sqlite":
                pick = pick.with_for_update(skip_locked=True)
            candidate = session.scalar(pick)
            if candidate is None:
                raise exception.NoMoreFixedIps(network_id=network_id)
            claimed = session.execute(
                update(FixedIp)
                .where(FixedIp.id == candidate, FixedIp.instance_id.is_(None))
                .values(instance_id=instance_id, allocated=True, leased=False, mac_address=mac_address,
                        updated_at=utils.utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed == 1:
                return session.get(FixedIp, candidate, populate_existing=True)
    raise exception.DatabaseError(reason=f"could not claim an address of network {network_id}")


_FIXED = FixedIp.__table__
_INSTANCES = Instance.__table__


def _holding_statement() -> Any:
    """What the instance holds on the network, and whatever carries the MAC."""
    return (
        select(_FIXED.c.address, _FIXED.c.mac_address, _FIXED.c.network_id, _FIXED.c.instance_id,
               _FIXED.c.allocated)
        .where(_FIXED.c.deleted == false(),
               or_(and_(_FIXED.c.instance_id == bindparam("w_instance"), _FIXED.c.network_id == bindparam("w_network"),
                        _FIXED.c.allocated == true()),
                   _FIXED.c.mac_address == bindparam("w_mac")))
        .order_by(_FIXED.c.id)
    )


def _pick_statement(sqlite: bool) -> Any:
    pick = (
        select(_FIXED.c.id, _FIXED.c.address)
        .where(_FIXED.c.network_id == bindparam("w_network"), _FIXED.c.deleted == false(),
               _FIXED.c.reserved == false(), _FIXED.c.instance_id.is_(None))
        .order_by(_FIXED.c.id)
        .limit(1)
    )
    return pick if sqlite else pick.with_for_update(skip_locked=True)


def _claim_statement() -> Any:
    return (
        update(_FIXED)
        .where(_FIXED.c.id == bindparam("w_id"), _FIXED.c.instance_id.is_(None))
        .values(instance_id=bindparam("v_instance"), allocated=True, leased=False,
                mac_address=bindparam("v_mac"), updated_at=bindparam("v_now"))
    )


def _instance_mac_statement() -> Any:
    """The instance's MAC, when it has none; a row counted only while the instance lives."""
    unset = or_(_INSTANCES.c.mac_address.is_(None), _INSTANCES.c.mac_address == "")
    return (
        update(_INSTANCES)
        .where(_INSTANCES.c.id == bindparam("w_instance"), _INSTANCES.c.deleted == false())
        .values(mac_address=case((unset, bindparam("v_mac")), else_=_INSTANCES.c.mac_address))
    )


def _releases_statement() -> Any:
    floating, network = FloatingIp.__table__, Network.__table__
    return (
        select(_FIXED.c.id, _FIXED.c.address, _FIXED.c.network_id, network.c.host, floating.c.address,
               floating.c.host)
        .outerjoin(network, network.c.id == _FIXED.c.network_id)
        .outerjoin(floating, and_(floating.c.fixed_ip_id == _FIXED.c.id, floating.c.deleted == false()))
        .where(_FIXED.c.instance_id == bindparam("w_instance"), _FIXED.c.deleted == false())
        .order_by(_FIXED.c.id, floating.c.id)
    )


def _disassociate_statement() -> Any:
    return (
        update(_FIXED)
        .where(_FIXED.c.address == bindparam("w_address"), _FIXED.c.deleted == false())
        .values(instance_id=None, mac_address=None, allocated=False, leased=False, updated_at=bindparam("v_now"))
    )


def _allocation_statement() -> Any:
    """PostgreSQL: the four statements of an allocation as one (data-modifying WITH clauses).

    ``holding`` is what the instance holds on the network or carries the MAC;
    ``pick`` a free address, locked, only when nothing is held and the instance
    lives; ``claim`` takes it; ``mac`` names the instance's MAC when the claim
    was made.  It answers one row: the held address and its MAC (the first by
    id), how many rows ``holding`` found, whether a free address was picked,
    the claimed address, whether ``mac`` found the live instance, and whether
    the statement's snapshot saw it live.  It runs in autocommit (one round
    trip): nothing is claimed for an instance already gone.
    """
    now = bindparam("v_now")
    holding = (
        select(_FIXED.c.id, _FIXED.c.address, _FIXED.c.mac_address, _FIXED.c.network_id, _FIXED.c.instance_id,
               _FIXED.c.allocated)
        .where(_FIXED.c.deleted == false(),
               or_(and_(_FIXED.c.instance_id == bindparam("w_instance"), _FIXED.c.network_id == bindparam("w_network"),
                        _FIXED.c.allocated == true()),
                   _FIXED.c.mac_address == bindparam("w_mac")))
        .cte("holding")
    )
    live = exists().where(_INSTANCES.c.id == bindparam("w_instance"), _INSTANCES.c.deleted == false())
    pick = (
        select(_FIXED.c.id)
        .where(_FIXED.c.network_id == bindparam("w_network"), _FIXED.c.deleted == false(),
               _FIXED.c.reserved == false(), _FIXED.c.instance_id.is_(None), ~exists(select(holding.c.id)), live)
        .order_by(_FIXED.c.id).limit(1).with_for_update(skip_locked=True)
        .cte("pick")
    )
    claim = (
        update(_FIXED).where(_FIXED.c.id == pick.c.id, _FIXED.c.instance_id.is_(None))
        .values(instance_id=bindparam("v_instance"), allocated=True, leased=False, mac_address=bindparam("v_mac"),
                updated_at=now)
        .returning(_FIXED.c.address)
        .cte("claim")
    )
    mac = (_instance_mac_statement().where(exists(select(claim.c.address))).values(updated_at=now)
           .returning(_INSTANCES.c.id).cte("mac"))
    held = (select(holding).where(holding.c.instance_id == bindparam("w_instance"),
                                  holding.c.network_id == bindparam("w_network"), holding.c.allocated == true())
            .order_by(holding.c.id).limit(1).subquery())
    return select(
        select(held.c.address).scalar_subquery(),
        select(held.c.mac_address).scalar_subquery(),
        select(func.count()).select_from(holding).scalar_subquery(),
        select(func.count()).select_from(pick).scalar_subquery(),
        select(claim.c.address).scalar_subquery(),
        select(func.count()).select_from(mac).scalar_subquery(),
        live,
    )


def _allocate_in_one_statement(connection: Any, network_id: int, instance_id: int,
                               mac_address: str) -> tuple[dict[str, Any], bool] | None:
    """``fixed_ip_allocate_for_instance``'s answer from one statement (None: the claim was lost, try again)."""
    held, held_mac, holding, picked, claimed, named, live = connection.execute(
        prepared(("fixed-allocate-one",), _allocation_statement),
        {"w_instance": instance_id, "w_network": network_id, "w_mac": mac_address, "v_instance": instance_id,
         "v_mac": mac_address, "v_now": utils.utcnow()}).one()
    if held is not None:
        return {"address": held, "mac_address": held_mac, "network_id": network_id}, True
    if holding:
        raise exception.MacAddressInUse(mac_address=mac_address)
    if not live:
        raise exception.InstanceNotFound(instance_id=instance_id)
    if not picked:
        raise exception.NoMoreFixedIps(network_id=network_id)
    if claimed is None:
        return None
    if not named:  # deleted while the statement ran: give the address back
        _give_back(claimed, instance_id)
        raise exception.InstanceNotFound(instance_id=instance_id)
    return {"address": claimed, "mac_address": mac_address, "network_id": network_id}, False


def _give_back_statement() -> Any:
    return _disassociate_statement().where(_FIXED.c.instance_id == bindparam("w_instance"))


def _give_back(address: str, instance_id: int) -> None:
    """Free ``address`` if ``instance_id`` still holds it (a claim whose instance went meanwhile)."""
    with single_statement.get_connection() as connection:
        connection.execute(prepared(("fixed-give-back",), _give_back_statement),
                           {"w_address": address, "w_instance": instance_id, "v_now": utils.utcnow()})


@require_admin_context
def fixed_ip_allocate_for_instance(ctxt: Context, network_id: int, instance_id: int,
                                   mac_address: str) -> tuple[dict[str, Any], bool]:
    """The instance's allocated address on the network: the one it holds, else a free one claimed for it
    as ``fixed_ip_associate_pool`` claims, with the instance's MAC set when it has none.

    Returns ``({"address", "mac_address", "network_id"}, held)``, ``held`` True when the instance held
    the address already (a request delivered again).  On PostgreSQL one statement in autocommit (one
    round trip); elsewhere one transaction of four statements (one when held): what the instance or
    ``mac_address`` holds, the candidate, the claim, the instance's MAC.
    Raises MacAddressInUse (draw another), NoMoreFixedIps, and InstanceNotFound when the instance is
    gone (nothing is claimed then).
    """
    one_statement = get_engine().dialect.name == "postgresql"  # one statement in autocommit, not four
    for _attempt in range(_CLAIM_ATTEMPTS):
        if one_statement:
            with single_statement.get_connection() as connection:
                answer = _allocate_in_one_statement(connection, network_id, instance_id, mac_address)
            if answer is None:
                continue
            return answer
        with get_connection() as connection:
            sqlite = connection.dialect.name == "sqlite"
            holding = connection.execute(prepared(("fixed-holding",), _holding_statement),
                                         {"w_instance": instance_id, "w_network": network_id,
                                          "w_mac": mac_address}).all()
            for address, mac, net, owner, allocated in holding:
                if owner == instance_id and net == network_id and allocated:
                    return {"address": address, "mac_address": mac, "network_id": net}, True
            if holding:
                raise exception.MacAddressInUse(mac_address=mac_address)
            candidate = connection.execute(prepared(("fixed-pick", sqlite), lambda: _pick_statement(sqlite)),
                                           {"w_network": network_id}).first()
            if candidate is None:
                raise exception.NoMoreFixedIps(network_id=network_id)
            claimed = connection.execute(prepared(("fixed-claim",), _claim_statement),
                                         {"w_id": candidate.id, "v_instance": instance_id, "v_mac": mac_address,
                                          "v_now": utils.utcnow()}).rowcount
            if claimed != 1:
                continue
            found = connection.execute(prepared(("fixed-instance-mac",), _instance_mac_statement),
                                       {"w_instance": instance_id, "v_mac": mac_address}).rowcount
            if found != 1:
                raise exception.InstanceNotFound(instance_id=instance_id)  # rolls the claim back
            return {"address": candidate.address, "mac_address": mac_address, "network_id": network_id}, False
    raise exception.DatabaseError(reason=f"could not claim an address of network {network_id}")


@require_admin_context
def fixed_ip_get_releases_by_instance(ctxt: Context, instance_id: int) -> list[dict[str, Any]]:
    """What releasing the instance's addresses needs, in one statement, deleted instance or not: per fixed
    IP (by id) ``address``, ``network_id``, ``network_host`` and ``floating`` (``[(address, host)]`` of the
    floating IPs pointing at it)."""
    found: dict[int, dict[str, Any]] = {}
    with single_statement.get_connection() as connection:
        rows = connection.execute(prepared(("fixed-releases",), _releases_statement), {"w_instance": instance_id})
        for fixed_id, address, network_id, network_host, floating, floating_host in rows:
            entry = found.setdefault(fixed_id, {"address": address, "network_id": network_id,
                                                "network_host": network_host, "floating": []})
            if floating is not None:
                entry["floating"].append((floating, floating_host))
    return list(found.values())


@require_admin_context
def fixed_ip_get_by_address(ctxt: Context, address: str) -> FixedIp:
    with get_session() as session:
        return _by_address(session, ctxt, address)


@require_admin_context
def fixed_ip_get(ctxt: Context, fixed_ip_id: int) -> FixedIp:
    with get_session() as session:
        row = session.scalars(model_query(ctxt, FixedIp).where(FixedIp.id == fixed_ip_id)).first()
    if row is None:
        raise exception.FixedIpNotFound(address=f"with id {fixed_ip_id}")
    return row


@require_admin_context
def fixed_ip_get_all(ctxt: Context) -> list[FixedIp]:
    with get_session() as session:
        return list(session.scalars(model_query(ctxt, FixedIp).order_by(FixedIp.id)))


@require_admin_context
def fixed_ip_get_all_by_network(ctxt: Context, network_id: int) -> list[FixedIp]:
    stmt = model_query(ctxt, FixedIp).where(FixedIp.network_id == network_id).order_by(FixedIp.id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def fixed_ip_get_all_by_instance(ctxt: Context, instance_id: int) -> list[FixedIp]:
    """The instance's addresses; a non-admin only for an instance of its project."""
    visible = select(Instance.id).where(Instance.id == instance_id)
    if not is_admin(ctxt):
        visible = visible.where(Instance.project_id == ctxt.project_id)
    with get_session() as session:
        if session.scalar(visible) is None:
            raise exception.InstanceNotFound(instance_id=instance_id)
        stmt = model_query(ctxt.elevated(), FixedIp).where(FixedIp.instance_id == instance_id).order_by(FixedIp.id)
        return list(session.scalars(stmt))


def _addresses_of_instances(ctxt: Context, instance_ids: list[int], *columns: Any) -> list[tuple[Any, ...]]:
    """``(instance id, fixed address, *columns, floating address or None)`` in one query, ordered by
    instance, fixed IP and floating IP; a non-admin gets its project's instances' only."""
    ids = sorted({int(i) for i in instance_ids})
    if not ids:
        return []
    stmt = (
        select(FixedIp.instance_id, FixedIp.address, *columns, FloatingIp.address)
        .outerjoin(Network, Network.id == FixedIp.network_id)
        .outerjoin(FloatingIp, and_(FloatingIp.fixed_ip_id == FixedIp.id, FloatingIp.deleted == false()))
        .where(FixedIp.instance_id.in_(ids), FixedIp.deleted == false())
        .order_by(FixedIp.instance_id, FixedIp.id, FloatingIp.id)
    )
    if not is_admin(ctxt):
        stmt = stmt.join(Instance, Instance.id == FixedIp.instance_id).where(Instance.project_id == ctxt.project_id)
    with get_session() as session:
        return [tuple(row) for row in session.execute(stmt)]


@require_context
def fixed_ip_get_addresses_by_instances(ctxt: Context, instance_ids: list[int]) -> list[tuple[int, str, str | None]]:
    """``(instance id, fixed address, floating address or None)`` for the instances' fixed IPs, in one query.

    A fixed IP with several floating IPs gives one tuple per floating IP.
    Ordered by instance, then fixed IP, then floating IP id, so the first
    tuple of an instance is its first address.  A non-admin gets only its
    project's instances' addresses.
    """
    return _addresses_of_instances(ctxt, instance_ids)


@require_context
def fixed_ip_get_nics_by_instances(ctxt: Context, instance_ids: list[int]) -> list[tuple[int, str, str | None,
                                                                                       str | None, str | None]]:
    """``(instance id, fixed address, MAC, network label, floating address or None)`` in one query,
    ordered as ``fixed_ip_get_addresses_by_instances``; a non-admin gets its project's only."""
    return _addresses_of_instances(ctxt, instance_ids, FixedIp.mac_address, Network.label)


@require_admin_context
def fixed_ip_get_all_by_security_group(ctxt: Context, security_group_id: int) -> list[FixedIp]:
    """Addresses of the (undeleted) instances that are members of the group."""
    stmt = (
        model_query(ctxt, FixedIp)
        .join(SGAssoc, SGAssoc.instance_id == FixedIp.instance_id)
        .join(Instance, Instance.id == FixedIp.instance_id)
        .where(SGAssoc.security_group_id == security_group_id, SGAssoc.deleted == false(),
               Instance.deleted == false())
        .order_by(FixedIp.id)
    )
    with get_session() as session:
        return list(session.scalars(stmt))


@require_admin_context
def fixed_ip_update(ctxt: Context, address: str, values: dict[str, Any]) -> FixedIp:
    with get_session() as session:
        row = _by_address(session, ctxt, address)
        row.update(values)
        row.save(session)
        return row


@require_admin_context
def fixed_ip_disassociate(ctxt: Context, address: str) -> None:
    """Return the address to the pool (one UPDATE); FixedIpNotFound when there is no such address."""
    with single_statement.get_connection() as connection:
        done = connection.execute(prepared(("fixed-disassociate",), _disassociate_statement),
                                  {"w_address": address, "v_now": utils.utcnow()}).rowcount
    if done == 0:
        raise exception.FixedIpNotFound(address=address)


@require_admin_context
def fixed_ip_disassociate_all_by_timeout(ctxt: Context, host: str, before: datetime.datetime) -> int:
    """Free addresses of ``host``'s networks left unallocated and unleased since before ``before``."""
    networks = select(Network.id).where(Network.host == host, Network.deleted == false())
    with get_session() as session:
        return session.execute(
            update(FixedIp)
            .where(FixedIp.network_id.in_(networks), FixedIp.deleted == false(),
                   FixedIp.instance_id.is_not(None), FixedIp.allocated == false(), FixedIp.leased == false(),
                   FixedIp.updated_at < before)
            .values(instance_id=None, mac_address=None, updated_at=utils.utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
