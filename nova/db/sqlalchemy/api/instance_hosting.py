"""What the back-end daemons read and write on an instance while they place, build and delete it.

These are the boot path's statements, one each where the general functions
of ``instances.py`` take several: ``instance_update`` reads the whole
instance (its flavor, metadata, security groups and their rules: four
statements) before it writes, and answers with it; the scheduler and
nova-compute already hold the row and need only the write.  Every write is
one ``UPDATE`` that also bumps ``updated_at``; a non-admin context reaches
only its own project's instances, as everywhere in the backend.  One-statement
work runs through ``single_statement`` (no BEGIN/COMMIT round trips on
PostgreSQL), and on PostgreSQL the soft delete and the writes that a
group-member refresh follows carry their companions as ``WITH`` clauses.
"""

from __future__ import annotations

from typing import Any, Collection

from sqlalchemy import and_, bindparam, false, func, or_, select, true, update
from sqlalchemy.orm import joinedload, make_transient_to_detached, raiseload

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy import single_statement
from nova.db.sqlalchemy.api.common import is_admin, model_query, prepared, require_admin_context, require_context
from nova.db.sqlalchemy.api.instance_launch import detached, instance_and_flavor
from nova.db.sqlalchemy.api.security_groups import grantee_hosts_statement, security_group_grantee_hosts
from nova.db.sqlalchemy.session import get_connection, get_engine

Context = nova_context.RequestContext
Instance = models.Instance

_COLUMNS = frozenset(Instance.__table__.c.keys())
_TABLE = Instance.__table__
_GROUPS = models.SecurityGroup.__table__
_LINKS = models.SecurityGroupInstanceAssociation.__table__
_INSTANCE_KEYS = tuple(_TABLE.c.keys())
_FLAVOR_KEYS = tuple(models.InstanceType.__table__.c.keys())
_GROUP_KEYS = tuple(_GROUPS.c.keys())

def _visible(ctxt: Context, instance_id: int) -> tuple[bool, dict[str, Any]]:
    """(whether the statement must be limited to the context's project, the bound values for that)."""
    if is_admin(ctxt):
        return False, {"w_id": instance_id}
    return True, {"w_id": instance_id, "w_project_id": ctxt.project_id}


def _visible_clauses(scoped: bool) -> list[Any]:
    clauses = [_TABLE.c.id == bindparam("w_id"), _TABLE.c.deleted == false()]
    if scoped:
        clauses.append(_TABLE.c.project_id == bindparam("w_project_id"))
    return clauses


def _check_columns(values: dict[str, Any]) -> None:
    unknown = sorted(set(values) - _COLUMNS)
    if unknown:
        raise exception.InvalidInput(reason=f"instances has no column(s) {', '.join(unknown)}")
    if "project_id" in values or "id" in values:
        raise exception.InvalidInput(reason="an instance's id and project are not set here")


def _get_options(security_groups: bool) -> list[Any]:
    options = [joinedload(Instance.instance_type), raiseload(Instance.metadata_items)]
    if security_groups:
        options.append(joinedload(Instance.security_groups).raiseload(models.SecurityGroup.rules))
    else:
        options.append(raiseload(Instance.security_groups))
    return options


def _has_volumes() -> Any:
    """Whether a live volume names the instance (attached, or reserved for it at launch)."""
    volume = models.Volume
    return (select(volume.id).where(volume.instance_id == Instance.id, volume.deleted == false())
            .exists().label("has_volumes"))


def _host_read(security_groups: bool, *extra: Any) -> Any:
    """Core: the instance's columns, its flavor's, with ``security_groups`` one live group's per row (an
    instance in none: one row of NULLs), then ``extra``.  ``_loaded`` makes the objects."""
    columns, source = instance_and_flavor()
    if security_groups:
        source = (source.outerjoin(_LINKS, and_(_LINKS.c.instance_id == _TABLE.c.id, _LINKS.c.deleted == false()))
                  .outerjoin(_GROUPS, and_(_GROUPS.c.id == _LINKS.c.security_group_id, _GROUPS.c.deleted == false())))
        columns += [column.label(f"group_{column.key}") for column in _GROUPS.c]
    stmt = select(*columns, *extra).select_from(source)
    return stmt.order_by(_LINKS.c.id) if security_groups else stmt


def _loaded_as_read(model: type[Any], values: dict[str, Any]) -> Any:
    """A ``model`` object of ``values``, detached as if its session had closed: a relationship not among
    ``values`` raises when touched (as ``raiseload`` does), never reads as empty."""
    obj = detached(model, values)
    make_transient_to_detached(obj)
    return obj


