"""EC2 tags: key/value pairs on any resource, named by type and db id.

Tags belong to the project of the context that made them; ``model_query``
scopes every read and delete to it.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import Select

from nova import context as nova_context
from nova import exception
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import authorize_project, model_query, require_context
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
Tag = models.Tag

FILTER_KEYS = ("resource_type", "resource_id", "key", "value", "project_id")


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def _filtered(ctxt: Context, filters: dict[str, Any]) -> Select[tuple[Tag]]:
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise exception.InvalidInput(reason=f"unknown tag filter(s) {', '.join(unknown)}")
    stmt = model_query(ctxt, Tag)
    for name, wanted in filters.items():
        if wanted is None:
            continue
        stmt = stmt.where(getattr(Tag, name).in_(_as_list(wanted)))
    return stmt


@require_context
def tag_create_or_update(
    ctxt: Context,
    resource_type: str,
    resource_id: int,
    key: str,
    value: str | None,
    project_id: str | None = None,
) -> Tag:
    """Set ``key`` on the resource to ``value``, replacing the old value if any."""
    project_id = project_id or ctxt.project_id
    authorize_project(ctxt, project_id)
    if not key:
        raise exception.MissingParameter(param="key")
    with get_session() as session:
        stmt = model_query(ctxt, Tag).where(
            Tag.resource_type == resource_type,
            Tag.resource_id == resource_id,
            Tag.key == key,
            Tag.project_id == project_id,
        )
        row = session.scalars(stmt).first()
        if row is None:
            row = Tag(resource_type=resource_type, resource_id=resource_id, key=key, project_id=project_id)
        row.value = value
        row.save(session)
    return row


@require_context
def tag_delete(
    ctxt: Context,
    resource_type: str,
    resource_id: int,
    key: str,
    value: str | None = None,
) -> int:
    """Remove a tag; with ``value`` only when it has that value.  Returns how many went."""
    stmt = model_query(ctxt, Tag).where(
        Tag.resource_type == resource_type, Tag.resource_id == resource_id, Tag.key == key
    )
    if value is not None:
        stmt = stmt.where(Tag.value == value)
    with get_session() as session:
        rows = list(session.scalars(stmt))
        for row in rows:
            row.soft_delete(session)
    return len(rows)


@require_context
def tag_get_all(ctxt: Context, filters: dict[str, Any] | None = None) -> list[Tag]:
    """Tags the context may see, narrowed by ``filters``.

    Each filter key (``resource_type``, ``resource_id``, ``key``, ``value``,
    ``project_id``) takes one value or a list of alternatives.
    """
    stmt = _filtered(ctxt, filters or {}).order_by(Tag.resource_type, Tag.resource_id, Tag.key)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def tag_get_by_resources(ctxt: Context, resource_type: str, resource_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """``{resource_id: {key: value}}`` for many resources in one query (for Describe* rendering)."""
    ids = list(resource_ids)
    if not ids:
        return {}
    stmt = model_query(ctxt, Tag).where(Tag.resource_type == resource_type, Tag.resource_id.in_(ids))
    result: dict[int, dict[str, Any]] = {}
    with get_session() as session:
        for row in session.scalars(stmt):
            result.setdefault(row.resource_id, {})[row.key] = row.value
    return result
