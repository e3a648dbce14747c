"""SSH key pairs: owned by a user, not by a project.

A non-admin context only reaches the key pairs of its own user, so the
scoping that ``model_query`` does by project is done here by user.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from nova import context as nova_context
from nova import exception
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import apply_values, is_admin, model_query, require_context
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
KeyPair = models.KeyPair


def _authorize_user(ctxt: Context, user_id: str | None) -> None:
    if not is_admin(ctxt) and user_id != ctxt.user_id:
        raise exception.NotAuthorized()


def _key_pair(session: Any, ctxt: Context, user_id: str, name: str) -> KeyPair:
    stmt = model_query(ctxt, KeyPair).where(KeyPair.user_id == user_id, KeyPair.name == name)
    row = session.scalars(stmt).first()
    if row is None:
        raise exception.KeypairNotFound(user_id=user_id, name=name)
    return row


@require_context
def key_pair_create(ctxt: Context, values: dict[str, Any]) -> KeyPair:
    """Store a key pair; ``KeyPairExists`` when the user already has one of that name."""
    values = dict(values)
    if not is_admin(ctxt):
        values.setdefault("user_id", ctxt.user_id)
    _authorize_user(ctxt, values.get("user_id"))
    if not values.get("name"):
        raise exception.MissingParameter(param="name")
    row = KeyPair()
    apply_values(row, values)
    with get_session() as session:
        clash = session.scalars(
            model_query(ctxt, KeyPair).where(KeyPair.user_id == row.user_id, KeyPair.name == row.name)
        ).first()
        if clash is not None:
            raise exception.KeyPairExists(key_name=row.name)
        row.save(session)
    return row


@require_context
def key_pair_get(ctxt: Context, user_id: str, name: str) -> KeyPair:
    _authorize_user(ctxt, user_id)
    with get_session() as session:
        return _key_pair(session, ctxt, user_id, name)


@require_context
def key_pair_get_all_by_user(ctxt: Context, user_id: str) -> list[KeyPair]:
    _authorize_user(ctxt, user_id)
    stmt = model_query(ctxt, KeyPair).where(KeyPair.user_id == user_id).order_by(KeyPair.name)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def key_pair_count_by_user(ctxt: Context, user_id: str) -> int:
    _authorize_user(ctxt, user_id)
    stmt = select(func.count(KeyPair.id)).where(KeyPair.user_id == user_id, KeyPair.deleted.is_(False))
    with get_session() as session:
        return int(session.scalar(stmt) or 0)


@require_context
def key_pair_destroy(ctxt: Context, user_id: str, name: str) -> None:
    """Soft-delete; ``KeypairNotFound`` when there is no such key pair."""
    _authorize_user(ctxt, user_id)
    with get_session() as session:
        _key_pair(session, ctxt, user_id, name).soft_delete(session)


@require_context
def key_pair_destroy_all_by_user(ctxt: Context, user_id: str) -> None:
    _authorize_user(ctxt, user_id)
    with get_session() as session:
        for row in session.scalars(model_query(ctxt, KeyPair).where(KeyPair.user_id == user_id)):
            row.soft_delete(session)
