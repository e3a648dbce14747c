"""Per-project limits: one row per (project, resource), hard-deleted."""

from __future__ import annotations

import time

from sqlalchemy import delete, select, update

from nova import context as nova_context
from nova import exception
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import authorize_project, require_admin_context, require_context
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
Quota = models.Quota
QUOTA_SET_ATTEMPTS = 5


@require_context
def quota_get_all_by_project(ctxt: Context, project_id: str) -> dict[str, int]:
    """The project's own limits as ``{resource: hard_limit}``; defaults live in nova.quota."""
    authorize_project(ctxt, project_id)
    stmt = select(Quota.resource, Quota.hard_limit).where(Quota.project_id == project_id)
    with get_session() as session:
        return {resource: limit for resource, limit in session.execute(stmt)}


@require_admin_context
def quota_set(ctxt: Context, project_id: str, resource: str, limit: int) -> None:
    """Insert or replace one limit.

    An UPDATE first, an INSERT when it touched nothing; if another writer
    inserted the row in between, the unique key refuses ours and the UPDATE
    is run again.  MariaDB may also pick one of two such writers as a
    deadlock victim (gap locks); it is retried the same way.
    """
    for _attempt in range(QUOTA_SET_ATTEMPTS):
        try:
            with get_session() as session:
                changed = session.execute(
                    update(Quota)
                    .where(Quota.project_id == project_id, Quota.resource == resource)
                    .values(hard_limit=limit)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if not changed:
                    session.add(Quota(project_id=project_id, resource=resource, hard_limit=limit))
            return
        except (exception.Duplicate, exception.DBDeadlock):
            time.sleep(0.01 * (_attempt + 1))  # green in the daemons, which monkey-patch
            continue
    raise exception.DatabaseError(reason=f"could not set quota {resource} of project {project_id}")


@require_admin_context
def quota_destroy_all_by_project(ctxt: Context, project_id: str) -> None:
    with get_session() as session:
        session.execute(delete(Quota).where(Quota.project_id == project_id))