def _loaded(rows: list[Any], security_groups: bool) -> Instance:
    """The instance of ``_host_read``'s rows with its flavor and (with ``security_groups``) its groups,
    built without the ORM's loading (a quarter to a third less CPU per read); its metadata and the
    groups' rules are not loaded and raise when touched."""
    width, flavor_width = len(_INSTANCE_KEYS), len(_FLAVOR_KEYS)
    first = rows[0]
    values = dict(zip(_INSTANCE_KEYS, first[:width]))
    flavor = dict(zip(_FLAVOR_KEYS, first[width:width + flavor_width]))
    values["instance_type"] = _loaded_as_read(models.InstanceType, flavor) if flavor["id"] is not None else None
    if security_groups:
        groups: dict[int, Any] = {}
        start = width + flavor_width
        for row in rows:
            group = dict(zip(_GROUP_KEYS, row[start:start + len(_GROUP_KEYS)]))
            if group["id"] is not None and group["id"] not in groups:
                groups[group["id"]] = _loaded_as_read(models.SecurityGroup, group)
        values["security_groups"] = list(groups.values())
    return _loaded_as_read(Instance, values)


def _get_statement(security_groups: bool, scoped: bool, volume_flag: bool = False) -> Any:
    return _host_read(security_groups, *([_has_volumes()] if volume_flag else [])).where(*_visible_clauses(scoped))


def _get_row(ctxt: Context, instance_id: int, security_groups: bool, volume_flag: bool) -> tuple[Instance, Any]:
    """The instance (and, with ``volume_flag``, whether a live volume names it) in one statement;
    InstanceNotFound when there is none."""
    if getattr(ctxt, "read_deleted", False):  # rare: built for the call, deleted rows included (the ORM's way)
        stmt = model_query(ctxt, Instance).where(Instance.id == instance_id).options(*_get_options(security_groups))
        stmt = stmt.add_columns(_has_volumes()) if volume_flag else stmt
        with single_statement.get_session() as session:
            row = session.execute(stmt).unique().first()
        if row is None:
            raise exception.InstanceNotFound(instance_id=instance_id)
        return row[0], (row[1] if volume_flag else None)
    scoped, params = _visible(ctxt, instance_id)
    stmt = prepared(("get-core", security_groups, scoped, volume_flag),
                    lambda: _get_statement(security_groups, scoped, volume_flag))
    with single_statement.get_connection() as connection:
        rows = connection.execute(stmt, params).all()
    if not rows:
        raise exception.InstanceNotFound(instance_id=instance_id)
    return _loaded(rows, security_groups), (rows[0][-1] if volume_flag else None)


@require_context
def instance_get_for_host(ctxt: Context, instance_id: int, security_groups: bool = False) -> Instance:
    """The instance's row and flavor in one statement, for a daemon that builds or deletes it.

    Its metadata and the rules of its security groups are not loaded (touching
    them raises); its security groups (without rules) are, in the same
    statement, when ``security_groups``.  InstanceNotFound as ``instance_get``.
    """
    return _get_row(ctxt, instance_id, security_groups, False)[0]


@require_context
def instance_get_with_volume_flag(ctxt: Context, instance_id: int) -> tuple[Instance, bool]:
    """``instance_get_for_host`` with security groups, and whether any live volume names the instance
    (``volume_get_all_by_instance`` would find one), in the same statement."""
    instance, has_volumes = _get_row(ctxt, instance_id, True, True)
    return instance, bool(has_volumes)


def _start_statement(scoped: bool) -> Any:
    """PostgreSQL: ``instance_get_with_volume_flag``'s read with the start of the build as a data-modifying
    WITH clause; the read shows the row as it was before, and ``started`` whether the write was made."""
    table = _TABLE
    started = (
        update(table)
        .where(*_visible_clauses(scoped), table.c.vm_state == bindparam("w_vm_state"),
               or_(table.c.task_state.is_(None), table.c.task_state != bindparam("w_not_task_state")))
        .values(host=bindparam("v_host"), launched_on=bindparam("v_host"), task_state=bindparam("v_task_state"),
                availability_zone=func.coalesce(func.nullif(table.c.availability_zone, ""), bindparam("v_zone")),
                updated_at=bindparam("v_now"))
        .returning(table.c.id)
        .cte("started")
    )
    return (_host_read(True, _has_volumes(), select(started.c.id).exists().label("started"))
            .where(*_visible_clauses(scoped)).add_cte(started))


