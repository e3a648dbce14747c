"""Users, projects, memberships, roles and tokens of the built-in auth.

These rows are hard-deleted: an account that is gone must not keep its
access key or block the name from being used again, and a token that is gone
must be gone.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

from sqlalchemy import String, delete, literal, select, union_all

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import apply_values, duplicate_as, model_query, require_admin_context
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
Membership = models.UserProjectAssociation
Pair = models.Ec2Credential
GlobalRole = models.UserRoleAssociation
ProjectRole = models.UserProjectRoleAssociation


def _user(session: Any, ctxt: Context, user_id: str) -> models.User:
    row = session.scalars(model_query(ctxt, models.User).where(models.User.id == user_id)).first()
    if row is None:
        raise exception.UserNotFound(user_id=user_id)
    return row


def _project(session: Any, ctxt: Context, project_id: str) -> models.Project:
    row = session.scalars(model_query(ctxt, models.Project).where(models.Project.id == project_id)).first()
    if row is None:
        raise exception.ProjectNotFound(project_id=project_id)
    return row


def _user_clash(user_id: str, access_key: str | None) -> Any:
    def make(detail: str) -> exception.Duplicate:
        if "access_key" in detail:
            return exception.AccessKeyExists(access_key=access_key)
        return exception.UserExists(user=user_id)

    return make


def _access_key_taken(session: Any, access_key: str, user_id: str | None = None) -> bool:
    """Whether a user (other than ``user_id``) or a project pair has ``access_key``."""
    if session.get(Pair, access_key) is not None:
        return True
    user = session.scalars(select(models.User).where(models.User.access_key == access_key)).first()
    return user is not None and user.id != user_id


@require_admin_context
def user_create(ctxt: Context, values: dict[str, Any]) -> models.User:
    user = models.User()
    apply_values(user, values)
    if not user.id:
        raise exception.MissingParameter(param="id")
    if user.name is None:
        user.name = user.id
    with duplicate_as(_user_clash(user.id, user.access_key)):
        with get_session() as session:
            if session.get(models.User, user.id) is not None:
                raise exception.UserExists(user=user.id)
            if user.access_key is not None and _access_key_taken(session, user.access_key):
                raise exception.AccessKeyExists(access_key=user.access_key)
            user.save(session)
    return user


@require_admin_context
def user_get(ctxt: Context, user_id: str) -> models.User:
    with get_session() as session:
        return _user(session, ctxt, user_id)


@require_admin_context
def user_get_by_access_key(ctxt: Context, access_key: str) -> models.User:
    stmt = model_query(ctxt, models.User).where(models.User.access_key == access_key)
    with get_session() as session:
        row = session.scalars(stmt).first()
    if row is None:
        raise exception.AccessKeyNotFound(access_key=access_key)
    return row


@require_admin_context
def user_get_all(ctxt: Context) -> list[models.User]:
    with get_session() as session:
        return list(session.scalars(model_query(ctxt, models.User).order_by(models.User.id)))


@require_admin_context
def user_update(ctxt: Context, user_id: str, values: dict[str, Any]) -> models.User:
    with duplicate_as(_user_clash(user_id, values.get("access_key"))):
        with get_session() as session:
            user = _user(session, ctxt, user_id)
            if values.get("access_key") and _access_key_taken(session, values["access_key"], user_id):
                raise exception.AccessKeyExists(access_key=values["access_key"])
            apply_values(user, values)
            user.save(session)
    return user


@require_admin_context
def user_delete(ctxt: Context, user_id: str) -> None:
    """Delete the user with its memberships and roles.

    A user who manages a project is refused: the project would be left
    without a manager.
    """
    with get_session() as session:
        _user(session, ctxt, user_id)
        managed = session.scalars(
            select(models.Project.id).where(models.Project.project_manager == user_id)
        ).all()
        if managed:
            raise exception.Invalid(f"User {user_id} manages project(s) {', '.join(sorted(managed))}.")
        for model in (ProjectRole, GlobalRole, Pair, Membership, models.AuthToken):
            session.execute(delete(model).where(model.user_id == user_id))
        session.execute(delete(models.User).where(models.User.id == user_id))


@require_admin_context
def project_create(ctxt: Context, values: dict[str, Any]) -> models.Project:
    project = models.Project()
    apply_values(project, values)
    if not project.id:
        raise exception.MissingParameter(param="id")
    if project.name is None:
        project.name = project.id
    with duplicate_as(lambda _detail: exception.ProjectExists(project=project.id)):
        with get_session() as session:
            if session.get(models.Project, project.id) is not None:
                raise exception.ProjectExists(project=project.id)
            if project.project_manager is not None:
                _user(session, ctxt, project.project_manager)
            project.save(session)
    return project


@require_admin_context
def project_get(ctxt: Context, project_id: str) -> models.Project:
    with get_session() as session:
        return _project(session, ctxt, project_id)


@require_admin_context
def project_get_all(ctxt: Context) -> list[models.Project]:
    with get_session() as session:
        return list(session.scalars(model_query(ctxt, models.Project).order_by(models.Project.id)))


@require_admin_context
def project_get_by_user(ctxt: Context, user_id: str) -> list[models.Project]:
    """Projects ``user_id`` is a member of."""
    stmt = (
        model_query(ctxt, models.Project)
        .join(Membership, Membership.project_id == models.Project.id)
        .where(Membership.user_id == user_id)
        .order_by(models.Project.id)
    )
    with get_session() as session:
        _user(session, ctxt, user_id)
        return list(session.scalars(stmt))


@require_admin_context
def project_update(ctxt: Context, project_id: str, values: dict[str, Any]) -> models.Project:
    with get_session() as session:
        project = _project(session, ctxt, project_id)
        if values.get("project_manager") is not None:
            _user(session, ctxt, values["project_manager"])
        apply_values(project, values)
        project.save(session)
    return project


@require_admin_context
def project_delete(ctxt: Context, project_id: str) -> None:
    """Delete the project with its memberships, project roles, quotas and tokens."""
    with get_session() as session:
        _project(session, ctxt, project_id)
        for model in (ProjectRole, Pair, Membership, models.Quota, models.AuthToken):
            session.execute(delete(model).where(model.project_id == project_id))
        session.execute(delete(models.Project).where(models.Project.id == project_id))


@require_admin_context
def project_add_member(ctxt: Context, project_id: str, user_id: str) -> None:
    """Make ``user_id`` a member; adding a member twice changes nothing."""
    with contextlib.suppress(exception.Duplicate):
        with get_session() as session:
            _project(session, ctxt, project_id)
            _user(session, ctxt, user_id)
            if session.get(Membership, (user_id, project_id)) is None:
                session.add(Membership(user_id=user_id, project_id=project_id))


@require_admin_context
def project_remove_member(ctxt: Context, project_id: str, user_id: str) -> None:
    """End the membership, the user's roles and the user's access/secret pairs in the project."""
    with get_session() as session:
        _project(session, ctxt, project_id)
        _user(session, ctxt, user_id)
        session.execute(delete(Pair).where(Pair.user_id == user_id, Pair.project_id == project_id))
        session.execute(delete(ProjectRole).where(ProjectRole.user_id == user_id, ProjectRole.project_id == project_id))
        session.execute(delete(Membership).where(Membership.user_id == user_id, Membership.project_id == project_id))


@require_admin_context
def project_get_members(ctxt: Context, project_id: str) -> list[models.User]:
    stmt = (
        model_query(ctxt, models.User)
        .join(Membership, Membership.user_id == models.User.id)
        .where(Membership.project_id == project_id)
        .order_by(models.User.id)
    )
    with get_session() as session:
        _project(session, ctxt, project_id)
        return list(session.scalars(stmt))


@require_admin_context
def user_add_role(ctxt: Context, user_id: str, role: str) -> None:
    """Grant a global role; granting it twice changes nothing."""
    with contextlib.suppress(exception.Duplicate):
        with get_session() as session:
            _user(session, ctxt, user_id)
            if session.get(GlobalRole, (user_id, role)) is None:
                session.add(GlobalRole(user_id=user_id, role=role))


@require_admin_context
def user_remove_role(ctxt: Context, user_id: str, role: str) -> None:
    with get_session() as session:
        _user(session, ctxt, user_id)
        session.execute(delete(GlobalRole).where(GlobalRole.user_id == user_id, GlobalRole.role == role))


@require_admin_context
def user_get_roles(ctxt: Context, user_id: str) -> list[str]:
    """The user's global roles."""
    stmt = select(GlobalRole.role).where(GlobalRole.user_id == user_id).order_by(GlobalRole.role)
    with get_session() as session:
        _user(session, ctxt, user_id)
        return list(session.scalars(stmt))


