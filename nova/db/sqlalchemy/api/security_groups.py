"""Security groups, their ingress rules and their links to instances.

Groups are project rows, scoped by ``model_query``.  Rules carry no project of
their own: a rule is visible exactly when its parent group is.  A group name
is unique among a project's groups that are not deleted; the check is made
inside the inserting transaction, like flavors.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import bindparam, false, func, or_, select, update

from sqlalchemy.orm import raiseload

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import (
    apply_values,
    authorize_project,
    first_or_raise,
    is_admin,
    listing_query,
    model_query,
    prepared,
    require_admin_context,
    require_context,
)
from nova.db.sqlalchemy.api.instances import _instance
from nova.db.sqlalchemy import single_statement
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
Group = models.SecurityGroup
Rule = models.SecurityGroupIngressRule
Assoc = models.SecurityGroupInstanceAssociation


def _group(session: Any, ctxt: Context, group_id: int) -> Group:
    stmt = model_query(ctxt, Group).where(Group.id == group_id)
    return first_or_raise(session, stmt, lambda: exception.SecurityGroupNotFound(security_group_id=group_id))


def _rule(session: Any, ctxt: Context, rule_id: int) -> Rule:
    stmt = select(Rule).where(Rule.id == rule_id, Rule.deleted == false())
    row = session.scalars(stmt).first()
    if row is None:
        raise exception.SecurityGroupRuleNotFound(rule_id=rule_id)
    try:
        _group(session, ctxt, row.parent_group_id)
    except exception.SecurityGroupNotFound:
        raise exception.SecurityGroupRuleNotFound(rule_id=rule_id) from None
    return row


@require_context
def security_group_create(ctxt: Context, values: dict[str, Any]) -> Group:
    """Raises SecurityGroupExists when the project already has a live group of that name."""
    values = dict(values)
    if not is_admin(ctxt):
        values.setdefault("project_id", ctxt.project_id)
        values.setdefault("user_id", ctxt.user_id)
    authorize_project(ctxt, values.get("project_id"))
    group = Group()
    apply_values(group, values)
    with get_session() as session:
        clash = session.scalars(
            select(Group).where(Group.deleted == false(), Group.project_id == group.project_id,
                                Group.name == group.name)
        ).first()
        if clash is not None:
            raise exception.SecurityGroupExists(name=group.name, project_id=group.project_id)
        group.save(session)
        return _group(session, ctxt, group.id)


@require_context
def security_group_get(ctxt: Context, group_id: int) -> Group:
    with get_session() as session:
        return _group(session, ctxt, group_id)


@require_context
def security_group_get_by_name(ctxt: Context, project_id: str, name: str, with_rules: bool = True) -> Group:
    authorize_project(ctxt, project_id)
    stmt = model_query(ctxt, Group).where(Group.project_id == project_id, Group.name == name)
    if not with_rules:
        stmt = stmt.options(raiseload(Group.rules))
    with get_session() as session:
        row = session.scalars(stmt).first()
    if row is None:
        raise exception.SecurityGroupNotFoundForProject(project_id=project_id, security_group_id=name)
    return row


@require_context
def security_group_get_by_project(ctxt: Context, project_id: str) -> list[Group]:
    authorize_project(ctxt, project_id)
    stmt = model_query(ctxt, Group).where(Group.project_id == project_id).order_by(Group.id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def security_group_get_all(ctxt: Context) -> list[Group]:
    """Every group an admin may see, or the context's project's groups."""
    with get_session() as session:
        return list(session.scalars(model_query(ctxt, Group).order_by(Group.id)))


@require_context
def security_group_get_by_instance(ctxt: Context, instance_id: int) -> list[Group]:
    with get_session() as session:
        _instance(session, ctxt, instance_id)
        stmt = (
            model_query(ctxt, Group)
            .join(Assoc, Assoc.security_group_id == Group.id)
            .where(Assoc.instance_id == instance_id, Assoc.deleted == false())
            .order_by(Group.id)
        )
        return list(session.scalars(stmt).unique())


@require_context
def security_group_exists(ctxt: Context, project_id: str, name: str) -> bool:
    try:
        security_group_get_by_name(ctxt, project_id, name)
    except exception.NotFound:
        return False
    return True


@require_context
def security_group_in_use(ctxt: Context, group_id: int) -> bool:
    """True while an instance that is not deleted belongs to the group."""
    with get_session() as session:
        _group(session, ctxt, group_id)
        stmt = (
            select(Assoc.id)
            .join(models.Instance, models.Instance.id == Assoc.instance_id)
            .where(Assoc.security_group_id == group_id, Assoc.deleted == false(),
                   models.Instance.deleted == false())
            .limit(1)
        )
        return session.execute(stmt).first() is not None


@require_context
def security_group_destroy(ctxt: Context, group_id: int) -> None:
    """Soft-delete a group, its rules, the rules granting it and its instance links."""
    now = utils.utcnow()
    with get_session() as session:
        group = _group(session, ctxt, group_id)
        group.soft_delete(session)
        for stmt in (
            update(Rule).where(or_(Rule.parent_group_id == group_id, Rule.group_id == group_id),
                               Rule.deleted == false()),
            update(Assoc).where(Assoc.security_group_id == group_id, Assoc.deleted == false()),
        ):
            session.execute(stmt.values(deleted=True, deleted_at=now).execution_options(synchronize_session=False))


@require_context
def security_group_rule_create(ctxt: Context, values: dict[str, Any]) -> Rule:
    """The parent group (and a granted group, if any) must exist; the parent must be visible."""
    rule = Rule()
    apply_values(rule, values)
    with get_session() as session:
        _group(session, ctxt, rule.parent_group_id)
        if rule.group_id is not None:
            _group(session, nova_context.get_admin_context(), rule.group_id)
        rule.save(session)
        return _rule(session, ctxt, rule.id)


@require_context
def security_group_rule_get(ctxt: Context, rule_id: int) -> Rule:
    with get_session() as session:
        return _rule(session, ctxt, rule_id)


@require_context
def security_group_rule_get_by_security_group(ctxt: Context, group_id: int) -> list[Rule]:
    with get_session() as session:
        _group(session, ctxt, group_id)
        stmt = select(Rule).where(Rule.parent_group_id == group_id, Rule.deleted == false()).order_by(Rule.id)
        return list(session.scalars(stmt))


@require_context
def security_group_rule_get_by_security_group_grantee(ctxt: Context, group_id: int) -> list[Rule]:
    """Rules that let members of ``group_id`` in, in groups the context may see."""
    visible = model_query(ctxt, Group).with_only_columns(Group.id).scalar_subquery()
    stmt = (
        select(Rule)
        .where(Rule.group_id == group_id, Rule.deleted == false(), Rule.parent_group_id.in_(visible))
        .order_by(Rule.id)
    )
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def security_group_rule_destroy(ctxt: Context, rule_id: int) -> None:
    with get_session() as session:
        _rule(session, ctxt, rule_id).soft_delete(session)


@require_context
def instance_add_security_group(ctxt: Context, instance_id: int, group_id: int) -> None:
    """Link an instance to a group; both must be visible to the context."""
    with get_session() as session:
        _instance(session, ctxt, instance_id)
        _group(session, ctxt, group_id)
        existing = session.scalars(
            select(Assoc).where(Assoc.instance_id == instance_id, Assoc.security_group_id == group_id,
                                Assoc.deleted == false())
        ).first()
        if existing is None:
            Assoc(instance_id=instance_id, security_group_id=group_id).save(session)


@require_context
def security_group_get_instances(ctxt: Context, group_id: int) -> list[models.Instance]:
    """Instances (not deleted) that belong to the group."""
    with get_session() as session:
        _group(session, ctxt, group_id)
        stmt = (
            select(models.Instance)
            .join(Assoc, Assoc.instance_id == models.Instance.id)
            .where(Assoc.security_group_id == group_id, Assoc.deleted == false(),
                   models.Instance.deleted == false())
            .order_by(models.Instance.id)
        )
        return list(session.scalars(stmt).unique())


# -- listings for the security-group API (issue 9): a fixed number of queries --


class ListedGroup(dict):
    """A group's columns (``group["name"]``) with its ingress rules, plain dicts in id order, as ``rules``."""

    __slots__ = ("rules",)

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.rules: list[dict[str, Any]] = []


