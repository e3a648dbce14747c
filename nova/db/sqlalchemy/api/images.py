"""Images of nova's own image service and who may launch them.

A context sees an image when it is an admin, owns it (``project_id``), the
image is public, or a launch permission names its project (or "all").  Only
the owner or an admin changes or deletes one.  ``properties`` is stored as
JSON text; the image service turns it into a dict.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import false, or_, select, true, update

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import apply_values, first_or_raise, is_admin, model_query, require_context
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
Image = models.Image
Permission = models.ImageLaunchPermission


def _visible(ctxt: Context) -> Any:
    stmt = model_query(ctxt, Image, project_only=False)
    if is_admin(ctxt):
        return stmt
    permitted = (
        select(Permission.image_id)
        .where(Permission.deleted == false(), Permission.project_id.in_([ctxt.project_id, "all"]))
        .scalar_subquery()
    )
    return stmt.where(or_(Image.project_id == ctxt.project_id, Image.is_public == true(), Image.id.in_(permitted)))


def _image(session: Any, ctxt: Context, image_id: int) -> Image:
    stmt = _visible(ctxt).where(Image.id == image_id)
    return first_or_raise(session, stmt, lambda: exception.ImageNotFound(image_id=image_id))


def _owned(session: Any, ctxt: Context, image_id: int) -> Image:
    row = _image(session, ctxt, image_id)
    if not is_admin(ctxt) and row.project_id != ctxt.project_id:
        raise exception.NotAuthorized(f"Image {image_id} belongs to another project.")
    return row


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    if "properties" in values and not isinstance(values["properties"], (str, type(None))):
        values["properties"] = json.dumps(values["properties"], sort_keys=True)
    return values


@require_context
def image_create(ctxt: Context, values: dict[str, Any]) -> Image:
    """A non-admin creates images owned by its own project."""
    values = _encode(values)
    if not is_admin(ctxt):
        values["project_id"] = ctxt.project_id
    image = Image()
    apply_values(image, values)
    with get_session() as session:
        image.save(session)
        return _image(session, nova_context.get_admin_context(), image.id)


@require_context
def image_get(ctxt: Context, image_id: int) -> Image:
    """Raises ImageNotFound, also for an image the context may not see."""
    with get_session() as session:
        return _image(session, ctxt, image_id)


@require_context
def image_get_all(ctxt: Context) -> list[Image]:
    with get_session() as session:
        return list(session.scalars(_visible(ctxt).order_by(Image.id)))


_LISTED_COLUMNS = tuple(Image.__table__.c)


@require_context
def image_get_listing(ctxt: Context, after_id: int | None = None, limit: int | None = None,
                      newest_first: bool = False) -> list[Any]:
    """The images ``image_get_all`` gives (same visibility), as plain rows (``row["name"]``) by id:
    those after ``after_id`` only (before it, newest first), at most ``limit``; one statement, no
    ORM objects."""
    stmt = _visible(ctxt).with_only_columns(*_LISTED_COLUMNS)
    stmt = stmt.order_by(Image.id.desc() if newest_first else Image.id)
    if after_id is not None:
        stmt = stmt.where(Image.id < after_id if newest_first else Image.id > after_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    with get_session() as session:
        return list(session.execute(stmt).mappings())


@require_context
def image_update(ctxt: Context, image_id: int, values: dict[str, Any]) -> Image:
    values = _encode(values)
    if not is_admin(ctxt) and "project_id" in values:
        raise exception.NotAuthorized("Only an admin changes an image's owner.")
    with get_session() as session:
        image = _owned(session, ctxt, image_id)
        apply_values(image, values)
        image.save(session)
        return _image(session, ctxt, image_id)


@require_context
def image_destroy(ctxt: Context, image_id: int) -> None:
    """Soft-delete an image and its launch permissions."""
    with get_session() as session:
        _owned(session, ctxt, image_id).soft_delete(session)
        session.execute(
            update(Permission)
            .where(Permission.image_id == image_id, Permission.deleted == false())
            .values(deleted=True, deleted_at=utils.utcnow())
            .execution_options(synchronize_session=False)
        )


@require_context
def image_launch_permission_add(ctxt: Context, image_id: int, project_id: str) -> None:
    """Let ``project_id`` (or "all") launch the image; the owner or an admin decides."""
    with get_session() as session:
        _owned(session, ctxt, image_id)
        existing = session.scalars(
            select(Permission).where(Permission.image_id == image_id, Permission.project_id == project_id,
                                     Permission.deleted == false())
        ).first()
        if existing is None:
            Permission(image_id=image_id, project_id=project_id).save(session)


@require_context
def image_launch_permission_remove(ctxt: Context, image_id: int, project_id: str) -> None:
    with get_session() as session:
        _owned(session, ctxt, image_id)
        session.execute(
            update(Permission)
            .where(Permission.image_id == image_id, Permission.project_id == project_id,
                   Permission.deleted == false())
            .values(deleted=True, deleted_at=utils.utcnow())
            .execution_options(synchronize_session=False)
        )


@require_context
def image_launch_permission_get_all(ctxt: Context, image_id: int) -> list[str]:
    """Projects (or "all") allowed to launch the image, for its owner or an admin."""
    with get_session() as session:
        _owned(session, ctxt, image_id)
        stmt = select(Permission.project_id).where(Permission.image_id == image_id, Permission.deleted == false())
        return sorted(session.scalars(stmt))


@require_context
def image_launch_permission_get_by_images(ctxt: Context, image_ids: list[int]) -> dict[int, list[str]]:
    """``{image_id: [project or "all", ...]}`` for the visible images among ``image_ids``, in one query."""
    ids = sorted(set(image_ids))
    if not ids:
        return {}
    visible = _visible(ctxt).with_only_columns(Image.id).where(Image.id.in_(ids)).scalar_subquery()
    stmt = (
        select(Permission.image_id, Permission.project_id)
        .where(Permission.deleted == false(), Permission.image_id.in_(visible))
        .order_by(Permission.image_id, Permission.project_id)
    )
    result: dict[int, list[str]] = {}
    with get_session() as session:
        for image_id, project_id in session.execute(stmt):
            result.setdefault(image_id, []).append(project_id)
    return result
