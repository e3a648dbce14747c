"""The typed client of nova-volume (``VolumeManager``): the only code that builds volume messages.

Every message goes to the host that keeps the volume (``volume.<host>``).
Creating, deleting and snapshotting are casts (the API has recorded the new
status, the manager records the outcome); the connection details a compute
host needs to attach a volume are a call.
"""

from __future__ import annotations

from typing import Any

from nova import context as nova_context
from nova.rpc import proxy

Context = nova_context.RequestContext


class VolumeAPI(proxy.RpcProxy):
    """One method per RPC method of ``nova.volume.manager.VolumeManager``."""

    topic_flag = "volume_topic"

    def create_volume(self, ctxt: Context, host: str, volume_id: int, snapshot_id: int | None = None) -> None:
        self.cast(ctxt, self.make_msg("create_volume", volume_id=volume_id, snapshot_id=snapshot_id), host=host)

    def delete_volume(self, ctxt: Context, host: str, volume_id: int) -> None:
        self.cast(ctxt, self.make_msg("delete_volume", volume_id=volume_id), host=host)

    def create_snapshot(self, ctxt: Context, host: str, volume_id: int, snapshot_id: int) -> None:
        self.cast(ctxt, self.make_msg("create_snapshot", volume_id=volume_id, snapshot_id=snapshot_id), host=host)

    def delete_snapshot(self, ctxt: Context, host: str, snapshot_id: int) -> None:
        self.cast(ctxt, self.make_msg("delete_snapshot", snapshot_id=snapshot_id), host=host)

    def initialize_connection(self, ctxt: Context, host: str, volume_id: int) -> dict[str, Any]:
        """Call: how a compute host reaches the volume (the iSCSI portal, target and credentials)."""
        return self.call(ctxt, self.make_msg("initialize_connection", volume_id=volume_id), host=host)
