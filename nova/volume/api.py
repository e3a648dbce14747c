"""volume.API: what the front ends call for block storage volumes.

The home of the volume service's logic: today the reads over the
``volumes`` table (DescribeVolumes); creating, deleting and attaching come
with the volume issue, validating and checking quotas here and sending their
RPC through ``nova.volume.rpcapi``.
"""

from __future__ import annotations

from typing import Any, Iterable

from nova import context as nova_context
from nova import exception
from nova.db import api as db

Context = nova_context.RequestContext
Row = Any


def _int_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise exception.InvalidInput(reason=f"volume id must be an integer id, not {value!r}") from None


class API:
    """The volume service API (see the module docstring)."""

    def get(self, ctxt: Context, volume_id: int) -> Row:
        """Raises VolumeNotFound, also for another project's volume."""
        return db.volume_get(ctxt, _int_id(volume_id))

    def get_all(self, ctxt: Context, volume_ids: Iterable[int] | None = None) -> list[Row]:
        """The caller's project's volumes (every project's for an admin), in id order.

        With ``volume_ids``, only those; one that is missing or not the
        caller's raises VolumeNotFound.
        """
        if ctxt.is_admin:
            rows = db.volume_get_all(ctxt)
        else:
            rows = db.volume_get_all_by_project(ctxt, ctxt.project_id)
        if volume_ids is None:
            return rows
        wanted = [_int_id(v) for v in volume_ids]
        by_id = {row["id"]: row for row in rows}
        for volume_id in wanted:
            if volume_id not in by_id:
                raise exception.VolumeNotFound(volume_id=volume_id)
        return [by_id[v] for v in dict.fromkeys(wanted)]
