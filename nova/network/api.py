"""What the API and compute layers call to get addresses for instances.

The contract other layers rely on:

- ``allocate_for_instance(ctxt, instance_id, host)``: an RPC ``call`` to
  nova-network; returns one dict per NIC with at least ``address``,
  ``mac_address``, ``network_id``, ``bridge``, ``cidr``, ``netmask``,
  ``gateway``, ``dhcp_server`` and ``injected`` (plus ``vlan``, ``label``,
  ``broadcast`` and ``dns``).
- ``deallocate_for_instance(ctxt, instance_id)``: an RPC ``cast`` (kept
  in a durable queue until a nova-network takes it) that releases what was
  allocated; floating IPs are disassociated and stay with the project.

Floating IPs (EC2 AllocateAddress and friends): the role check (netadmin or
projectmanager) is the front end's; the project scoping and the quota are
enforced here and in the manager.  A tenant naming another tenant's address
gets FloatingIpNotFound, exactly as for an address that does not exist.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nova import context, exception, flags
from nova.db import api as db
from nova.network import rpcapi as network_rpcapi
from nova.tag import api as tag_api

FLAGS = flags.FLAGS
FLOATING_IP_RESOURCE_TYPE = "elastic-ip"


def _rpc() -> network_rpcapi.NetworkAPI:
    return network_rpcapi.NetworkAPI()


@dataclasses.dataclass(frozen=True)
class InstanceAddresses:
    """An instance's fixed addresses and the floating addresses that point at them, first ones first."""

    fixed: tuple[str, ...] = ()
    floating: tuple[str, ...] = ()

    @property
    def private_ip(self) -> str | None:
        return self.fixed[0] if self.fixed else None

    @property
    def public_ip(self) -> str | None:
        return self.floating[0] if self.floating else None


class API:
    def allocate_for_instance(self, ctxt: context.RequestContext, instance_id: int, host: str) -> list[dict[str, Any]]:
        return _rpc().allocate_for_instance(ctxt, instance_id, host)

    def deallocate_for_instance(self, ctxt: context.RequestContext, instance_id: int) -> None:
        _rpc().deallocate_for_instance(ctxt, instance_id)

    # -- floating IPs ------------------------------------------------------------

    def allocate_floating_ip(self, ctxt: context.RequestContext, tags: dict[str, str | None] | None = None) -> str:
        """A new address for the caller's project (AddressLimitExceeded past its quota), tagged with ``tags``."""
        if tags:
            for key in tags:
                tag_api.check_key(key)
        address = _rpc().allocate_floating_ip(ctxt, ctxt.project_id)
        if tags:
            tag_api.API().apply(ctxt, FLOATING_IP_RESOURCE_TYPE, db.floating_ip_get_by_address(ctxt, address)["id"],
                                tags)
        return address

    def get_instance_addresses(self, ctxt: context.RequestContext,
                               instance_ids: list[int]) -> dict[int, InstanceAddresses]:
        """The addresses of each of ``instance_ids`` (empty for one without any, or one the
        caller cannot see), in one query whatever their number."""
        fixed: dict[int, list[str]] = {int(i): [] for i in instance_ids}
        floating: dict[int, list[str]] = {int(i): [] for i in instance_ids}
        for instance_id, fixed_address, floating_address in db.fixed_ip_get_addresses_by_instances(
                ctxt, list(fixed)):
            if fixed_address not in fixed[instance_id]:
                fixed[instance_id].append(fixed_address)
            if floating_address is not None:
                floating[instance_id].append(floating_address)
        return {i: InstanceAddresses(tuple(fixed[i]), tuple(floating[i])) for i in fixed}

    def get_instance_nics(self, ctxt: context.RequestContext,
                          instance_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Each instance's addresses with their network label and MAC, in one query whatever
        their number: ``{instance id: [{"label", "address", "mac", "type": "fixed"|"floating"}]}``."""
        nics: dict[int, list[dict[str, Any]]] = {int(i): [] for i in instance_ids}
        seen: set[tuple[int, str]] = set()
        for instance_id, fixed, mac, label, floating in db.fixed_ip_get_nics_by_instances(ctxt, list(nics)):
            label = label or "private"
            if (instance_id, fixed) not in seen:
                seen.add((instance_id, fixed))
                nics[instance_id].append({"label": label, "address": fixed, "mac": mac, "type": "fixed"})
            if floating is not None:
                nics[instance_id].append({"label": label, "address": floating, "mac": mac, "type": "floating"})
        return nics

    def get_networks(self, ctxt: context.RequestContext) -> list[dict[str, Any]]:
        """The fixed networks the caller's instances may be on: the shared (flat) ones and its project's
        own (VLAN), each as ``{"id", "label", "cidr", "project_id"}``, by id."""
        rows = db.network_get_all(ctxt.elevated() if not ctxt.is_admin else ctxt)
        return [{"id": row["id"], "label": row["label"] or "private", "cidr": row["cidr"],
                 "project_id": row["project_id"]}
                for row in rows if ctxt.is_admin or row["project_id"] in (None, ctxt.project_id)]

    def get_floating_ip_by_id(self, ctxt: context.RequestContext, floating_ip_id: Any) -> dict[str, Any]:
        """One of the caller's floating addresses by id; FloatingIpIdNotFound otherwise (also another project's)."""
        for address in self.get_floating_ips(ctxt):
            if str(address["id"]) == str(floating_ip_id):
                return address
        raise exception.FloatingIpIdNotFound(floating_ip_id=str(floating_ip_id)[:40])

    def get_floating_ip(self, ctxt: context.RequestContext, address: str) -> dict[str, Any]:
        return self.get_floating_ips(ctxt, [address])[0]

    def get_floating_ips(self, ctxt: context.RequestContext,
                         addresses: list[str] | None = None) -> list[dict[str, Any]]:
        """The project's addresses (every allocated one for an admin), optionally only ``addresses``.

        One query whatever their number; each is a dict of ``address``,
        ``project_id``, ``host``, ``fixed_address`` and ``instance_id``.
        Naming an address the caller cannot see is FloatingIpNotFound.
        """
        found = {row["address"]: self._describe(row, fixed_address, instance_id)
                 for row, fixed_address, instance_id in db.floating_ip_get_all_with_fixed(ctxt, addresses or None)}
        if not addresses:
            return list(found.values())
        for address in addresses:
            if address not in found:
                raise exception.FloatingIpNotFound(address=address)
        return [found[address] for address in addresses]

    @staticmethod
    def _describe(row: Any, fixed_address: str | None, instance_id: int | None) -> dict[str, Any]:
        return {"id": row["id"], "address": row["address"], "project_id": row["project_id"], "host": row["host"],
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
        tag_api.API().delete_all(ctxt, FLOATING_IP_RESOURCE_TYPE, floating["id"])


tag_api.register_taggable(FLOATING_IP_RESOURCE_TYPE,
                          lambda ctxt, floating_ip_id: API().get_floating_ip_by_id(ctxt, floating_ip_id))