@require_context
def instance_start_build(ctxt: Context, instance_id: int, host: str, task_state: str, building: str,
                         unless_task_state: str, default_zone: str | None) -> tuple[Instance, bool, bool]:
    """What nova-compute does first with an instance to build: (the row with its flavor and groups, whether
    a live volume names it, whether the build started).

    The build starts only if the instance is ``building`` and its task is not
    ``unless_task_state`` (a delete under way): its host and ``launched_on``
    become ``host``, its task ``task_state``, its zone ``default_zone`` when it
    has none; the row answered has these values.  On PostgreSQL one
    statement, elsewhere the read and the write.  InstanceNotFound when the
    instance is gone.
    """
    values = {"host": host, "launched_on": host, "task_state": task_state}
    if get_engine().dialect.name != "postgresql" or getattr(ctxt, "read_deleted", False):
        instance, has_volumes = instance_get_with_volume_flag(ctxt, instance_id)
        if instance["vm_state"] != building or instance["task_state"] == unless_task_state:
            return instance, bool(has_volumes), False
        values["availability_zone"] = instance["availability_zone"] or default_zone
        instance_set(ctxt, instance_id, values)
        instance.update(values)
        return instance, bool(has_volumes), True
    scoped, params = _visible(ctxt, instance_id)
    params.update(w_vm_state=building, w_not_task_state=unless_task_state, v_host=host, v_task_state=task_state,
                  v_zone=default_zone, v_now=utils.utcnow())
    stmt = prepared(("start-build-core", scoped), lambda: _start_statement(scoped))
    with single_statement.get_connection() as connection:
        rows = connection.execute(stmt, params).all()
    if not rows:
        raise exception.InstanceNotFound(instance_id=instance_id)
    instance, (has_volumes, started) = _loaded(rows, True), rows[0][-2:]
    if started:
        values["availability_zone"] = instance["availability_zone"] or default_zone
        instance.update(values)
    return instance, bool(has_volumes), bool(started)


_PLACEMENT_COLUMNS = ("id", "project_id", "vm_state", "task_state", "host", "vcpus", "memory_mb", "local_gb",
                      "availability_zone")


def _placement_statement(scoped: bool) -> Any:
    return select(*(_TABLE.c[name] for name in _PLACEMENT_COLUMNS)).where(*_visible_clauses(scoped))


@require_context
def instance_get_placement(ctxt: Context, instance_id: int) -> dict[str, Any]:
    """What placing the live instance weighs and checks (``_PLACEMENT_COLUMNS``), as a dict: one
    statement and no ORM object, for the scheduler.  InstanceNotFound as ``instance_get``."""
    scoped, params = _visible(ctxt, instance_id)
    stmt = prepared(("placement", scoped), lambda: _placement_statement(scoped))
    with single_statement.get_connection() as connection:
        row = connection.execute(stmt, params).first()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_id)
    return dict(zip(_PLACEMENT_COLUMNS, row))


@require_admin_context
def instance_get_all_for_host(ctxt: Context, host: str | None, vm_state: str | None = None) -> list[Instance]:
    """The live instances of ``host`` (None: those no host holds yet), in ``vm_state`` when given, by id:
    rows and flavors in one statement, for the daemons' periodic checks (``instance_get_all_by_host`` loads
    metadata, groups and rules too: four statements).  Metadata and groups are not loaded (touching them
    raises)."""
    stmt = select(Instance).where(Instance.deleted == false(),
                                  Instance.host.is_(None) if host is None else Instance.host == host)
    if vm_state is not None:
        stmt = stmt.where(Instance.vm_state == vm_state)
    stmt = stmt.options(joinedload(Instance.instance_type), raiseload(Instance.metadata_items),
                        raiseload(Instance.security_groups)).order_by(Instance.id)
    with single_statement.get_session() as session:
        return list(session.scalars(stmt))


def _set_statement(keys: tuple[str, ...], expected: tuple[tuple[str, bool], ...], scoped: bool,
                   deleting: bool = False) -> Any:
    clauses = _visible_clauses(scoped)
    for key, is_null in expected:
        column = _TABLE.c[key]
        clauses.append(column.is_(None) if is_null else column == bindparam(f"w_{key}"))
    values = {key: bindparam(f"v_{key}") for key in keys}
    if deleting:
        values.update(deleted=True, deleted_at=bindparam("v_deleted_at"))
    return update(_TABLE).where(*clauses).values(values)


