"""Volumes, their snapshots and iSCSI target numbers (EC2 CreateVolume and friends; per project).

A volume row carries everything a listing shows (its attachment is
``instance_id``, ``mountpoint`` and ``attach_time`` on the row itself), so
every read here is one SELECT whatever the number of rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, false, func, select, update

from nova import context as nova_context
from nova import exception, utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy.api.common import (
    apply_values,
    authorize_project,
    first_or_raise,
    listing_query,
    model_query,
    require_admin_context,
    require_context,
)
from nova.db.sqlalchemy.session import get_session

Context = nova_context.RequestContext
Volume = models.Volume


def _create_in_project(ctxt: Context, model: type, values: dict[str, Any]) -> Any:
    """A new row of ``model``; a non-admin context creates it in its own project, as its user."""
    values = dict(values)
    values.setdefault("project_id", ctxt.project_id)
    values.setdefault("user_id", ctxt.user_id)
    authorize_project(ctxt, values["project_id"])
    row = model()
    apply_values(row, values)
    with get_session() as session:
        row.save(session)
    return row


def _update_if_status(ctxt: Context, model: type, row_id: int, expected: tuple[str, ...], values: dict[str, Any],
                      not_found: Any, refused: Any) -> Any:
    """Set ``values`` on the row only while its status is one of ``expected``, atomically (one UPDATE
    with the status in its WHERE); ``refused(row)`` is raised, with the row as it is, when it is not."""
    with get_session() as session:
        row = first_or_raise(session, model_query(ctxt, model).where(model.id == row_id), not_found)
        changed = session.execute(
            update(model).where(model.id == row_id, model.deleted == false(), model.status.in_(expected))
            .values(**values, updated_at=utils.utcnow())
        ).rowcount
        session.refresh(row)
        if not changed:
            raise refused(row)
        return row


@require_context
def volume_create(ctxt: Context, values: dict[str, Any]) -> Volume:
    """A new volume row; a non-admin context creates it in its own project."""
    return _create_in_project(ctxt, Volume, values)


@require_context
def volume_get(ctxt: Context, volume_id: int) -> Volume:
    """VolumeNotFound also for another project's volume when not admin."""
    with get_session() as session:
        stmt = model_query(ctxt, Volume).where(Volume.id == volume_id)
        return first_or_raise(session, stmt, lambda: exception.VolumeNotFound(volume_id=volume_id))


@require_admin_context
def volume_get_all(ctxt: Context) -> list[Volume]:
    with get_session() as session:
        return list(session.scalars(model_query(ctxt, Volume).order_by(Volume.id)))


