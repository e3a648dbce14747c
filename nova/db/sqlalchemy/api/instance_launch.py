"""What nova-api reads and writes to launch and terminate an instance, in SQLAlchemy Core.

RunInstances and TerminateInstances are most of nova-api's database work
under load, and building ORM queries, flushing a unit of work and loading
objects cost several times the statements themselves.  Here each statement
is built once (``common.prepared``) and executed with its values bound on a
Core connection; the answers are the same model classes the ORM functions
give, made detached from the rows (no session, nothing lazy-loads: a
relationship not filled in here reads as empty).  The visibility rules are
``model_query``'s: soft-deleted rows are left out unless the context reads
deleted ones, and a non-admin context reaches only its own project's rows.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Iterable

from sqlalchemy import (
    ARRAY,
    Integer,
    String,
    and_,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    tuple_,
    union_all,
    update,
)

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import (
    authorize_project,
    duplicate_as,
    is_admin,
    prepared,
    require_context,
)
from nova.db.sqlalchemy.session import get_connection, get_engine, one_transaction

Context = nova_context.RequestContext
Instance = models.Instance
InstanceType = models.InstanceType
Group = models.SecurityGroup
Assoc = models.SecurityGroupInstanceAssociation
Metadata = models.InstanceMetadata
Image = models.Image
Permission = models.ImageLaunchPermission
Quota = models.Quota
Tag = models.Tag

_INSTANCES = Instance.__table__
_FLAVORS = InstanceType.__table__
_GROUPS = Group.__table__
_INSTANCE_KEYS = tuple(c.key for c in _INSTANCES.c)
_WRITTEN_KEYS = tuple(key for key in _INSTANCE_KEYS if key != "id")
_FLAVOR_KEYS = tuple(c.key for c in _FLAVORS.c)
_FLAVOR_COPIES = ("memory_mb", "vcpus", "local_gb")  # what an instance row copies from its flavor


def detached(model: type[Any], values: dict[str, Any]) -> Any:
    """A ``model`` object holding ``values`` as loaded ones, in no session (what the ORM's loading does,
    without a query)."""
    obj = model.__mapper__.class_manager.new_instance()
    obj.__dict__.update(values)
    return obj


def _scoped(ctxt: Context) -> bool:
    return not is_admin(ctxt)


def _live(ctxt: Context) -> bool:
    return not getattr(ctxt, "read_deleted", False)


# -- flavors, groups, images: what a launch reads first ----------------------------------------------------

def _flavor_by_name_statement(live: bool) -> Any:
    stmt = select(_FLAVORS).where(_FLAVORS.c.name == bindparam("w_name"))
    if live:
        stmt = stmt.where(_FLAVORS.c.deleted == false())
    return stmt.order_by(_FLAVORS.c.id.desc()).limit(1)


@require_context
def instance_type_get_by_name(ctxt: Context, name: str) -> InstanceType:
    """The live flavor called ``name`` (the newest row); InstanceTypeNotFound otherwise."""
    live = _live(ctxt)
    with get_connection() as connection:
        row = connection.execute(prepared(("flavor-by-name", live), lambda: _flavor_by_name_statement(live)),
                                 {"w_name": name}).first()
    if row is None:
        raise exception.InstanceTypeNotFound(instance_type=name)
    return detached(InstanceType, dict(row._mapping))


def _flavor_by_id_statement() -> Any:
    return select(_FLAVORS).where(_FLAVORS.c.id == bindparam("w_id"))


def _group_by_name_statement(scoped: bool, live: bool) -> Any:
    stmt = select(_GROUPS).where(_GROUPS.c.project_id == bindparam("w_project_id"),
                                 _GROUPS.c.name == bindparam("w_name"))
    if live:
        stmt = stmt.where(_GROUPS.c.deleted == false())
    if scoped:
        stmt = stmt.where(_GROUPS.c.project_id == bindparam("w_own_project_id"))
    return stmt.order_by(_GROUPS.c.id).limit(1)


@require_context
def security_group_get_by_name_without_rules(ctxt: Context, project_id: str, name: str) -> Group:
    """``security_group_get_by_name`` without the rules (the group's ``rules`` read as empty): what a
    launch needs of a group is its id and name.  SecurityGroupNotFoundForProject when there is none."""
    authorize_project(ctxt, project_id)
    scoped, live = _scoped(ctxt), _live(ctxt)
    stmt = prepared(("group-by-name", scoped, live), lambda: _group_by_name_statement(scoped, live))
    with get_connection() as connection:
        row = connection.execute(stmt, {"w_project_id": project_id, "w_name": name,
                                        "w_own_project_id": ctxt.project_id}).first()
    if row is None:
        raise exception.SecurityGroupNotFoundForProject(project_id=project_id, security_group_id=name)
    return detached(Group, dict(row._mapping, rules=[]))


def _image_visible(scoped: bool) -> list[Any]:
    """What makes an image visible to the context (``w_project_id``): its own, public or launchable."""
    if not scoped:
        return []
    table, permissions = Image.__table__, Permission.__table__
    permitted = (select(permissions.c.image_id)
                 .where(permissions.c.deleted == false(),
                        permissions.c.project_id.in_([bindparam("w_project_id"), "all"]))
                 .scalar_subquery())
    return [or_(table.c.project_id == bindparam("w_project_id"), table.c.is_public == true(),
                table.c.id.in_(permitted))]


def _image_statement(scoped: bool, live: bool) -> Any:
    table = Image.__table__
    stmt = select(table).where(table.c.id == bindparam("w_id"), *_image_visible(scoped))
    if live:
        stmt = stmt.where(table.c.deleted == false())
    return stmt


def _image_versions(images: Iterable[dict[str, Any]]) -> list[tuple[int, Any]]:
    """(id, version) of image rows as read: what tells one state of a row from another is when it was last
    changed (made, if never)."""
    return [(image["id"], image.get("updated_at") or image.get("created_at")) for image in images]


def _image_version() -> Any:
    """An image row's version in SQL (``_image_versions``)."""
    table = Image.__table__
    return func.coalesce(table.c.updated_at, table.c.created_at)


def _launchable_clauses(scoped: bool) -> list[Any]:
    """The image is live, available and visible to the context."""
    table = Image.__table__
    return [table.c.deleted == false(), table.c.state == "available", *_image_visible(scoped)]


def _images_as_read(scoped: bool) -> Any:
    """How many of the images ``w_image_ids`` are live, available, visible and unchanged since they were read
    (``w_image_versions``, ``_image_versions``), in SQL: a launch with images it remembers writes only when
    this is ``w_image_count``."""
    table = Image.__table__
    given = func.unnest(bindparam("w_image_ids", type_=ARRAY(Integer)),
                        bindparam("w_image_versions", type_=ARRAY(Image.__table__.c.updated_at.type))
                        ).table_valued("id", "version").render_derived()
    return (select(func.count()).select_from(given)
            .join(table, and_(table.c.id == given.c.id, _image_version() == given.c.version))
            .where(*_launchable_clauses(scoped))
            .scalar_subquery())


def _check_images(connection: Any, ctxt: Context, images: list[tuple[int, Any]]) -> None:
    """ImageNotFound unless every image (id, version) is live, available, visible and as read."""
    table = Image.__table__
    found = connection.execute(
        select(table.c.id, _image_version())
        .where(table.c.id.in_([image_id for image_id, _version in images]), *_launchable_clauses(_scoped(ctxt))),
        {"w_project_id": ctxt.project_id}).all()
    current = {image_id: version for image_id, version in found}
    for image_id, version in images:
        if version is None or current.get(image_id) != version:
            raise exception.ImageNotFound(image_id=image_id)


@require_context
def image_get_plain(ctxt: Context, image_id: int) -> Any:
    """``image_get`` as a plain row (``row["name"]``): ImageNotFound also for an image the context may
    not see."""
    scoped, live = _scoped(ctxt), _live(ctxt)
    stmt = prepared(("image", scoped, live), lambda: _image_statement(scoped, live))
    with get_connection() as connection:
        row = connection.execute(stmt, {"w_id": image_id, "w_project_id": ctxt.project_id}).first()
    if row is None:
        raise exception.ImageNotFound(image_id=image_id)
    return row._mapping


# -- quotas ------------------------------------------------------------------------------------------------

def _usage_statement() -> Any:
    usage = select(literal(None, String).label("resource"), func.count(Instance.id).label("a"),
                   func.coalesce(func.sum(Instance.vcpus), 0).label("b"),
                   func.coalesce(func.sum(Instance.memory_mb), 0).label("c")).where(
        Instance.project_id == bindparam("w_project_id"), Instance.deleted == false())
    limits = select(Quota.resource, Quota.hard_limit, literal(0, Integer), literal(0, Integer)).where(
        Quota.project_id == bindparam("w_project_id"))
    return union_all(usage, limits)


@require_context
def quota_get_with_instance_usage(ctxt: Context, project_id: str) -> tuple[tuple[int, int, int], dict[str, int]]:
    """((instances, vcpus, memory_mb) of the project's live instances, its own limits) in one statement:
    the usage as one row of a UNION ALL with the limit rows, told apart by a NULL resource."""
    authorize_project(ctxt, project_id)
    used, own = (0, 0, 0), {}
    with get_connection() as connection:
        for resource, a, b, c in connection.execute(prepared(("quota-usage",), _usage_statement),
                                                    {"w_project_id": project_id}):
            if resource is None:
                used = (int(a), int(b), int(c))
            else:
                own[resource] = int(a)
    return used, own


# -- writing the instances ---------------------------------------------------------------------------------

def _defaults() -> dict[str, Any]:
    """The Python-side defaults of ``instances`` that are constants (``created_at`` is set per launch)."""
    return {c.key: c.default.arg for c in _INSTANCES.c
            if c.default is not None and c.default.is_scalar}


_DEFAULTS = _defaults()


def _insert_statement() -> Any:
    return insert(_INSTANCES).values({key: bindparam(key) for key in _WRITTEN_KEYS})


def _hostname_statement() -> Any:
    return update(_INSTANCES).where(_INSTANCES.c.id == bindparam("w_id")).values(hostname=bindparam("v_hostname"))


def _groups_as_read(scoped: bool, column: Any) -> Any:
    """``column`` of the groups of ``w_groups`` ((id, name, project) as the caller read them) that are
    live, as read and visible to the caller."""
    groups = select(column).where(
        tuple_(_GROUPS.c.id, _GROUPS.c.name, _GROUPS.c.project_id).in_(bindparam("w_groups", expanding=True)),
        _GROUPS.c.deleted == false())
    if scoped:
        groups = groups.where(_GROUPS.c.project_id == bindparam("w_project_id"))
    return groups


def _links_statement(scoped: bool) -> Any:
    """The links of the new instances to the groups, made only for groups that are live, visible and as the
    caller read them (id, name, project), and for instances whose flavor is a live row with the values the
    instance copied from it (and the name the caller read, when it gave the flavor)."""
    visible = _groups_as_read(scoped, _GROUPS.c.id).subquery()
    live_flavor = exists().where(
        _FLAVORS.c.id == _INSTANCES.c.instance_type_id, _FLAVORS.c.deleted == false(),
        _FLAVORS.c.name == func.coalesce(bindparam("w_flavor_name", type_=String), _FLAVORS.c.name),
        *(_FLAVORS.c[key] == func.coalesce(_INSTANCES.c[key], _FLAVORS.c[key]) for key in _FLAVOR_COPIES))
    links = (select(_INSTANCES.c.id, visible.c.id).select_from(_INSTANCES).join(visible, true())
             .where(_INSTANCES.c.id.in_(bindparam("w_ids", expanding=True)),
                    or_(_INSTANCES.c.instance_type_id.is_(None), live_flavor)))
    return insert(Assoc.__table__).from_select(["instance_id", "security_group_id"], links)


def _groups_by_id_statement(scoped: bool) -> Any:
    stmt = select(_GROUPS).where(_GROUPS.c.id.in_(bindparam("w_ids", expanding=True)), _GROUPS.c.deleted == false())
    if scoped:
        stmt = stmt.where(_GROUPS.c.project_id == bindparam("w_project_id"))
    return stmt.order_by(_GROUPS.c.id)


def _row_values(ctxt: Context, values: dict[str, Any], now: Any) -> dict[str, Any]:
    """Every column of one new instance: the given values over the defaults (unknown keys refused)."""
    unknown = sorted(set(values) - set(_WRITTEN_KEYS))
    if unknown:
        raise exception.InvalidInput(reason=f"instances has no column(s) {', '.join(unknown)}")
    row = dict.fromkeys(_WRITTEN_KEYS)
    row.update(_DEFAULTS)
    row["created_at"] = now
    row["uuid"] = str(uuid.uuid4())
    if not is_admin(ctxt):
        row["project_id"], row["user_id"] = ctxt.project_id, ctxt.user_id
    row.update(values)
    authorize_project(ctxt, row["project_id"])
    return row


def _insert(connection: Any, rows: list[dict[str, Any]]) -> list[int]:
    """The ids of ``rows`` inserted in order: one statement where the driver gives ids back in order."""
    stmt = prepared(("launch-insert",), _insert_statement)
    if len(rows) == 1:
        return [connection.execute(stmt, rows[0]).inserted_primary_key[0]]
    if connection.dialect.insert_executemany_returning_sort_by_parameter_order:
        returning = prepared(("launch-insert-returning",),
                             lambda: _insert_statement().returning(_INSTANCES.c.id, sort_by_parameter_order=True))
        return list(connection.execute(returning, rows).scalars())
    return [connection.execute(stmt, row).inserted_primary_key[0] for row in rows]


def _check_flavor(connection: Any, row: dict[str, Any], flavor: Any) -> None:
    """InstanceTypeNotFound unless the flavor of the new instance ``row`` is live and as the row copied it
    (and as the caller read it): a launch that could not link its groups finds out which of its rows went."""
    flavor_id = row["instance_type_id"]
    if flavor_id is None:
        return
    found = connection.execute(prepared(("flavor-by-id",), _flavor_by_id_statement), {"w_id": flavor_id}).first()
    if (found is None or found.deleted or (flavor is not None and found.name != flavor["name"])
            or any(row[key] is not None and found._mapping[key] != row[key] for key in _FLAVOR_COPIES)):
        raise exception.InstanceTypeNotFound(instance_type=flavor["name"] if flavor is not None else flavor_id)


@require_context
def instance_create_many(ctxt: Context, values_list: list[dict[str, Any]],
                         security_group_ids: list[int] | tuple[int, ...] = (), hostname_format: str | None = None,
                         instance_type: Any = None, groups: list[Any] | None = None,
                         quota_limits: dict[str, int] | None = None,
                         images_as_read: Iterable[dict[str, Any]] = ()) -> list[Instance]:
    """Create instances, each in the groups and named ``hostname_format % id``, in one transaction.

    The rows are answered as written, nothing read back: ``instance_type``
    and ``groups`` (the flavor row the values name and the rows of
    ``security_group_ids``, as the caller has just read them) become the rows'
    flavor and groups, and are read here when not given.  The group links are
    made by one ``INSERT ... SELECT`` of the groups the context may see, as
    given, and of instances whose flavor is live and as given: a group gone
    (or another project's) fails the whole launch with SecurityGroupNotFound,
    a flavor gone with InstanceTypeNotFound, so a caller may launch with rows
    it remembers.  On PostgreSQL a launch given its flavor, named
    ``prefix%0<width>x`` and without metadata is one statement in autocommit
    (``_launch_statement``); any other is up to four (the instances, their
    hostnames, the links, the metadata if any), whatever the count.

    ``quota_limits`` (``instances``, ``cores`` and ``ram``: the defaults, which
    the project's own quota rows override) makes the write check that all the
    rows fit the project's quotas, in the same statement on PostgreSQL (a read
    first elsewhere): QuotaError, nothing written, when they do not.
    ``images_as_read`` (image rows the caller read earlier, with their
    ``created_at`` and ``updated_at``) makes it write only if each is still
    live, available, visible to the context and unchanged: ImageNotFound,
    nothing written, otherwise (in the same statement on PostgreSQL, a read
    first elsewhere).  A row is told unchanged by when it last changed, which
    MariaDB keeps in whole seconds: a caller trusts only rows that had not
    changed for a while when it read them.
    """
    now = utils.utcnow()
    metadata, rows = [], []
    images = _image_versions(images_as_read)
    for values in values_list:
        values = dict(values)
        metadata.append(values.pop("metadata", None) or {})
        rows.append(_row_values(ctxt, values, now))
    group_ids = list(dict.fromkeys(security_group_ids))
    scoped = _scoped(ctxt)
    with duplicate_as(lambda _detail: exception.Duplicate("An instance with that uuid exists.")):
        if groups is None and group_ids:
            with get_connection() as connection:
                stmt = prepared(("launch-groups", scoped), lambda: _groups_by_id_statement(scoped))
                groups = [detached(Group, dict(row._mapping, rules=[])) for row in connection.execute(
                    stmt, {"w_ids": group_ids, "w_project_id": ctxt.project_id})]
        by_id = {group["id"]: group for group in groups or ()}
        missing = [group_id for group_id in group_ids if group_id not in by_id]
        if missing:
            raise exception.SecurityGroupNotFound(security_group_id=missing[0])
        hostname_sql = _hostname_in_sql(hostname_format)
        need = _quota_need(rows, quota_limits)
        if (instance_type is not None and hostname_sql is not None and not any(metadata) and _alike(rows)
                and get_engine().dialect.name == "postgresql"):
            _launch_in_one_statement(ctxt, rows, [by_id[group_id] for group_id in group_ids], instance_type,
                                     hostname_sql, need, images)
            return _answer(rows, metadata, instance_type, [by_id[group_id] for group_id in group_ids], now)
        if need is not None:
            _check_quota(ctxt, need)
        with get_connection() as connection:
            if images:
                _check_images(connection, ctxt, images)
            ids = _insert(connection, rows)
            for row, instance_id in zip(rows, ids):
                row["id"] = instance_id
            if hostname_format is not None:
                for row in rows:
                    row["hostname"] = hostname_format % row["id"]
                names = [{"w_id": row["id"], "v_hostname": row["hostname"]} for row in rows]
                connection.execute(prepared(("launch-hostname",), _hostname_statement),
                                   names[0] if len(names) == 1 else names)
            items = [{"instance_id": row["id"], "key": key, "value": value, "created_at": now, "deleted": False}
                     for row, pairs in zip(rows, metadata) for key, value in pairs.items()]
            if items:
                connection.execute(insert(Metadata.__table__), items)
            if group_ids:
                made = connection.execute(prepared(("launch-links", scoped), lambda: _links_statement(scoped)), {
                    "w_groups": [(group_id, by_id[group_id]["name"], by_id[group_id]["project_id"])
                                 for group_id in group_ids],
                    "w_ids": ids, "w_project_id": ctxt.project_id,
                    "w_flavor_name": instance_type["name"] if instance_type is not None else None})
                if made.rowcount != len(ids) * len(group_ids):
                    _check_flavor(connection, rows[0], instance_type)
                    raise exception.SecurityGroupNotFound(security_group_id=",".join(map(str, group_ids)))
            if instance_type is None and rows:
                found = connection.execute(prepared(("flavor-by-id",), _flavor_by_id_statement),
                                           {"w_id": rows[0]["instance_type_id"]}).first()
                instance_type = detached(InstanceType, dict(found._mapping)) if found is not None else None
    return _answer(rows, metadata, instance_type, [by_id[group_id] for group_id in group_ids], now)


def _answer(rows: list[dict[str, Any]], metadata: list[dict[str, str]], instance_type: Any, groups: list[Any],
            now: Any) -> list[Instance]:
    """The new instances as written, with their flavor, metadata and groups."""
    instances = []
    for row, pairs in zip(rows, metadata):
        items = [detached(Metadata, {"instance_id": row["id"], "key": key, "value": value, "created_at": now,
                                     "deleted": False, "id": None, "updated_at": None, "deleted_at": None})
                 for key, value in pairs.items()]
        instances.append(detached(Instance, dict(row, instance_type=instance_type, metadata_items=items,
                                                  security_groups=list(groups))))
    return instances


_HEX_HOSTNAME = re.compile(r"([^%]*)%0(\d+)x")


def _hostname_in_sql(hostname_format: str | None) -> tuple[str, int] | None:
    """``(prefix, width)`` of a ``prefix%0<width>x`` hostname format (what a launch names its instances,
    ``i-%08x``), which SQL can render; None for any other."""
    match = _HEX_HOSTNAME.fullmatch(hostname_format or "")
    return (match.group(1), int(match.group(2))) if match else None


_PER_ROW = ("uuid", "launch_index", "hostname")  # what the one-statement launch writes per row


def _alike(rows: list[dict[str, Any]]) -> bool:
    """Whether the rows differ only in what the one-statement launch writes per row."""
    first = rows[0]
    return all(row[key] == first[key] for row in rows[1:] for key in _WRITTEN_KEYS if key not in _PER_ROW)


_QUOTA_USE = (("instances", "w_need_instances"), ("cores", "w_need_cores"), ("ram", "w_need_ram"))


def _quota_need(rows: list[dict[str, Any]], limits: dict[str, int] | None) -> dict[str, Any] | None:
    """What ``rows`` add to their project's use, with the default limits, for the quota check (None: no
    check)."""
    if limits is None or not rows or rows[0]["project_id"] is None:
        return None
    return {"w_quota_project": rows[0]["project_id"], "w_need_instances": len(rows),
            "w_need_cores": sum(row["vcpus"] or 0 for row in rows),
            "w_need_ram": sum(row["memory_mb"] or 0 for row in rows),
            **{f"w_default_{resource}": limits[resource] for resource, _need in _QUOTA_USE}}


def _fits_quotas() -> Any:
    """Whether the project's live instances and ``w_need_*`` more fit its limits (its own quota rows, else
    ``w_default_*``; -1 is unlimited)."""
    use = select(func.count(Instance.id).label("instances"),
                 func.coalesce(func.sum(Instance.vcpus), 0).label("cores"),
                 func.coalesce(func.sum(Instance.memory_mb), 0).label("ram")).where(
        Instance.project_id == bindparam("w_quota_project"), Instance.deleted == false()).subquery("use")
    fits = []
    for resource, need in _QUOTA_USE:
        own = (select(Quota.hard_limit).where(Quota.project_id == bindparam("w_quota_project"),
                                              Quota.resource == resource)
               .order_by(Quota.id.desc()).limit(1).scalar_subquery())
        limit = func.coalesce(own, bindparam(f"w_default_{resource}", type_=Integer))
        fits.append(or_(limit < 0, use.c[resource] + bindparam(need, type_=Integer) <= limit))
    return select(true()).select_from(use).where(*fits).exists()


def _check_quota(ctxt: Context, need: dict[str, Any]) -> None:
    """QuotaError unless ``need`` fits (the read the one-statement launch makes inside its write)."""
    with get_connection() as connection:
        fits = connection.execute(prepared(("launch-fits",), lambda: select(_fits_quotas())), need).scalar()
    if not fits:
        raise exception.QuotaError(reason=f"{need['w_need_instances']} more instance(s) do not fit the quotas of "
                                          f"project {need['w_quota_project']}")


def _launch_statement(scoped: bool, with_groups: bool, with_quota: bool, with_images: bool = False) -> Any:
    """PostgreSQL: a launch's rows in one statement (data-modifying WITH clauses).

    ``new`` inserts one instance per element of the arrays ``w_uuids`` and
    ``w_indexes`` (the values that differ between them), each with an id drawn
    from the table's sequence and the hostname rendered from it; ``links``
    puts each new instance in the groups.  With groups, the instances are
    inserted only if every group is live, visible and as the caller read it
    and the flavor is a live row with the values the instances copy from it
    (the checks ``_links_statement`` makes), so a launch is all or nothing;
    ``with_quota``, only if they all fit the project's quotas; ``with_images``,
    only if the images the caller remembers are as it read them
    (``_images_as_read``).  It answers (id, uuid) of each instance written.
    """
    ids = func.nextval(func.pg_get_serial_sequence(literal("instances"), literal("id")))
    pairs = func.unnest(bindparam("w_uuids", type_=ARRAY(String)), bindparam("w_indexes", type_=ARRAY(Integer))
                        ).table_valued("uuid", "launch_index").render_derived()
    source = select(ids.label("id"), pairs.c.uuid, pairs.c.launch_index).select_from(pairs)
    if with_groups:
        groups = _groups_as_read(scoped, func.count())
        live_flavor = exists().where(
            _FLAVORS.c.id == bindparam("v_instance_type_id"), _FLAVORS.c.deleted == false(),
            _FLAVORS.c.name == bindparam("w_flavor_name"),
            *(_FLAVORS.c[key] == func.coalesce(bindparam(f"v_{key}"), _FLAVORS.c[key]) for key in _FLAVOR_COPIES))
        source = source.where(groups.scalar_subquery() == bindparam("w_group_count"), live_flavor)
    if with_quota:
        source = source.where(_fits_quotas())
    if with_images:
        source = source.where(_images_as_read(scoped) == bindparam("w_image_count"))
    src = source.cte("src")
    hexed = func.to_hex(src.c.id)
    width = bindparam("w_width", type_=Integer)
    hostname = bindparam("w_prefix", type_=String) + func.lpad(hexed, func.greatest(width, func.length(hexed)), "0")
    copied = [key for key in _WRITTEN_KEYS if key not in _PER_ROW]
    new = (insert(_INSTANCES)
           .from_select(["id", "uuid", "launch_index", "hostname", *copied],
                        select(src.c.id, src.c.uuid, src.c.launch_index, hostname,
                               *(bindparam(f"v_{key}", type_=_INSTANCES.c[key].type) for key in copied)))
           .returning(_INSTANCES.c.id, _INSTANCES.c.uuid).cte("new"))
    answer = select(new.c.id, new.c.uuid)
    if with_groups:
        visible = _groups_as_read(scoped, _GROUPS.c.id).subquery()
        links = (insert(Assoc.__table__)
                 .from_select(["instance_id", "security_group_id", "created_at", "deleted"],
                              select(new.c.id, visible.c.id, bindparam("v_created_at"), false())
                              .select_from(new).join(visible, true()))
                 .cte("links"))
        answer = answer.add_cte(links)
    return answer


def _launch_in_one_statement(ctxt: Context, rows: list[dict[str, Any]], groups: list[Any], flavor: Any,
                             hostname: tuple[str, int], need: dict[str, Any] | None,
                             images: list[tuple[int, Any]]) -> None:
    """Write ``rows`` (and their group links) in one statement in autocommit, setting each row's id and
    hostname; QuotaError, InstanceTypeNotFound, ImageNotFound or SecurityGroupNotFound (nothing written)
    when they do not fit the quotas (``need``), or the flavor, an image or a group is not as given."""
    scoped = _scoped(ctxt)
    first = rows[0]
    params = {f"v_{key}": first[key] for key in _WRITTEN_KEYS if key not in _PER_ROW}
    params.update(w_uuids=[row["uuid"] for row in rows], w_indexes=[row["launch_index"] for row in rows],
                  w_prefix=hostname[0], w_width=hostname[1], w_project_id=ctxt.project_id,
                  w_groups=[(group["id"], group["name"], group["project_id"]) for group in groups],
                  w_group_count=len(groups), w_flavor_name=flavor["name"])
    params.update(need or {})
    if images:
        params.update(w_image_ids=[image_id for image_id, _version in images],
                      w_image_versions=[version for _image_id, version in images], w_image_count=len(images))
    shape = (scoped, bool(groups), need is not None, bool(images))
    stmt = prepared(("launch-one", *shape), lambda: _launch_statement(*shape))
    with get_connection(single_statement=True) as connection:
        written = dict((uuid_, instance_id) for instance_id, uuid_ in connection.execute(stmt, params))
    if len(written) != len(rows):  # a check refused it: nothing was written
        if need is not None:
            _check_quota(ctxt, need)
        with get_connection() as connection:
            _check_flavor(connection, first, flavor)
            if images:
                _check_images(connection, ctxt, images)
        raise exception.SecurityGroupNotFound(security_group_id=",".join(str(group["id"]) for group in groups))
    prefix, width = hostname
    for row in rows:
        row["id"] = written[row["uuid"]]
        row["hostname"] = f"{prefix}{row['id']:0{width}x}"


# -- reading and terminating -------------------------------------------------------------------------------

_FLAVOR_LABELS = tuple(f"flavor_{key}" for key in _FLAVOR_KEYS)


_ROWS_WHERE = {
    "id": lambda: _INSTANCES.c.id == bindparam("w_id"),  # "= :id" is not re-rendered per call as IN is
    "ids": lambda: _INSTANCES.c.id.in_(bindparam("w_ids", expanding=True)),
    "id array": lambda: _INSTANCES.c.id == func.any(bindparam("w_ids", type_=ARRAY(Integer))),  # one shape
    "reservation": lambda: _INSTANCES.c.reservation_id == bindparam("w_reservation_id"),
    "owned reservation": lambda: and_(_INSTANCES.c.reservation_id == bindparam("w_reservation_id"),
                                      _INSTANCES.c.project_id == bindparam("w_owner")),
}


def instance_and_flavor() -> tuple[list[Any], Any]:
    """The columns of an instance and, labelled ``flavor_<key>``, of its flavor, and the outer join they come
    from: what a read of instances with their flavors selects (``_instances_of`` and
    ``instance_hosting._loaded`` make the objects)."""
    columns = [*_INSTANCES.c, *(column.label(label) for column, label in zip(_FLAVORS.c, _FLAVOR_LABELS))]
    return columns, _INSTANCES.outerjoin(_FLAVORS, _FLAVORS.c.id == _INSTANCES.c.instance_type_id)


def _rows_statement(scoped: bool, live: bool, by: str) -> Any:
    columns, source = instance_and_flavor()
    stmt = select(*columns).select_from(source).where(_ROWS_WHERE[by]())
    if live:
        stmt = stmt.where(_INSTANCES.c.deleted == false())
    if scoped:
        stmt = stmt.where(_INSTANCES.c.project_id == bindparam("w_project_id"))
    return stmt.order_by(_INSTANCES.c.id)


@require_context
def instance_get_by_ids(ctxt: Context, instance_ids: Iterable[int]) -> list[Instance]:
    """The instances of ``instance_ids`` the context may see, by id, with their flavors: what
    ``instance_get_all_by_filters`` gives without ``related`` (their metadata and groups read as empty),
    in one statement."""
    ids = [int(instance_id) for instance_id in instance_ids]
    if not ids:
        return []
    return _rows(ctxt, "id" if len(ids) == 1 else "ids", {"w_id": ids[0], "w_ids": ids})


@require_context
def instance_get_by_reservation(ctxt: Context, reservation_id: str, project_id: str | None) -> list[Instance]:
    """The instances of the reservation (in ``project_id`` unless None) the context may see, as
    ``instance_get_by_ids`` gives them: what a launch with a client token looks for first."""
    return _rows(ctxt, "reservation" if project_id is None else "owned reservation",
                 {"w_reservation_id": reservation_id, "w_owner": project_id})


def _rows(ctxt: Context, by: str, params: dict[str, Any]) -> list[Instance]:
    scoped, live = _scoped(ctxt), _live(ctxt)
    stmt = prepared(("rows", scoped, live, by), lambda: _rows_statement(scoped, live, by))
    with get_connection() as connection:
        rows = connection.execute(stmt, dict(params, w_project_id=ctxt.project_id)).all()
    return _instances_of(rows)


def _instances_of(rows: Iterable[Any]) -> list[Instance]:
    """Detached instances with their flavors from rows of ``_rows_statement``'s columns (more may follow)."""
    answer = []
    width = len(_INSTANCE_KEYS)
    flavor_id = width + _FLAVOR_KEYS.index("id")
    for row in rows:
        flavor = None
        if row[flavor_id] is not None:
            flavor = detached(InstanceType, dict(zip(_FLAVOR_KEYS, row[width:])))
        answer.append(detached(Instance, dict(zip(_INSTANCE_KEYS, row[:width]), instance_type=flavor,
                                              metadata_items=[], security_groups=[])))
    return answer


def _read_and_mark_statement(scoped: bool) -> Any:
    """PostgreSQL: ``instance_get_by_ids``' read of the instances ``w_ids`` (``old``) and, only when all
    ``w_count`` of them are there and each may be marked as is (on a host, not protected, its task not
    ``w_unless``), the guarded task update of each and the soft delete of their tags, as data-modifying
    WITH clauses.  The read sees the rows as they were before; it answers them with whether each was
    marked (a row whose task another request set meanwhile is not)."""
    old = _rows_statement(scoped, True, "id array").order_by(None).cte("old")
    markable = (select(func.count()).select_from(old)
                .where(old.c.host != "", old.c.disable_api_termination == false(), _task_is_not(old.c.task_state))
                .scalar_subquery())
    marked = (update(_INSTANCES)
              .where(_INSTANCES.c.id.in_(select(old.c.id)), _INSTANCES.c.deleted == false(),
                     _task_is_not(_INSTANCES.c.task_state), markable == bindparam("w_count"))
              .values(task_state=bindparam("v_task_state"), updated_at=bindparam("v_updated_at"))
              .returning(_INSTANCES.c.id).cte("marked"))
    forgot = _forget_tags_statement(scoped, of=select(marked.c.id)).cte("forgot")
    return (select(old, old.c.id.in_(select(marked.c.id)).label("marked")).add_cte(forgot)
            .order_by(old.c.id))


@require_context
def instance_get_and_mark_deleting(ctxt: Context, instance_ids: Iterable[int],
                                   deleting: str) -> list[tuple[Instance, bool]]:
    """What TerminateInstances reads and writes first: the live instances of ``instance_ids`` the context
    may see, as ``instance_get_by_ids`` gives them (before any change), each with whether its task was
    set to ``deleting`` here, its tags forgotten with it.  Tasks are set only when every instance asked
    for was found and each may be marked as it was read (has a host, is not protected from termination,
    is not being deleted); otherwise none is, and the caller takes them one by one
    (``instance_mark_deleting``).  On PostgreSQL one statement outside a transaction; elsewhere the read
    alone, no instance marked."""
    ids = list(dict.fromkeys(int(instance_id) for instance_id in instance_ids))
    if not ids:
        return []
    if get_engine().dialect.name != "postgresql" or not _live(ctxt):
        return [(instance, False) for instance in instance_get_by_ids(ctxt, ids)]
    scoped = _scoped(ctxt)
    stmt = prepared(("read-and-mark", scoped), lambda: _read_and_mark_statement(scoped))
    with get_connection(single_statement=True) as connection:
        now = utils.utcnow()
        rows = connection.execute(stmt, {"w_ids": ids, "w_count": len(ids), "w_project_id": ctxt.project_id,
                                         "w_unless": deleting, "v_task_state": deleting, "v_updated_at": now,
                                         "w_type": "instance", "v_now": now}).all()
    return list(zip(_instances_of(rows), (bool(row[-1]) for row in rows)))


def _task_is_not(task_state: Any) -> Any:
    """The task (``task_state``, a column) is not ``w_unless``: none, or another."""
    return or_(task_state.is_(None), task_state != bindparam("w_unless"))


def _task_statement(scoped: bool, guarded: bool) -> Any:
    stmt = update(_INSTANCES).where(_INSTANCES.c.id == bindparam("w_id"), _INSTANCES.c.deleted == false())
    if scoped:
        stmt = stmt.where(_INSTANCES.c.project_id == bindparam("w_project_id"))
    if guarded:
        stmt = stmt.where(_task_is_not(_INSTANCES.c.task_state))
    return stmt.values(task_state=bindparam("v_task_state"), updated_at=bindparam("v_updated_at"))


@require_context
def instance_set_task_state(ctxt: Context, instance_id: int, task_state: str | None,
                            unless: str | None = None) -> bool:
    """Set the task of the live instance (of the context's project, for a non-admin) in one UPDATE,
    unless its task already is ``unless``; whether it was set."""
    scoped, guarded = _scoped(ctxt), unless is not None
    stmt = prepared(("task-state", scoped, guarded), lambda: _task_statement(scoped, guarded))
    with get_connection() as connection:
        return connection.execute(stmt, {"w_id": instance_id, "w_project_id": ctxt.project_id, "w_unless": unless,
                                         "v_task_state": task_state, "v_updated_at": utils.utcnow()}).rowcount == 1


def _mark_deleting_statement(scoped: bool) -> Any:
    """PostgreSQL: the guarded task update and the soft delete of the instance's tags as data-modifying
    WITH clauses of one statement; it answers how many instances were marked (0 or 1)."""
    marked = _task_statement(scoped, True).returning(_INSTANCES.c.id).cte("marked")
    forgot = _forget_tags_statement(scoped).cte("forgot")
    return select(func.count()).select_from(marked).add_cte(forgot)


@require_context
def instance_mark_deleting(ctxt: Context, instance_id: int, deleting: str, forget_tags: bool) -> bool:
    """Set the live instance's task to ``deleting`` unless it already is (of the context's project, for a
    non-admin), and with ``forget_tags`` soft-delete the instance's tags the context may see (whether or
    not the task was set), all or nothing; whether the task was set.  On PostgreSQL one statement outside a
    transaction (one round trip instead of four: BEGIN, two statements, COMMIT), elsewhere two in one transaction."""
    if not forget_tags:
        return instance_set_task_state(ctxt, instance_id, deleting, unless=deleting)
    if get_engine().dialect.name != "postgresql":
        with one_transaction():
            marked = instance_set_task_state(ctxt, instance_id, deleting, unless=deleting)
            tag_delete_all_for_resource(ctxt, "instance", instance_id)
        return marked
    scoped, now = _scoped(ctxt), utils.utcnow()
    stmt = prepared(("mark-deleting", scoped), lambda: _mark_deleting_statement(scoped))
    with get_connection(single_statement=True) as connection:
        return connection.execute(stmt, {
            "w_id": instance_id, "w_project_id": ctxt.project_id, "w_unless": deleting, "v_task_state": deleting,
            "v_updated_at": now, "w_type": "instance", "v_now": now}).scalar() == 1


def _forget_tags_statement(scoped: bool, of: Any = None) -> Any:
    """Soft-delete the live tags of resource ``w_id`` of type ``w_type`` (``of``: of the resources that
    subquery answers)."""
    table = Tag.__table__
    resource = table.c.resource_id == bindparam("w_id") if of is None else table.c.resource_id.in_(of)
    stmt = update(table).where(table.c.resource_type == bindparam("w_type"), resource, table.c.deleted == false())
    if scoped:
        stmt = stmt.where(table.c.project_id == bindparam("w_project_id"))
    return stmt.values(deleted=True, deleted_at=bindparam("v_now"), updated_at=bindparam("v_now"))


@require_context
def tag_delete_all_for_resource(ctxt: Context, resource_type: str, resource_id: int) -> None:
    """Soft-delete the resource's tags the context may see (its project's, for a non-admin), in one
    statement (no subquery on the table: MariaDB refuses one in an UPDATE of the same table)."""
    scoped = _scoped(ctxt)
    with get_connection() as connection:
        connection.execute(prepared(("forget-tags", scoped), lambda: _forget_tags_statement(scoped)), {
            "w_type": resource_type, "w_id": resource_id, "w_project_id": ctxt.project_id, "v_now": utils.utcnow()})