@require_context
def instance_set(ctxt: Context, instance_id: int, values: dict[str, Any],
                 expected: dict[str, Any] | None = None) -> bool:
    """Set ``values`` on the live instance in one UPDATE; nothing is read back.

    ``expected`` (column -> value, None meaning NULL) makes it a compare-and-set:
    False when the row no longer matches (or is gone).  Without it a missing row
    raises InstanceNotFound, as ``instance_update`` does.
    """
    _check_columns(values)
    expected = expected or {}
    _check_columns(expected)
    scoped, params = _visible(ctxt, instance_id)
    keys = tuple(sorted(values))
    shape = tuple(sorted((key, value is None) for key, value in expected.items()))
    stmt = prepared(("set", keys, shape, scoped), lambda: _set_statement(keys, shape, scoped))
    params.update({f"v_{key}": value for key, value in values.items()})
    params.update({f"w_{key}": value for key, value in expected.items() if value is not None})
    with single_statement.get_connection() as connection:
        done = connection.execute(stmt, params).rowcount == 1
    if not done and not expected:
        raise exception.InstanceNotFound(instance_id=instance_id)
    return done


def _with_grantees(done: Any, leave_out_instance: bool) -> Any:
    """PostgreSQL: a statement whose every row holds how many instances ``done`` (an instance UPDATE ...
    RETURNING as a WITH clause) changed, with one (group id, host) of ``security_group_grantee_hosts``
    (NULLs when there is none): the write and the refresh's read in one round trip."""
    grantees = grantee_hosts_statement(leave_out_instance).subquery("grantees")
    count = select(func.count().label("done")).select_from(done).subquery("done_count")
    return select(count.c.done, grantees.c.group_id, grantees.c.host).select_from(count.outerjoin(grantees, true()))


def _read_grantees(rows: list[Any], group_ids: list[int]) -> tuple[int, dict[int, list[str]]]:
    found: dict[int, list[str]] = {group_id: [] for group_id in group_ids}
    done = 0
    for done, group_id, host in rows:
        if group_id is not None:
            found[group_id].append(host)
    for hosts in found.values():
        hosts.sort()
    return done, found


def _set_with_grantees_statement(keys: tuple[str, ...], scoped: bool) -> Any:
    done = _set_statement(keys, (), scoped).values(updated_at=bindparam("v_now")).returning(_TABLE.c.id).cte("done")
    return _with_grantees(done, False)


@require_admin_context
def instance_set_and_grantee_hosts(ctxt: Context, instance_id: int, values: dict[str, Any],
                                   group_ids: list[int]) -> dict[int, list[str]]:
    """``instance_set`` (InstanceNotFound likewise), then ``security_group_grantee_hosts(group_ids)``'s
    answer: on PostgreSQL in one statement, elsewhere two."""
    if not group_ids or get_engine().dialect.name != "postgresql":
        instance_set(ctxt, instance_id, values)
        return security_group_grantee_hosts(ctxt, list(group_ids))
    _check_columns(values)
    scoped, params = _visible(ctxt, instance_id)
    keys = tuple(sorted(values))
    stmt = prepared(("set-grantees", keys, scoped), lambda: _set_with_grantees_statement(keys, scoped))
    params.update({f"v_{key}": value for key, value in values.items()}, v_now=utils.utcnow(),
                  w_groups=list(group_ids))
    with single_statement.get_connection() as connection:
        done, found = _read_grantees(connection.execute(stmt, params).all(), group_ids)
    if done != 1:
        raise exception.InstanceNotFound(instance_id=instance_id)
    return found


def _soft_delete_statement(model: Any) -> Any:
    table = model.__table__
    return (update(table).where(table.c.instance_id == bindparam("w_id"), table.c.deleted == false())
            .values(deleted=True, deleted_at=bindparam("v_deleted_at")))


# What hangs on an instance and is soft-deleted with it.
_DEPENDENTS = (models.InstanceMetadata, models.SecurityGroupInstanceAssociation)


def _set_deleted_in_one_statement(keys: tuple[str, ...], scoped: bool, grantees: bool) -> Any:
    """PostgreSQL: the instance's UPDATE and its dependents' in one statement (data-modifying WITH
    clauses), the dependents' only when the instance's matched; it answers how many instances matched
    (with ``grantees``, on rows with the grantee hosts of ``w_groups`` but the instance, as after it)."""
    now = bindparam("v_deleted_at")
    gone = _set_statement(keys, (), scoped, deleting=True).values(updated_at=now).returning(_TABLE.c.id).cte("gone")
    dependents = []
    for model in _DEPENDENTS:
        table = model.__table__
        dependents.append(
            update(table).where(table.c.instance_id.in_(select(gone.c.id)), table.c.deleted == false())
            .values(deleted=True, deleted_at=now, updated_at=now).cte(f"gone_{table.name}"))
    answer = _with_grantees(gone, True) if grantees else select(func.count()).select_from(gone)
    return answer.add_cte(*dependents)