@require_context
def volume_get_all_by_project(ctxt: Context, project_id: str) -> list[Volume]:
    authorize_project(ctxt, project_id)
    stmt = model_query(ctxt, Volume).where(Volume.project_id == project_id).order_by(Volume.id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_admin_context
def volume_get_all_by_host(ctxt: Context, host: str) -> list[Volume]:
    stmt = model_query(ctxt, Volume).where(Volume.host == host).order_by(Volume.id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def volume_get_all_by_instance(ctxt: Context, instance_id: int) -> list[Volume]:
    """The volumes attached (or being attached or detached) to an instance, by mountpoint."""
    stmt = model_query(ctxt, Volume).where(Volume.instance_id == instance_id).order_by(Volume.mountpoint)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def volume_get_all_by_instances(ctxt: Context, instance_ids: list[int]) -> list[Volume]:
    """The volumes attached to any of ``instance_ids`` (an instance listing's block devices), one SELECT."""
    if not instance_ids:
        return []
    stmt = model_query(ctxt, Volume).where(Volume.instance_id.in_(instance_ids)).order_by(Volume.mountpoint)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def volume_update(ctxt: Context, volume_id: int, values: dict[str, Any]) -> Volume:
    with get_session() as session:
        row = first_or_raise(session, model_query(ctxt, Volume).where(Volume.id == volume_id),
                             lambda: exception.VolumeNotFound(volume_id=volume_id))
        apply_values(row, values)
        row.save(session)
        return row


@require_context
def volume_update_if_status(ctxt: Context, volume_id: int, expected: tuple[str, ...], values: dict[str, Any],
                            action: str) -> Volume:
    """Set ``values`` only while the volume's status is one of ``expected``, atomically.

    Two requests racing for one volume (two attaches, an attach and a delete)
    cannot both pass: the second finds the status changed and gets
    VolumeInUse (attached somewhere) or VolumeInvalidState.
    """

    def refused(row: Volume) -> exception.NovaException:
        if row.status == "in-use" or row.instance_id is not None:
            return exception.VolumeInUse(volume_id=volume_id, instance_id=row.instance_id, action=action)
        return exception.VolumeInvalidState(volume_id=volume_id, status=row.status, action=action)

    return _update_if_status(ctxt, Volume, volume_id, expected, values,
                             lambda: exception.VolumeNotFound(volume_id=volume_id), refused)


@require_context
def volume_destroy(ctxt: Context, volume_id: int) -> None:
    """Soft-delete the volume and free its iSCSI target number."""
    with get_session() as session:
        row = first_or_raise(session, model_query(ctxt, Volume).where(Volume.id == volume_id),
                             lambda: exception.VolumeNotFound(volume_id=volume_id))
        row.status, row.attach_status = "deleted", "detached"
        row.instance_id = row.mountpoint = None
        row.soft_delete(session)
        session.execute(delete(models.IscsiTarget).where(models.IscsiTarget.volume_id == volume_id))


@require_admin_context
def volume_attached(ctxt: Context, volume_id: int, instance_id: int, mountpoint: str) -> Volume:
    return volume_update(ctxt, volume_id, {
        "status": "in-use", "attach_status": "attached", "instance_id": instance_id,
        "mountpoint": mountpoint, "attach_time": utils.utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "fault": None,
    })


@require_admin_context
def volume_detached(ctxt: Context, volume_id: int) -> Volume:
    return volume_update(ctxt, volume_id, {
        "status": "available", "attach_status": "detached", "instance_id": None, "mountpoint": None,
        "attach_time": None,
    })


@require_context
def volume_data_get_for_project(ctxt: Context, project_id: str) -> tuple[int, int]:
    """(volumes, gigabytes) the project's live volumes hold, for quotas."""
    authorize_project(ctxt, project_id)
    stmt = select(func.count(Volume.id), func.coalesce(func.sum(Volume.size), 0)).where(
        Volume.project_id == project_id, Volume.deleted == false())
    with get_session() as session:
        count, gigabytes = session.execute(stmt).one()
    return int(count), int(gigabytes)


@require_admin_context
def volume_usage_by_host(ctxt: Context, hosts: list[str] | None = None) -> dict[str, dict[str, int]]:
    """``{host: {"volumes": n, "gigabytes": g}}`` of the live volumes on each host (the simple scheduler)."""
    stmt = (select(Volume.host, func.count(Volume.id), func.coalesce(func.sum(Volume.size), 0))
            .where(Volume.deleted == false(), Volume.host.is_not(None)).group_by(Volume.host))
    if hosts is not None:
        stmt = stmt.where(Volume.host.in_(hosts))
    with get_session() as session:
        rows = session.execute(stmt).all()
    return {host: {"volumes": int(n), "gigabytes": int(g)} for host, n, g in rows}


# -- iSCSI target numbers (one per exported volume, per host) -----------------


@require_admin_context
def iscsi_target_allocate(ctxt: Context, host: str, volume_id: int, num_targets: int) -> int:
    """The volume's target number on ``host``: its own if it has one, else the lowest free of 1..num_targets.

    The (target_num, host) unique key settles two volumes racing for a
    number: the loser tries the next free one.
    """
    for _attempt in range(num_targets + 1):
        with get_session() as session:
            rows = session.execute(select(models.IscsiTarget.target_num, models.IscsiTarget.volume_id)
                                   .where(models.IscsiTarget.host == host)).all()
        for target_num, owner in rows:
            if owner == volume_id:
                return int(target_num)
        taken = {int(num) for num, _owner in rows}
        free = next((n for n in range(1, num_targets + 1) if n not in taken), None)
        if free is None:
            raise exception.NoMoreTargets(host=host, count=num_targets)
        try:
            with get_session() as session:
                session.add(models.IscsiTarget(host=host, target_num=free, volume_id=volume_id))
            return free
        except exception.Duplicate:
            continue
    raise exception.NoMoreTargets(host=host, count=num_targets)


@require_admin_context
def iscsi_target_get_for_volume(ctxt: Context, volume_id: int) -> int:
    with get_session() as session:
        num = session.scalars(select(models.IscsiTarget.target_num)
                              .where(models.IscsiTarget.volume_id == volume_id)).first()
    if num is None:
        raise exception.NotFound(f"Volume {volume_id} has no iSCSI target.")
    return int(num)


# -- snapshots (per project) ----------------------------------------------------

Snapshot = models.Snapshot


def _snapshot_query(ctxt: Context, snapshot_id: int) -> Any:
    return model_query(ctxt, Snapshot).where(Snapshot.id == snapshot_id)


@require_context
def snapshot_create(ctxt: Context, values: dict[str, Any]) -> Snapshot:
    return _create_in_project(ctxt, Snapshot, values)


@require_context
def snapshot_get(ctxt: Context, snapshot_id: int) -> Snapshot:
    """SnapshotNotFound also for another project's snapshot when not admin."""
    with get_session() as session:
        return first_or_raise(session, _snapshot_query(ctxt, snapshot_id),
                              lambda: exception.SnapshotNotFound(snapshot_id=snapshot_id))


@require_admin_context
def snapshot_get_all(ctxt: Context) -> list[Snapshot]:
    with get_session() as session:
        return list(session.scalars(model_query(ctxt, Snapshot).order_by(Snapshot.id)))


@require_context
def snapshot_get_all_by_project(ctxt: Context, project_id: str) -> list[Snapshot]:
    authorize_project(ctxt, project_id)
    stmt = model_query(ctxt, Snapshot).where(Snapshot.project_id == project_id).order_by(Snapshot.id)
    with get_session() as session:
        return list(session.scalars(stmt))


@require_context
def snapshot_update(ctxt: Context, snapshot_id: int, values: dict[str, Any]) -> Snapshot:
    with get_session() as session:
        row = first_or_raise(session, _snapshot_query(ctxt, snapshot_id),
                             lambda: exception.SnapshotNotFound(snapshot_id=snapshot_id))
        apply_values(row, values)
        row.save(session)
        return row


@require_context
def snapshot_update_if_status(ctxt: Context, snapshot_id: int, expected: tuple[str, ...],
                              values: dict[str, Any], action: str) -> Snapshot:
    """Set ``values`` only while the snapshot's status is one of ``expected`` (SnapshotInvalidState otherwise)."""
    return _update_if_status(
        ctxt, Snapshot, snapshot_id, expected, values, lambda: exception.SnapshotNotFound(snapshot_id=snapshot_id),
        lambda row: exception.SnapshotInvalidState(snapshot_id=snapshot_id, status=row.status, action=action))


@require_context
def snapshot_destroy(ctxt: Context, snapshot_id: int) -> None:
    with get_session() as session:
        row = first_or_raise(session, _snapshot_query(ctxt, snapshot_id),
                             lambda: exception.SnapshotNotFound(snapshot_id=snapshot_id))
        row.status = "deleted"
        row.soft_delete(session)



def _listing(ctxt: Context, model: Any, project_id: str | None, after_id: int | None,
             limit: int | None) -> list[Any]:
    """Visible rows of ``model`` (of ``project_id`` when given) as plain rows by id, after ``after_id``,
    at most ``limit``: one statement, no ORM objects."""
    stmt = listing_query(ctxt, model, project_id, after_id).with_only_columns(*model.__table__.c).order_by(model.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    with get_session() as session:
        return list(session.execute(stmt).mappings())


@require_context
def volume_get_listing(ctxt: Context, project_id: str | None = None, after_id: int | None = None,
                       limit: int | None = None) -> list[Any]:
    return _listing(ctxt, Volume, project_id, after_id, limit)


@require_context
def snapshot_get_listing(ctxt: Context, project_id: str | None = None, after_id: int | None = None,
                         limit: int | None = None) -> list[Any]:
    return _listing(ctxt, Snapshot, project_id, after_id, limit)