@require_admin_context
def user_add_project_role(ctxt: Context, user_id: str, project_id: str, role: str) -> None:
    """Grant ``role`` in one project; granting it twice changes nothing."""
    with contextlib.suppress(exception.Duplicate):
        with get_session() as session:
            _user(session, ctxt, user_id)
            _project(session, ctxt, project_id)
            if session.get(ProjectRole, (user_id, project_id, role)) is None:
                session.add(ProjectRole(user_id=user_id, project_id=project_id, role=role))


@require_admin_context
def user_remove_project_role(ctxt: Context, user_id: str, project_id: str, role: str) -> None:
    with get_session() as session:
        _user(session, ctxt, user_id)
        _project(session, ctxt, project_id)
        session.execute(
            delete(ProjectRole).where(
                ProjectRole.user_id == user_id, ProjectRole.project_id == project_id, ProjectRole.role == role
            )
        )


Grants = tuple[list[str], list[tuple[str, str | None]], dict[str, list[str]]]


@require_admin_context
def user_get_grants(ctxt: Context, user_id: str) -> Grants:
    """What the user may do, in two statements (what an access-key lookup needs): its global roles,
    ``(project id, project manager)`` of the live projects it is a member of (by id), and its roles in
    each project (``{project id: roles}``).  The user itself is not checked."""
    roles = union_all(
        select(literal(None, String).label("project_id"), GlobalRole.role).where(GlobalRole.user_id == user_id),
        select(ProjectRole.project_id, ProjectRole.role).where(ProjectRole.user_id == user_id))
    projects = (
        model_query(ctxt, models.Project).with_only_columns(models.Project.id, models.Project.project_manager)
        .join(Membership, Membership.project_id == models.Project.id)
        .where(Membership.user_id == user_id)
        .order_by(models.Project.id)
    )
    global_roles: list[str] = []
    project_roles: dict[str, list[str]] = {}
    with get_session() as session:
        for project_id, role in session.execute(roles):
            (global_roles if project_id is None else project_roles.setdefault(project_id, [])).append(role)
        member_of = [(project_id, manager) for project_id, manager in session.execute(projects)]
    return sorted(global_roles), member_of, {p: sorted(r) for p, r in project_roles.items()}