@require_context
def instance_set_deleted(ctxt: Context, instance_id: int, values: dict[str, Any],
                         grantee_groups: list[int] | None = None) -> dict[int, list[str]] | None:
    """Set ``values`` (the terminated state) and soft-delete the instance, its metadata and its security
    group links: three UPDATEs in one transaction (``instance_update`` then ``instance_destroy`` read
    the instance twice), on PostgreSQL one statement.  InstanceNotFound when it is gone already.

    With ``grantee_groups`` (an admin's), it answers ``security_group_grantee_hosts(grantee_groups)`` as
    read after the delete (on PostgreSQL within the same statement), else None.
    """
    _check_columns(values)
    if "deleted" in values or "deleted_at" in values:
        raise exception.InvalidInput(reason="the deletion columns are set here")
    scoped, params = _visible(ctxt, instance_id)
    keys = tuple(sorted(values))
    now = utils.utcnow()
    params.update({f"v_{key}": value for key, value in values.items()}, v_deleted_at=now)
    if get_engine().dialect.name == "postgresql":
        grantees = bool(grantee_groups)
        if grantees and not is_admin(ctxt):
            raise exception.AdminRequired()
        stmt = prepared(("set-deleted-one", keys, scoped, grantees),
                        lambda: _set_deleted_in_one_statement(keys, scoped, grantees))
        if grantees:
            params["w_groups"] = list(grantee_groups or ())
        with single_statement.get_connection() as connection:
            rows = connection.execute(stmt, params).all()
        done, found = _read_grantees(rows, list(grantee_groups or ())) if grantees else (rows[0][0], None)
        if done != 1:
            raise exception.InstanceNotFound(instance_id=instance_id)
        if grantee_groups is None:
            return None
        return found if grantees else {}
    stmt = prepared(("set-deleted", keys, scoped), lambda: _set_statement(keys, (), scoped, deleting=True))
    with get_connection() as connection:
        if connection.execute(stmt, params).rowcount != 1:
            raise exception.InstanceNotFound(instance_id=instance_id)
        for model in _DEPENDENTS:
            connection.execute(prepared(("soft-delete", model), lambda: _soft_delete_statement(model)),
                               {"w_id": instance_id, "v_deleted_at": now})
    return None if grantee_groups is None else security_group_grantee_hosts(ctxt, list(grantee_groups))


@require_admin_context
def compute_host_capacity(ctxt: Context, topic: str, leave_out: Collection[int] = ()) -> list[dict[str, Any]]:
    """Every enabled service of ``topic`` with what a placement weighs, in one statement.

    One dict per service, in service id order: ``host``, ``availability_zone``,
    ``updated_at`` and ``created_at`` (for ``service_is_up``), ``memory_mb``
    (its compute node's, None before the node's first report) and what its
    live instances hold: ``instances``, ``vcpus``, ``used_memory_mb``
    (instances in ``error`` hold nothing, as in ``instance_usage_by_host``;
    those whose ids are in ``leave_out`` are not counted).
    """
    stmt = prepared(("capacity",), _capacity_statement)
    with single_statement.get_connection() as connection:
        rows = connection.execute(stmt, {"w_topic": topic, "w_leave_out": list(leave_out)}).all()
    return [{"host": host, "availability_zone": zone, "updated_at": updated, "created_at": created,
             "memory_mb": memory, "instances": int(count or 0), "vcpus": int(vcpus or 0),
             "used_memory_mb": int(used or 0)}
            for host, zone, updated, created, memory, count, vcpus, used in rows]


def _capacity_statement() -> Any:
    """The instances are joined to each service by host (and live), so the database reads each host's live
    instances through the (host, deleted) index: not every instance ever placed, as grouping all the
    instances with a host would."""
    service, node = models.Service, models.ComputeNode
    counted = and_(Instance.host == service.host, Instance.deleted == false(),
                   or_(Instance.vm_state.is_(None), Instance.vm_state != "error"),
                   Instance.id.not_in(bindparam("w_leave_out", expanding=True)))
    columns = (service.id, service.host, service.availability_zone, service.updated_at, service.created_at,
               node.id, node.memory_mb)
    return (
        select(*columns[1:5], node.memory_mb, func.count(Instance.id),
               func.coalesce(func.sum(Instance.vcpus), 0), func.coalesce(func.sum(Instance.memory_mb), 0))
        .select_from(service)
        .outerjoin(node, and_(node.service_id == service.id, node.deleted == false()))
        .outerjoin(Instance, counted)
        .where(service.topic == bindparam("w_topic"), service.disabled == false(), service.deleted == false())
        .group_by(*columns)
        .order_by(service.id, node.id)
    )
