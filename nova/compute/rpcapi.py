"""The typed client of nova-compute (``ComputeManager``): the only code that builds compute messages.

Every instance action goes to the host that runs the instance
(``compute.<host>``).  Actions are casts: the API has already recorded the
task in the instance row, and the manager records the outcome.  Only the
console is a call, because its answer is the output.
"""

from __future__ import annotations

from nova import context as nova_context
from nova.rpc import proxy

Context = nova_context.RequestContext


class ComputeAPI(proxy.RpcProxy):
    """One method per RPC method of ``nova.compute.manager.ComputeManager``."""

    topic_flag = "compute_topic"

    def _cast_instance(self, ctxt: Context, host: str, method: str, instance_id: int) -> None:
        self.cast(ctxt, self.make_msg(method, instance_id=instance_id), host=host)

    def run_instance(self, ctxt: Context, host: str, instance_id: int) -> None:
        self._cast_instance(ctxt, host, "run_instance", instance_id)

    def terminate_instance(self, ctxt: Context, host: str, instance_id: int) -> None:
        self._cast_instance(ctxt, host, "terminate_instance", instance_id)

    def reboot_instance(self, ctxt: Context, host: str, instance_id: int) -> None:
        self._cast_instance(ctxt, host, "reboot_instance", instance_id)

    def stop_instance(self, ctxt: Context, host: str, instance_id: int) -> None:
        self._cast_instance(ctxt, host, "stop_instance", instance_id)

    def start_instance(self, ctxt: Context, host: str, instance_id: int) -> None:
        self._cast_instance(ctxt, host, "start_instance", instance_id)

    def pause_instance(self, ctxt: Context, host: str, instance_id: int) -> None:
        self._cast_instance(ctxt, host, "pause_instance", instance_id)

    def unpause_instance(self, ctxt: Context, host: str, instance_id: int) -> None:
        self._cast_instance(ctxt, host, "unpause_instance", instance_id)

    def suspend_instance(self, ctxt: Context, host: str, instance_id: int) -> None:
        self._cast_instance(ctxt, host, "suspend_instance", instance_id)

    def resume_instance(self, ctxt: Context, host: str, instance_id: int) -> None:
        self._cast_instance(ctxt, host, "resume_instance", instance_id)

    def rescue_instance(self, ctxt: Context, host: str, instance_id: int) -> None:
        self._cast_instance(ctxt, host, "rescue_instance", instance_id)

    def unrescue_instance(self, ctxt: Context, host: str, instance_id: int) -> None:
        self._cast_instance(ctxt, host, "unrescue_instance", instance_id)

    def snapshot_instance(self, ctxt: Context, host: str, instance_id: int, image_id: int) -> None:
        self.cast(ctxt, self.make_msg("snapshot_instance", instance_id=instance_id, image_id=image_id), host=host)

    def attach_volume(self, ctxt: Context, host: str, instance_id: int, volume_id: int, mountpoint: str,
                      reattach: bool = False) -> None:
        self.cast(ctxt, self.make_msg("attach_volume", instance_id=instance_id, volume_id=volume_id,
                                      mountpoint=mountpoint, reattach=reattach), host=host)

    def detach_volume(self, ctxt: Context, host: str, instance_id: int, volume_id: int, force: bool = False) -> None:
        self.cast(ctxt, self.make_msg("detach_volume", instance_id=instance_id, volume_id=volume_id, force=force),
                  host=host)

    def get_console_output(self, ctxt: Context, host: str, instance_id: int) -> str:
        return self.call(ctxt, self.make_msg("get_console_output", instance_id=instance_id), host=host)

    def refresh_security_group_rules(self, ctxt: Context, host: str, security_group_id: int) -> None:
        self.cast(ctxt, self.make_msg("refresh_security_group_rules", security_group_id=security_group_id),
                  host=host)

    def refresh_security_group_members(self, ctxt: Context, host: str, security_group_id: int) -> None:
        self.cast(ctxt, self.make_msg("refresh_security_group_members", security_group_id=security_group_id),
                  host=host)
