"""What every resource module of the backend shares: access checks, the one
scoped query helper, and turning driver errors into nova exceptions."""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import Select, false, inspect, select

from nova import context as nova_context
from nova import exception
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy import prepared as server_prepared

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=models.NovaBase)


def is_admin(ctxt: nova_context.RequestContext) -> bool:
    return bool(getattr(ctxt, "is_admin", False))


def require_context(func: F) -> F:
    """The caller is an admin or acts for a user in a project."""

    @functools.wraps(func)
    def wrapper(ctxt: nova_context.RequestContext, *args: Any, **kwargs: Any) -> Any:
        if not is_admin(ctxt) and not (getattr(ctxt, "user_id", None) and getattr(ctxt, "project_id", None)):
            raise exception.NotAuthorized()
        return func(ctxt, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require_admin_context(func: F) -> F:
    @functools.wraps(func)
    def wrapper(ctxt: nova_context.RequestContext, *args: Any, **kwargs: Any) -> Any:
        if not is_admin(ctxt):
            raise exception.AdminRequired()
        return func(ctxt, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def authorize_project(ctxt: nova_context.RequestContext, project_id: str | None) -> None:
    """A non-admin may only name its own project."""
    if not is_admin(ctxt) and project_id != ctxt.project_id:
        raise exception.NotAuthorized()


def model_query(
    ctxt: nova_context.RequestContext,
    model: type[M],
    *,
    project_only: bool = True,
    read_deleted: bool | None = None,
) -> Select[tuple[M]]:
    """``SELECT model`` as ``ctxt`` may see it.

    Soft-deleted rows are left out unless ``read_deleted`` (by default the
    context's) says otherwise.  For a non-admin context, a table with a
    ``project_id`` column is limited to the context's project unless
    ``project_only`` is False, which callers use only for rows they filter
    themselves (public images, say).
    """
    stmt = select(model)
    if read_deleted is None:
        read_deleted = bool(getattr(ctxt, "read_deleted", False))
    if not read_deleted:
        stmt = stmt.where(model.deleted == false())
    if project_only and not is_admin(ctxt) and "project_id" in model.__table__.c:
        stmt = stmt.where(model.__table__.c.project_id == ctxt.project_id)
    return stmt


def first_or_raise(session: Any, stmt: Select[tuple[M]], not_found: Callable[[], exception.NovaException]) -> M:
    """The first row ``stmt`` selects, fresh from the database, or ``not_found()`` raised."""
    row = session.scalars(stmt.execution_options(populate_existing=True)).first()
    if row is None:
        raise not_found()
    return row


def apply_values(row: models.NovaBase, values: dict[str, Any]) -> None:
    """Set column values on ``row``; an unknown key is the caller's mistake."""
    columns = {attr.key for attr in inspect(type(row)).column_attrs}
    unknown = sorted(set(values) - columns)
    if unknown:
        raise exception.InvalidInput(reason=f"{type(row).__tablename__} has no column(s) {', '.join(unknown)}")
    row.update(values)


@contextlib.contextmanager
def duplicate_as(make_error: Callable[[str], exception.NovaException]) -> Iterator[None]:
    """Narrow the session's generic ``Duplicate`` to the resource's own class.

    ``make_error`` gets the driver's one-line message, which names the
    violated column or constraint, so it can tell which key clashed.
    """
    try:
        yield
    except exception.Duplicate as exc:
        if type(exc) is not exception.Duplicate:
            raise
        raise make_error(str(exc.kwargs.get("detail", ""))) from None


def listing_query(ctxt: nova_context.RequestContext, model: Any, project_id: str | None,
                  after_id: int | None) -> Select[Any]:
    """The visible rows of ``model`` (of ``project_id`` when given, which the context must be allowed)
    after ``after_id``: what a listing pages through by id."""
    stmt = model_query(ctxt, model)
    if project_id is not None:
        authorize_project(ctxt, project_id)
        stmt = stmt.where(model.project_id == project_id)
    if after_id is not None:
        stmt = stmt.where(model.id > after_id)
    return stmt


# Statements built once and executed with their values bound: on the back-end daemons' hot paths, building
# a statement and working out its cache key cost more CPU than sending it.  Keyed by what varies in their
# shape (a handful per function); capped so that no caller can grow it without bound.
_PREPARED: dict[tuple[Any, ...], Any] = {}
_MOST_PREPARED = 512


def prepared(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """The statement ``build()`` makes, built once per ``key`` (whose first item names the function)."""
    stmt = _PREPARED.get(key)
    if stmt is None:
        # Built once and run often: worth preparing on a PostgreSQL server (nova.db.sqlalchemy.prepared).
        stmt = build().execution_options(**{server_prepared.SERVER_PREPARE: True})
        if len(_PREPARED) < _MOST_PREPARED:
            _PREPARED[key] = stmt
    return stmt