_GROUP_COLUMNS = tuple(Group.__table__.c)
_RULE_COLUMNS = tuple(Rule.__table__.c)


@require_context
def security_group_get_listing(ctxt: Context, project_id: str | None = None, after_id: int | None = None,
                               limit: int | None = None) -> list[ListedGroup]:
    """The visible groups (of ``project_id`` when given), as plain rows by id: those
    after ``after_id`` only, at most ``limit``; two statements whatever their number (the rules'
    takes the groups' own query again as a subquery)."""
    scoped = listing_query(ctxt, Group, project_id, after_id)
    stmt = scoped.with_only_columns(*_GROUP_COLUMNS).order_by(Group.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    with get_session() as session:
        listed = {row["id"]: ListedGroup(row) for row in session.execute(stmt).mappings()}
        if not listed:
            return []
        if limit is not None:
            scoped = scoped.where(Group.id <= max(listed))
        ids = scoped.with_only_columns(Group.id).scalar_subquery()
        for rule in session.execute(select(*_RULE_COLUMNS).where(Rule.parent_group_id.in_(ids),
                                                                 Rule.deleted == false()).order_by(Rule.id)).mappings():
            if rule["parent_group_id"] in listed:  # not a group made since the first statement read the page
                listed[rule["parent_group_id"]].rules.append(dict(rule))
    return list(listed.values())


@require_context
def security_group_get_names(ctxt: Context, group_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """``{id: (name, project_id)}`` of the visible groups among ``group_ids``, in one query."""
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    stmt = model_query(ctxt, Group).with_only_columns(Group.id, Group.name, Group.project_id)
    with get_session() as session:
        return {row.id: (row.name, row.project_id) for row in session.execute(stmt.where(Group.id.in_(ids)))}


@require_context
def security_group_count_by_project(ctxt: Context, project_id: str) -> int:
    authorize_project(ctxt, project_id)
    stmt = model_query(ctxt, Group).where(Group.project_id == project_id).with_only_columns(func.count(Group.id))
    with get_session() as session:
        return int(session.scalar(stmt) or 0)


# -- the hosts a security-group change concerns (one query each) ----------------


@require_admin_context
def security_group_hosts(ctxt: Context, group_id: int) -> list[str]:
    """Hosts running a live instance of the group (their rules of it must be rebuilt)."""
    stmt = (
        select(models.Instance.host).distinct()
        .join(Assoc, Assoc.instance_id == models.Instance.id)
        .where(Assoc.security_group_id == group_id, Assoc.deleted == false(), models.Instance.deleted == false(),
               models.Instance.host.is_not(None))
        .order_by(models.Instance.host)
    )
    with get_session() as session:
        return list(session.scalars(stmt))


def grantee_hosts_statement(leave_out_instance: bool = False) -> Any:
    """``security_group_grantee_hosts``'s query (groups bound as ``w_groups``); ``leave_out_instance``:
    without the instance bound as ``w_id`` (one being deleted in the same statement)."""
    stmt = (
        select(Rule.group_id, models.Instance.host).distinct()
        .join(Assoc, Assoc.security_group_id == Rule.parent_group_id)
        .join(models.Instance, models.Instance.id == Assoc.instance_id)
        .where(Rule.group_id.in_(bindparam("w_groups", expanding=True)), Rule.deleted == false(),
               Assoc.deleted == false(), models.Instance.deleted == false(), models.Instance.host.is_not(None))
        .order_by(Rule.group_id, models.Instance.host)
    )
    return stmt.where(models.Instance.id != bindparam("w_id")) if leave_out_instance else stmt


@require_admin_context
def security_group_grantee_hosts(ctxt: Context, group_ids: list[int]) -> dict[int, list[str]]:
    """For each of ``group_ids``: the hosts running an instance of a group whose rules grant it
    (their source-group rules list its members, which changed)."""
    if not group_ids:
        return {}
    found: dict[int, list[str]] = {group_id: [] for group_id in group_ids}
    stmt = prepared(("grantee-hosts",), grantee_hosts_statement)  # built once: nova-compute runs it per boot
    with single_statement.get_connection() as connection:
        for group_id, host in connection.execute(stmt, {"w_groups": list(group_ids)}):
            found[group_id].append(host)
    return found
