"""The typed client of nova-network (``NetworkManager``): the only code that builds network messages.

Everything but the release of an instance's addresses and the two dnsmasq
lease notifications is a call that waits at most ``--network_rpc_timeout``
seconds.  Requests any network host may serve
go to ``network``; those that need the host owning a network or a floating
address go to ``network.<host>``.
"""

from __future__ import annotations

from typing import Any

from nova import context as nova_context
from nova import flags
from nova.rpc import proxy

FLAGS = flags.FLAGS

flags.DEFINE_integer("network_rpc_timeout", 60, "Seconds to wait for another network host", lower_bound=1)

Context = nova_context.RequestContext
Nics = list[dict[str, Any]]


class NetworkAPI(proxy.RpcProxy):
    """One method per RPC method of ``nova.network.manager.NetworkManager``; ``host=None`` means any."""

    topic_flag = "network_topic"
    timeout_flag = "network_rpc_timeout"

    def allocate_for_instance(self, ctxt: Context, instance_id: int, host: str | None = None,
                              network_host: str | None = None) -> Nics:
        """``host`` is the compute host of the instance; ``network_host`` the network host to ask."""
        return self.call(ctxt, self.make_msg("allocate_for_instance", instance_id=instance_id, host=host),
                         host=network_host)

    def deallocate_for_instance(self, ctxt: Context, instance_id: int, network_host: str | None = None) -> None:
        """Cast: nothing waits for the answer, and a cast is persistent in a durable queue, so the release
        waits there while no nova-network runs (a call would time out and leave the address held)."""
        self.cast(ctxt, self.make_msg("deallocate_for_instance", instance_id=instance_id), host=network_host)

    def allocate_fixed_ip(self, ctxt: Context, network_host: str, instance_id: int, network_id: int) -> Nics:
        return self.call(ctxt, self.make_msg("allocate_fixed_ip", instance_id=instance_id, network_id=network_id),
                         host=network_host)

    def deallocate_fixed_ip(self, ctxt: Context, network_host: str, address: str) -> None:
        self.call(ctxt, self.make_msg("deallocate_fixed_ip", address=address), host=network_host)

    def lease_fixed_ip(self, ctxt: Context, network_host: str, address: str, mac_address: str) -> None:
        """Cast from nova-dhcpbridge: dnsmasq leased the address."""
        self.cast(ctxt, self.make_msg("lease_fixed_ip", address=address, mac_address=mac_address),
                  host=network_host)

    def release_fixed_ip(self, ctxt: Context, network_host: str, address: str, mac_address: str) -> None:
        """Cast from nova-dhcpbridge: dnsmasq dropped the lease."""
        self.cast(ctxt, self.make_msg("release_fixed_ip", address=address, mac_address=mac_address),
                  host=network_host)

    def get_dhcp_leases(self, ctxt: Context, network_host: str, bridge: str) -> list[str]:
        return self.call(ctxt, self.make_msg("get_dhcp_leases", bridge=bridge), host=network_host)

    def get_instance_nics(self, ctxt: Context, instance_id: int, network_host: str | None = None) -> Nics:
        return self.call(ctxt, self.make_msg("get_instance_nics", instance_id=instance_id), host=network_host)

    def set_network_host(self, ctxt: Context, network_id: int, network_host: str | None = None) -> str:
        return self.call(ctxt, self.make_msg("set_network_host", network_id=network_id), host=network_host)

    def allocate_floating_ip(self, ctxt: Context, project_id: str, network_host: str | None = None) -> str:
        return self.call(ctxt, self.make_msg("allocate_floating_ip", project_id=project_id), host=network_host)

    def associate_floating_ip(self, ctxt: Context, network_host: str, floating_address: str,
                              fixed_address: str) -> None:
        self.call(ctxt, self.make_msg("associate_floating_ip", floating_address=floating_address,
                                      fixed_address=fixed_address), host=network_host)

    def disassociate_floating_ip(self, ctxt: Context, network_host: str, floating_address: str) -> None:
        self.call(ctxt, self.make_msg("disassociate_floating_ip", floating_address=floating_address),
                  host=network_host)

    def deallocate_floating_ip(self, ctxt: Context, network_host: str, floating_address: str) -> None:
        self.call(ctxt, self.make_msg("deallocate_floating_ip", floating_address=floating_address),
                  host=network_host)
