"""The typed client of nova-compute (``ComputeManager``): the only code that builds compute messages.

Every instance action goes to the host that runs the instance
(``compute.<host>``).  Actions are casts: the API has already recorded the
task in the instance row, and the manager records the outcome.  Only the
console is a call, because its answer is the output.
"""

from __future__ import annotations

from nova import context as nova_context
from nova.db import api as db
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

    # -- the hosts a security-group change concerns ---------------------------
    # compute.API (rules changed) and ComputeManager (an instance gained or lost
    # its address) both need them; this is the one place that finds them.

    def refresh_security_group_rules_on_hosts(self, ctxt: Context, security_group_id: int) -> list[str]:
        """Cast the rule refresh to every host running one of the group's instances; returns the hosts."""
        admin = ctxt.elevated()
        hosts = sorted({i["host"] for i in db.security_group_get_instances(admin, security_group_id) if i["host"]})
        for host in hosts:
            self.refresh_security_group_rules(ctxt, host, security_group_id)
        return hosts

    def refresh_security_group_members_on_hosts(self, ctxt: Context, group_ids: list[int]) -> list[str]:
        """Cast the member refresh of each group to the hosts whose instances' rules grant it."""
        admin = ctxt.elevated()
        every: set[str] = set()
        for group_id in group_ids:
            hosts: set[str] = set()
            for rule in db.security_group_rule_get_by_security_group_grantee(admin, group_id):
                hosts.update(i["host"] for i in db.security_group_get_instances(admin, rule["parent_group_id"])
                             if i["host"])
            for host in sorted(hosts):
                self.refresh_security_group_members(ctxt, host, group_id)
            every |= hosts
        return sorted(every)
