"""``nova-manage volume``: list, delete and reattach volumes as an operator."""

from __future__ import annotations

from typing import Any

from nova import context, ec2_ids, exception


def _volume_id(value: str) -> int:
    """A volume named by its EC2 id (``vol-0000000a``) or its number."""
    if value.isdigit():
        return int(value)
    return ec2_ids.ec2_id_to_id(value, ("vol",))


def _api() -> Any:
    from nova.volume import api

    return api.API()


class VolumeCommands:
    """Volumes across the cloud."""

    def list(self, host: str | None = None) -> None:
        """Every volume (on one host when given): id, host, size, status, project, attachment, fault."""
        from nova.db import api as db

        ctxt = context.get_admin_context()
        rows = db.volume_get_all_by_host(ctxt, host) if host else db.volume_get_all(ctxt)
        print(f"{'Volume':<14} {'Host':<16} {'GiB':>5} {'Status':<10} {'Project':<14} {'Attached':<24} Fault")
        for row in rows:
            attached = "-"
            if row["instance_id"] is not None:
                attached = f"{ec2_ids.id_to_ec2_id(row['instance_id'])} {row['mountpoint'] or ''}".strip()
            print(f"{ec2_ids.id_to_ec2_id(row['id'], 'vol'):<14} {row['host'] or '-':<16} {row['size'] or 0:>5} "
                  f"{row['status'] or '-':<10} {row['project_id'] or '-':<14} {attached:<24} "
                  f"{' '.join((row['fault'] or '').split())[:200]}")

    def delete(self, volume_id: str) -> None:
        """Delete a volume that is not attached (its volume host removes the data)."""
        _api().delete(context.get_admin_context(), _volume_id(volume_id))
        print(f"deleting {ec2_ids.id_to_ec2_id(_volume_id(volume_id), 'vol')}")

    def reattach(self, volume_id: str) -> None:
        """Plug an in-use volume into its instance again (after the instance's host lost it)."""
        volume = _api().reattach(context.get_admin_context(), _volume_id(volume_id))
        if volume is None:
            raise exception.InvalidInput(reason=f"volume {volume_id} is not attached")
        print(f"reattaching {ec2_ids.id_to_ec2_id(volume['id'], 'vol')} to "
              f"{ec2_ids.id_to_ec2_id(volume['instance_id'])} as {volume['mountpoint']}")