@require_admin_context
def user_get_roles_for_project(ctxt: Context, user_id: str, project_id: str) -> list[str]:
    stmt = (
        select(ProjectRole.role)
        .where(ProjectRole.user_id == user_id, ProjectRole.project_id == project_id)
        .order_by(ProjectRole.role)
    )
    with get_session() as session:
        _user(session, ctxt, user_id)
        _project(session, ctxt, project_id)
        return list(session.scalars(stmt))


@require_admin_context
def ec2_credential_create(ctxt: Context, values: dict[str, Any]) -> models.Ec2Credential:
    """Store a user's access/secret pair for a project; AccessKeyExists when a user or pair has the key."""
    pair = models.Ec2Credential()
    apply_values(pair, values)
    for name in ("access_key", "secret_key", "user_id", "project_id"):
        if not pair[name]:
            raise exception.MissingParameter(param=name)
    with duplicate_as(lambda _detail: exception.AccessKeyExists(access_key=pair.access_key)):
        with get_session() as session:
            _user(session, ctxt, pair.user_id)
            _project(session, ctxt, pair.project_id)
            if _access_key_taken(session, pair.access_key):
                raise exception.AccessKeyExists(access_key=pair.access_key)
            pair.save(session)
    return pair


@require_admin_context
def ec2_credential_get(ctxt: Context, access_key: str) -> models.Ec2Credential:
    """The pair with this access key, or AccessKeyNotFound."""
    with get_session() as session:
        row = session.get(Pair, access_key)
    if row is None:
        raise exception.AccessKeyNotFound(access_key=access_key)
    return row


@require_admin_context
def ec2_credential_get_all(ctxt: Context, user_id: str | None = None,
                           project_id: str | None = None) -> list[models.Ec2Credential]:
    """Pairs, oldest first, of one user and/or one project when given."""
    stmt = select(Pair).order_by(Pair.created_at, Pair.access_key)
    if user_id is not None:
        stmt = stmt.where(Pair.user_id == user_id)
    if project_id is not None:
        stmt = stmt.where(Pair.project_id == project_id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_admin_context
def ec2_credential_delete(ctxt: Context, access_key: str) -> None:
    with get_session() as session:
        result = session.execute(delete(Pair).where(Pair.access_key == access_key))
    if not result.rowcount:
        raise exception.AccessKeyNotFound(access_key=access_key)


@require_admin_context
def auth_token_create(ctxt: Context, values: dict[str, Any]) -> models.AuthToken:
    """Store a token (by its hash); ``expires_at`` is required."""
    token = models.AuthToken()
    apply_values(token, values)
    if not token.token_hash:
        raise exception.MissingParameter(param="token_hash")
    if token.expires_at is None:
        raise exception.MissingParameter(param="expires_at")
    with get_session() as session:
        token.save(session)
    return token


@require_admin_context
def auth_token_get(ctxt: Context, token_hash: str) -> models.AuthToken:
    """The token with this hash; an expired one is not found."""
    stmt = select(models.AuthToken).where(models.AuthToken.token_hash == token_hash,
                                          models.AuthToken.expires_at > utils.utcnow())
    with get_session() as session:
        row = session.scalars(stmt).first()
    if row is None:
        raise exception.TokenNotFound()
    return row


@require_admin_context
def auth_token_destroy(ctxt: Context, token_hash: str) -> None:
    with get_session() as session:
        result = session.execute(delete(models.AuthToken).where(models.AuthToken.token_hash == token_hash))
    if not result.rowcount:
        raise exception.TokenNotFound()


@require_admin_context
def auth_token_purge_expired(ctxt: Context, before: datetime.datetime | None = None) -> int:
    """Delete the tokens expired at ``before`` (default: now); returns how many."""
    cutoff = before or utils.utcnow()
    with get_session() as session:
        result = session.execute(delete(models.AuthToken).where(models.AuthToken.expires_at <= cutoff))
    return result.rowcount or 0
