"""What the API and compute layers call to get addresses for instances.

The contract other layers rely on:

- ``allocate_for_instance(ctxt, instance_id, host)``: an RPC ``call`` to
  nova-network; returns one dict per NIC with at least ``address``,
  ``mac_address``, ``network_id``, ``bridge``, ``cidr``, ``netmask``,
  ``gateway``, ``dhcp_server`` and ``injected`` (plus ``vlan``, ``label``,
  ``broadcast`` and ``dns``).
- ``deallocate_for_instance(ctxt, instance_id)``: releases what was
  allocated; floating IPs are disassociated and stay with the project.

Floating IPs (EC2 AllocateAddress and friends): the role check (netadmin or
projectmanager) is the front end's; the project scoping and the quota are
enforced here and in the manager.  A tenant naming another tenant's address
gets FloatingIpNotFound, exactly as for an address that does not exist.
"""

from __future__ import annotations

from typing import Any

from nova import context, exception, flags
from nova.db import api as db
from nova.network import rpcapi as network_rpcapi

FLAGS = flags.FLAGS


def _rpc() -> network_rpcapi.NetworkAPI:
    return network_rpcapi.NetworkAPI()


class API:
    def allocate_for_instance(self, ctxt: context.RequestContext, instance_id: int, host: str) -> list[dict[str, Any]]:
        return _rpc().allocate_for_instance(ctxt, instance_id, host)

    def deallocate_for_instance(self, ctxt: context.RequestContext, instance_id: int) -> None:
        _rpc().deallocate_for_instance(ctxt, instance_id)

    # -- floating IPs ------------------------------------------------------------

    def allocate_floating_ip(self, ctxt: context.RequestContext) -> str:
        """A new address for the caller's project (AddressLimitExceeded past its quota)."""
        return _rpc().allocate_floating_ip(ctxt, ctxt.project_id)

    def get_floating_ip(self, ctxt: context.RequestContext, address: str) -> dict[str, Any]:
        return self._describe(ctxt, db.floating_ip_get_by_address(ctxt, address))

    def get_floating_ips(self, ctxt: context.RequestContext,
                         addresses: list[str] | None = None) -> list[dict[str, Any]]:
        """The project's addresses (every allocated one for an admin), optionally only ``addresses``."""
        if addresses:
            return [self.get_floating_ip(ctxt, a) for a in addresses]
        if ctxt.is_admin:
            rows = [r for r in db.floating_ip_get_all(ctxt) if r["project_id"]]
        else:
            rows = db.floating_ip_get_all_by_project(ctxt, ctxt.project_id)
        return [self._describe(ctxt, r) for r in rows]

    def _describe(self, ctxt: context.RequestContext, row: Any) -> dict[str, Any]:
        fixed_address = instance_id = None
        if row["fixed_ip_id"] is not None:
            fixed = db.fixed_ip_get(ctxt.elevated(), row["fixed_ip_id"])
            fixed_address, instance_id = fixed["address"], fixed["instance_id"]
        return {"address": row["address"], "project_id": row["project_id"], "host": row["host"],
                "fixed_address": fixed_address, "instance_id": instance_id}

    def associate_floating_ip(self, ctxt: context.RequestContext, floating_address: str,
                              fixed_address: str) -> None:
        """Point a project's floating address at one of its instances' fixed addresses."""
        floating = db.floating_ip_get_by_address(ctxt, floating_address)
        if not floating["project_id"]:
            raise exception.FloatingIpNotFound(address=floating_address)
        _rpc().associate_floating_ip(ctxt, floating["host"], floating_address, fixed_address)

    def associate_floating_ip_with_instance(self, ctxt: context.RequestContext, floating_address: str,
                                            instance_id: int) -> None:
        fixed = db.fixed_ip_get_all_by_instance(ctxt, instance_id)
        if not fixed:
            raise exception.FixedIpNotFoundForInstance(instance_id=instance_id)
        self.associate_floating_ip(ctxt, floating_address, fixed[0]["address"])

    def disassociate_floating_ip(self, ctxt: context.RequestContext, floating_address: str) -> None:
        """Unpoint the address; nothing to do when it is not associated."""
        floating = db.floating_ip_get_by_address(ctxt, floating_address)
        if floating["fixed_ip_id"] is None:
            return
        _rpc().disassociate_floating_ip(ctxt, floating["host"], floating_address)

    def release_floating_ip(self, ctxt: context.RequestContext, floating_address: str) -> None:
        """Give the address back to the pool, disassociating it first."""
        floating = db.floating_ip_get_by_address(ctxt, floating_address)
        if not floating["project_id"]:
            raise exception.FloatingIpNotFound(address=floating_address)
        self.disassociate_floating_ip(ctxt, floating_address)
        _rpc().deallocate_floating_ip(ctxt, floating["host"], floating_address)
