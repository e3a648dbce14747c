"""Instance listings: rows and what hangs off them in a fixed number of statements.

DescribeInstances and ``servers/detail`` show, for every instance, its flavor,
security groups, metadata, tags, addresses and attached volumes.  Loading
them as ORM objects cost more than the queries themselves (a second per
3,000 instances), and one query per instance made 10,000 take a minute.
Here each kind is one plain SELECT whose instance set is the listing's own
query again as a subquery (``instance_id IN (SELECT id FROM instances WHERE
...)``), so no statement carries thousands of ids and every one keeps the
listing's project scoping.  A page (``after_id``, ``limit``) is cut in SQL
by id; its related rows are those of ``after_id < id <= last id shown``.  A
page newest first (``servers``: ``marker``, ``limit``) is cut in SQL by
(created_at, id) after the marker's; its related rows are those of its ids.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, or_, select

from nova import context as nova_context
from nova import exception
from nova import gc_pause
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import model_query, require_context
from nova.db.sqlalchemy.api.instances import filter_clauses
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
Instance = models.Instance
_COLUMNS = tuple(Instance.__table__.c)
_FLAVOR_COLUMNS = ("id", "name", "flavorid", "memory_mb", "vcpus", "local_gb")


class ListedInstance(dict):
    """An instance's columns (``row["host"]``, ``row.get("fault")``) with what a listing shows of it:
    ``instance_type`` (a dict or None), ``security_groups`` (``{"id", "name"}`` dicts),
    ``metadata_dict``, ``tags``, ``nics`` (``{"address", "mac", "label", "floating": [addresses]}``
    in fixed-IP order) and ``volumes`` (attached volume rows)."""

    __slots__ = ("instance_type", "security_groups", "metadata_dict", "tags", "nics", "volumes")

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.instance_type: dict[str, Any] | None = None
        self.security_groups: list[dict[str, Any]] = []
        self.metadata_dict: dict[str, str | None] = {}
        self.tags: dict[str, str | None] = {}
        self.nics: list[dict[str, Any]] = []
        self.volumes: list[Any] = []

    @property
    def name(self) -> str:
        return "instance-%08x" % self["id"]

    @property
    def fixed_addresses(self) -> list[str]:
        return [nic["address"] for nic in self.nics]

    @property
    def floating_addresses(self) -> list[str]:
        return [address for nic in self.nics for address in nic["floating"]]


@require_context
def instance_get_listing(ctxt: Context, filters: dict[str, Any] | None = None, after_id: int | None = None,
                         limit: int | None = None, *, newest_first: bool = False,
                         marker: str | None = None) -> list[ListedInstance]:
    """The instances ``instance_get_all_by_filters`` would give (same filters, same scoping), by id,
    those after ``after_id`` only and at most ``limit`` of them, each with what it shows; seven
    statements whatever their number.

    ``newest_first`` orders them as ``servers`` lists them, by creation time then id, newest first,
    and ``marker`` (a uuid among them; ``MarkerNotFound`` otherwise, one more statement) starts the
    page after that instance."""
    scoped = model_query(ctxt, Instance).where(*filter_clauses(filters))
    if after_id is not None:
        scoped = scoped.where(Instance.id > after_id)
    flavor = models.InstanceType
    stmt = (scoped.with_only_columns(*_COLUMNS, *(getattr(flavor, c).label(f"flavor_{c}") for c in _FLAVOR_COLUMNS))
            .outerjoin(flavor, flavor.id == Instance.instance_type_id))
    if newest_first:
        stmt = stmt.order_by(Instance.created_at.desc(), Instance.id.desc())
    else:
        stmt = stmt.order_by(Instance.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    with get_session() as session, gc_pause.collection_paused():
        # Plain rows through the session's connection: the ORM's row processing cost more than the
        # statements; tuples are cut in two by position (instance columns, flavor columns).
        connection = session.connection()
        if marker is not None:
            found = connection.execute(scoped.with_only_columns(Instance.created_at, Instance.id)
                                       .where(Instance.uuid == marker)).first()
            if found is None:
                raise exception.MarkerNotFound(marker=marker[:40])
            stmt = stmt.where(or_(Instance.created_at < found.created_at,
                                  and_(Instance.created_at == found.created_at, Instance.id < found.id)))
        listed = {}
        names = [c.key for c in _COLUMNS]
        width = len(names)
        flavors: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in connection.execute(stmt).all():
            instance = ListedInstance(zip(names, row[:width]))
            flavor_row = row[width:]
            if flavor_row[0] is not None:
                shown = flavors.get(flavor_row)
                if shown is None:
                    shown = flavors[flavor_row] = dict(zip(_FLAVOR_COLUMNS, flavor_row))
                instance.instance_type = shown
            listed[instance["id"]] = instance
        if not listed:
            return []
        if limit is not None and newest_first:
            scoped = scoped.where(Instance.id.in_(list(listed)))  # a page: at most 1,000 ids (servers' limit)
        elif limit is not None:
            scoped = scoped.where(Instance.id <= max(listed))
        ids = scoped.with_only_columns(Instance.id).scalar_subquery()
        _add_related(ctxt, session, connection, listed, ids)
    return list(listed.values())


def _add_related(ctxt: Context, session: Any, connection: Any, listed: dict[int, ListedInstance], ids: Any) -> None:
    """Each statement runs ``ids`` again and may see instances launched since the first one (PostgreSQL
    and MariaDB read each statement's own snapshot): rows of those are skipped, they are on no page yet."""
    assoc, group = models.SecurityGroupInstanceAssociation, models.SecurityGroup
    for instance_id, group_id, name in connection.execute(
            select(assoc.instance_id, group.id, group.name)
            .join(group, group.id == assoc.security_group_id)
            .where(assoc.instance_id.in_(ids), assoc.deleted == false(), group.deleted == false())
            .order_by(assoc.instance_id, group.id)).all():
        if instance_id in listed:
            listed[instance_id].security_groups.append({"id": group_id, "name": name})
    meta = models.InstanceMetadata
    for instance_id, key, value in connection.execute(
            select(meta.instance_id, meta.key, meta.value)
            .where(meta.instance_id.in_(ids), meta.deleted == false())).all():
        if instance_id in listed:
            listed[instance_id].metadata_dict[key] = value
    tag = models.Tag
    for instance_id, key, value in connection.execute(
            model_query(ctxt, tag).with_only_columns(tag.resource_id, tag.key, tag.value)
            .where(tag.resource_type == "instance", tag.resource_id.in_(ids))).all():
        if instance_id in listed:
            listed[instance_id].tags[key] = value
    fixed, floating, network = models.FixedIp, models.FloatingIp, models.Network
    last: tuple[int, str] | None = None
    for instance_id, address, mac, label, public in connection.execute(
            select(fixed.instance_id, fixed.address, fixed.mac_address, network.label, floating.address)
            .outerjoin(network, network.id == fixed.network_id)
            .outerjoin(floating, and_(floating.fixed_ip_id == fixed.id, floating.deleted == false()))
            .where(fixed.instance_id.in_(ids), fixed.deleted == false())
            .order_by(fixed.instance_id, fixed.id, floating.id)).all():
        if instance_id not in listed:
            continue
        nics = listed[instance_id].nics
        if last != (instance_id, address):
            nics.append({"address": address, "mac": mac, "label": label or "private", "floating": []})
            last = (instance_id, address)
        if public is not None:
            nics[-1]["floating"].append(public)
    volume = models.Volume
    for row in session.scalars(model_query(ctxt, volume).where(volume.instance_id.in_(ids))
                               .order_by(volume.mountpoint)):  # few: ORM rows, as the volume API gives
        if row.instance_id in listed:
            listed[row.instance_id].volumes.append(row)
