"""nova-network's managers: the three strategies of the first Nova.

``--network_manager`` picks one of FlatManager, FlatDHCPManager and
VlanManager; nova-api and nova-compute load the same class to call parts of
it in process (``setup_compute_network``).

A network is served by one nova-network host: the first one asked to
allocate an address in it claims it (``network_set_host``), sets up its
bridge, dnsmasq and NAT, and every later allocation is sent to it.
Floating IPs live on the host whose pool they were created in; that host
binds them and keeps their NAT rules.
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import logging
import random
from typing import Any

from nova import context, exception, flags, manager, quota, utils
from nova.network import linux_net
from nova.network import rpcapi as network_rpcapi

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_string("fixed_range", "10.0.0.0/8", "Range of every fixed network (SNAT source)")
flags.DEFINE_integer("num_networks", 1, "Networks nova-manage network create makes by default", lower_bound=1)
flags.DEFINE_integer("network_size", 256, "Addresses per network by default", lower_bound=4)
flags.DEFINE_integer("vlan_start", 100, "First VLAN id for VlanManager networks", lower_bound=1)
flags.DEFINE_integer("vpn_start", 1000, "First VPN port of VlanManager networks", lower_bound=1)
flags.DEFINE_string("vpn_ip", "$my_ip", "Public address of the project VPNs")
flags.DEFINE_integer("cnt_vpn_clients", 0, "Addresses kept free at the top of each VLAN network", lower_bound=0)
flags.DEFINE_string("flat_network_bridge", "br100", "Bridge of the flat network")
flags.DEFINE_string("flat_network_dns", "8.8.4.4", "DNS server of the flat network")
flags.DEFINE_boolean("flat_injected", True, "FlatManager injects the address into the image")
flags.DEFINE_string("flat_interface", None, "Interface FlatDHCPManager adds to the flat bridge")
flags.DEFINE_string("floating_range", "4.4.4.0/24", "Default range of nova-manage floating create")
flags.DEFINE_integer("fixed_ip_disassociate_timeout", 600,
                     "Seconds before an unallocated, unleased fixed IP returns to the pool", lower_bound=0)

MAC_PREFIX = (0x02, 0x16, 0x3E)


def generate_mac() -> str:
    """A random locally administered MAC in the first Nova's 02:16:3e prefix."""
    tail = [random.randint(0x00, 0x7F), random.randint(0x00, 0xFF), random.randint(0x00, 0xFF)]
    return ":".join(f"{b:02x}" for b in (*MAC_PREFIX, *tail))


def metadata_port() -> int:
    """Where nova-api serves metadata: --metadata_port, or the EC2 port when that is 0."""
    return FLAGS["metadata_port"].value or FLAGS.ec2_port if "metadata_port" in FLAGS else FLAGS.ec2_port


def _admin(ctxt: context.RequestContext) -> context.RequestContext:
    return ctxt if ctxt.is_admin else ctxt.elevated()


class NetworkManager(manager.SchedulerDependentManager):
    """Fixed and floating addresses common to every strategy."""

    service_name = "network"
    # setup_compute_network runs in process on the compute host; a periodic task is no request.
    rpc_hidden = manager.SchedulerDependentManager.rpc_hidden | frozenset(
        {"create_networks", "setup_compute_network", "disassociate_stale_fixed_ips"})
    dhcp = False
    timeout_fixed_ips = True
    # The flat strategies give every instance the same network: once it has a host, its row is
    # remembered instead of read for each allocation (VlanManager's depends on the instance's project).
    remembers_network = True
    _remembered_network: Any = None

    # -- start-up and network hosting -------------------------------------

    def init_host(self) -> None:
        """Default NAT, then every network and floating IP this host serves (after a restart too)."""
        ctxt = context.get_admin_context()
        linux_net.init_host(FLAGS.fixed_range, FLAGS.routing_source_ip, FLAGS.ec2_dmz_host)
        for network in self.db.network_get_all_by_host(ctxt, self.host):
            self._on_set_network_host(ctxt, network)
        for floating in self.db.floating_ip_get_all_by_host(ctxt, self.host):
            if floating["fixed_ip_id"] is not None:
                fixed = self.db.fixed_ip_get(ctxt, floating["fixed_ip_id"])
                linux_net.bind_floating_ip(floating["address"])
                linux_net.ensure_floating_forward(floating["address"], fixed["address"])

    def set_network_host(self, ctxt: context.RequestContext, network_id: int) -> str:
        """Claim the network for this host unless one has it; returns its host."""
        admin = _admin(ctxt)
        host = self.db.network_set_host(admin, network_id, self.host)
        if host == self.host:
            self._on_set_network_host(admin, self.db.network_get(admin, network_id))
        return host

    def _network_host(self, ctxt: context.RequestContext, network: Any) -> str:
        return network["host"] or self.set_network_host(ctxt, network["id"])

    def _on_set_network_host(self, ctxt: context.RequestContext, network: Any) -> None:
        """Set up what the network needs on its host (nothing for FlatManager)."""

    def setup_compute_network(self, ctxt: context.RequestContext, instance_id: int) -> None:
        """Called in process by nova-compute before a spawn: make the bridges its instances plug into.

        Only bridges and VLAN interfaces: no address, no dnsmasq, no iptables
        rule (those are the network host's; the compute host's firewall is its
        driver's).  FlatManager's bridge exists already, so nothing happens.
        """

    def _network_for_instance(self, ctxt: context.RequestContext, instance_id: int) -> Any:
        """The network the instance gets its address in (the flat strategies need no instance row)."""
        networks = self.db.network_get_unassociated(ctxt)
        if not networks:
            raise exception.NoNetworksFound()
        return networks[0]

    # -- fixed IPs -----------------------------------------------------------

    def allocate_for_instance(self, ctxt: context.RequestContext, instance_id: int,
                              host: str | None = None) -> list[dict[str, Any]]:
        """Give the instance a fixed IP on its network; returns its NICs.

        A remembered network that has no free address left is read again
        once: it may have been deleted (its addresses with it) since.
        """
        admin = _admin(ctxt)
        remembered = self._remembered_network
        network = remembered if remembered is not None else self._network_for_instance(admin, instance_id)
        network_host = self._network_host(admin, network)
        if self.remembers_network and remembered is None:
            network.host = network_host  # as the database has it now (set just now if it had none)
            self._remembered_network = network
        if network_host != self.host:
            return network_rpcapi.NetworkAPI().allocate_fixed_ip(ctxt, network_host, instance_id, network["id"])
        try:
            return self._allocate_fixed_ip(admin, instance_id, network)
        except exception.NoMoreFixedIps:
            if remembered is None:
                raise
            self._remembered_network = None
            return self.allocate_for_instance(ctxt, instance_id, host)

    def allocate_fixed_ip(self, ctxt: context.RequestContext, instance_id: int,
                          network_id: int) -> list[dict[str, Any]]:
        """On the network's host: take a free address with a unique MAC, tell dnsmasq.

        Idempotent: RPC delivers a message again when the broker connection
        broke before its ack, and the instance keeps the address it got then.
        """
        admin = _admin(ctxt)
        return self._allocate_fixed_ip(admin, instance_id, self.db.network_get(admin, network_id))

    def _allocate_fixed_ip(self, admin: context.RequestContext, instance_id: int,
                           network: Any) -> list[dict[str, Any]]:
        """allocate_fixed_ip with the network row the caller has read already.

        The address the instance holds, or a claimed one (and the instance's
        MAC when it has none), comes from one database transaction; an
        instance deleted meanwhile raises InstanceNotFound and claims nothing.
        """
        network_id = network["id"]
        for _attempt in range(10):
            try:
                fixed, held = self.db.fixed_ip_allocate_for_instance(admin, network_id, instance_id,
                                                                     generate_mac())
                break
            except exception.MacAddressInUse:
                continue
        else:
            raise exception.DatabaseError(reason="could not find an unused MAC address")
        if held:
            LOG.info("Instance %s already holds %s on network %s (the request came again)", instance_id,
                     fixed["address"], network_id)
            return [self._nic(network, fixed)]
        LOG.info("Allocated %s (%s) to instance %s", fixed["address"], fixed["mac_address"], instance_id)
        if self.dhcp:
            self._update_dhcp(admin, network)
        return [self._nic(network, fixed)]

    def get_instance_nics(self, ctxt: context.RequestContext, instance_id: int) -> list[dict[str, Any]]:
        """The NICs of an instance as allocate_for_instance returned them."""
        admin = _admin(ctxt)
        nics = []
        for fixed in self.db.fixed_ip_get_all_by_instance(admin, instance_id):
            nics.append(self._nic(self.db.network_get(admin, fixed["network_id"]), fixed))
        return nics

    def _nic(self, network: Any, fixed: Any) -> dict[str, Any]:
        return {
            "address": fixed["address"],
            "mac_address": fixed["mac_address"],
            "network_id": network["id"],
            "label": network["label"],
            "bridge": network["bridge"],
            "vlan": network["vlan"],
            "cidr": network["cidr"],
            "netmask": network["netmask"],
            "gateway": network["gateway"],
            "broadcast": network["broadcast"],
            "dns": network["dns"],
            "dhcp_server": network["gateway"] if self.dhcp else None,
            "injected": bool(network["injected"]),
        }

    def deallocate_for_instance(self, ctxt: context.RequestContext, instance_id: int) -> None:
        """Release the instance's addresses: floating IPs are disassociated (kept by the project)."""
        admin = _admin(ctxt)
        # Addresses, their networks' hosts and their floating IPs: one statement.
        for fixed in self.db.fixed_ip_get_releases_by_instance(admin, instance_id):
            for address, host in fixed["floating"]:
                self._disassociate_on_floating_host(ctxt, {"address": address, "host": host})
            if fixed["network_host"] and fixed["network_host"] != self.host:
                network_rpcapi.NetworkAPI().deallocate_fixed_ip(ctxt, fixed["network_host"], fixed["address"])
            else:
                self.deallocate_fixed_ip(ctxt, fixed["address"])

    def deallocate_fixed_ip(self, ctxt: context.RequestContext, address: str) -> None:
        """On the network's host: mark the address unallocated; without DHCP it is free at once.

        With DHCP the instance's hosts entry goes and dnsmasq is told to
        drop the lease (``dhcp_release``), whose ``del`` frees the address;
        the periodic timeout catches a lease that never comes back.
        """
        admin = _admin(ctxt)
        if not self.dhcp:
            self.db.fixed_ip_disassociate(admin, address)  # unallocated and free in one update
            LOG.info("Deallocated %s", address)
            return
        fixed = self.db.fixed_ip_update(admin, address, {"allocated": False})
        LOG.info("Deallocated %s", address)
        network = self.db.network_get(admin, fixed["network_id"])
        self._update_dhcp(admin, network)
        if fixed["mac_address"]:
            linux_net.release_dhcp(network["bridge"], address, fixed["mac_address"])

    def lease_fixed_ip(self, ctxt: context.RequestContext, address: str, mac_address: str) -> None:
        """dnsmasq handed the address out (nova-dhcpbridge ``add``/``old``)."""
        admin = _admin(ctxt)
        fixed = self.db.fixed_ip_get_by_address(admin, address)
        if fixed["instance_id"] is None:
            LOG.warning("IP %s leased to %s but not associated with an instance", address, mac_address)
            return
        if (fixed["mac_address"] or "").lower() != mac_address.lower():
            LOG.warning("IP %s leased to %s, but it belongs to %s", address, mac_address, fixed["mac_address"])
            return
        if not fixed["allocated"]:
            LOG.warning("IP %s leased but no longer allocated", address)
        self.db.fixed_ip_update(admin, address, {"leased": True})
        LOG.info("Leased %s to %s", address, mac_address)

    def release_fixed_ip(self, ctxt: context.RequestContext, address: str, mac_address: str) -> None:
        """dnsmasq dropped the lease (``del``): the address is free once deallocated."""
        admin = _admin(ctxt)
        fixed = self.db.fixed_ip_get_by_address(admin, address)
        if fixed["instance_id"] is None:
            LOG.warning("IP %s released from %s but not associated", address, mac_address)
            return
        if (fixed["mac_address"] or "").lower() != mac_address.lower():
            LOG.warning("IP %s released from %s, but it belongs to %s", address, mac_address, fixed["mac_address"])
            return
        self.db.fixed_ip_update(admin, address, {"leased": False})
        if not fixed["allocated"]:
            self.db.fixed_ip_disassociate(admin, address)
        LOG.info("Released %s from %s", address, mac_address)

    def get_dhcp_leases(self, ctxt: context.RequestContext, bridge: str) -> list[str]:
        """Lease lines (``expiry mac ip hostname *``) dnsmasq asks for at start."""
        admin = _admin(ctxt)
        network = self.db.network_get_by_bridge(admin, bridge)
        expiry = int(utils.utcnow().replace(tzinfo=datetime.timezone.utc).timestamp()) + FLAGS.dhcp_lease_time
        lines = []
        for mac, hostname, address in self._dhcp_hosts(admin, network):
            fixed = self.db.fixed_ip_get_by_address(admin, address)
            if fixed["leased"]:
                lines.append(f"{expiry} {mac} {address} {hostname} *")
        return lines

    def _dhcp_hosts(self, ctxt: context.RequestContext, network: Any) -> list[tuple[str, str, str]]:
        hosts = []
        for fixed in self.db.fixed_ip_get_all_by_network(ctxt, network["id"]):
            if fixed["instance_id"] is None or not fixed["allocated"] or not fixed["mac_address"]:
                continue
            try:
                instance = self.db.instance_get(ctxt, fixed["instance_id"])
            except exception.InstanceNotFound:
                continue
            hosts.append((fixed["mac_address"], instance["hostname"] or instance["name"], fixed["address"]))
        return hosts

    def _update_dhcp(self, ctxt: context.RequestContext, network: Any) -> None:
        linux_net.update_dhcp(dict(network.items()), lambda: self._dhcp_hosts(ctxt, network))

    @manager.periodic_task
    def disassociate_stale_fixed_ips(self, ctxt: context.RequestContext) -> None:
        """Free addresses unallocated and unleased for --fixed_ip_disassociate_timeout."""
        if not self.timeout_fixed_ips:
            return
        before = utils.utcnow() - datetime.timedelta(seconds=FLAGS.fixed_ip_disassociate_timeout)
        count = self.db.fixed_ip_disassociate_all_by_timeout(_admin(ctxt), self.host, before)
        if count:
            LOG.info("Disassociated %s stale fixed IPs", count)

    # -- floating IPs --------------------------------------------------------

    def allocate_floating_ip(self, ctxt: context.RequestContext, project_id: str) -> str:
        """Give the project an address of this host's pool, within its quota."""
        limit = quota.get_project_quotas(_admin(ctxt), project_id)["floating_ips"]
        limit = None if limit == quota.UNLIMITED else limit
        floating = self.db.floating_ip_allocate_address(ctxt, self.host, project_id, limit)
        if limit is not None and self.db.floating_ip_count_by_project(_admin(ctxt), project_id) > limit:
            # Only when the project has no row to lock can two claims race past the count.
            self.db.floating_ip_deallocate(ctxt, floating["address"])
            raise exception.AddressLimitExceeded(limit=limit)
        LOG.info("Allocated floating IP %s to project %s", floating["address"], project_id)
        return floating["address"]

    def associate_floating_ip(self, ctxt: context.RequestContext, floating_address: str,
                              fixed_address: str) -> None:
        """On the address's host: point it at the fixed IP, bind it, DNAT/SNAT."""
        previous = self.db.floating_ip_disassociate(ctxt, floating_address)
        if previous:
            linux_net.remove_floating_forward(floating_address, previous)
        self.db.floating_ip_fixed_ip_associate(ctxt, floating_address, fixed_address)
        linux_net.bind_floating_ip(floating_address)
        linux_net.ensure_floating_forward(floating_address, fixed_address)
        LOG.info("Associated %s with %s", floating_address, fixed_address)

    def disassociate_floating_ip(self, ctxt: context.RequestContext, floating_address: str) -> None:
        """On the address's host: unbind it and drop its NAT rules."""
        fixed_address = self.db.floating_ip_disassociate(ctxt, floating_address)
        linux_net.unbind_floating_ip(floating_address)
        if fixed_address:
            linux_net.remove_floating_forward(floating_address, fixed_address)
        LOG.info("Disassociated %s from %s", floating_address, fixed_address)

    def deallocate_floating_ip(self, ctxt: context.RequestContext, floating_address: str) -> None:
        self.db.floating_ip_deallocate(ctxt, floating_address)
        LOG.info("Released floating IP %s", floating_address)

    def _disassociate_on_floating_host(self, ctxt: context.RequestContext, floating: Any) -> None:
        if floating["host"] == self.host:
            self.disassociate_floating_ip(ctxt, floating["address"])
        else:
            network_rpcapi.NetworkAPI().disassociate_floating_ip(ctxt, floating["host"], floating["address"])

    # -- operator: nova-manage network create --------------------------------

    def create_networks(self, ctxt: context.RequestContext, cidr: str, num_networks: int, network_size: int,
                        vlan_start: int | None = None, vpn_start: int | None = None,
                        label: str | None = None) -> list[Any]:
        """Split ``cidr`` into ``num_networks`` networks of ``network_size`` addresses, with their fixed IPs."""
        try:
            whole = ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise exception.InvalidInput(reason=f"bad cidr {cidr!r}: {exc}") from None
        if whole.version != 4:
            raise exception.InvalidInput(reason="only IPv4 networks are supported")
        if network_size < 4 or network_size & (network_size - 1):
            raise exception.InvalidInput(reason=f"network_size must be a power of two >= 4, not {network_size}")
        prefix = 32 - (network_size.bit_length() - 1)
        if prefix < whole.prefixlen:
            raise exception.InvalidInput(reason=f"{cidr} is smaller than one network of {network_size} addresses")
        available = 1 << (prefix - whole.prefixlen)  # counted, not listed: a /8 holds a million /28s
        if num_networks > available:
            raise exception.InvalidInput(
                reason=f"{cidr} holds only {available} networks of {network_size} addresses")
        created = []
        for index, subnet in enumerate(itertools.islice(whole.subnets(new_prefix=prefix), num_networks)):
            values = self._network_values(index, subnet, vlan_start, vpn_start)
            values["label"] = f"{label}_{index}" if label and num_networks > 1 else (label or f"net{index}")
            network = self.db.network_create_safe(ctxt, values)
            self.db.fixed_ip_bulk_create(ctxt, [
                {"address": str(address), "network_id": network["id"],
                 "reserved": str(address) in self._reserved_addresses(subnet, values)}
                for address in subnet])
            created.append(network)
        return created

    def _network_values(self, index: int, subnet: ipaddress.IPv4Network, vlan_start: int | None,
                        vpn_start: int | None) -> dict[str, Any]:
        hosts = list(subnet)
        return {
            "cidr": str(subnet),
            "netmask": str(subnet.netmask),
            "gateway": str(hosts[1]),
            "broadcast": str(subnet.broadcast_address),
            "dhcp_start": str(hosts[2]),
            "bridge": FLAGS.flat_network_bridge,
            "bridge_interface": FLAGS.flat_interface,
            "dns": FLAGS.flat_network_dns,
            "injected": False,
        }

    def _reserved_addresses(self, subnet: ipaddress.IPv4Network, values: dict[str, Any]) -> set[str]:
        """Network, gateway and broadcast addresses are never handed out."""
        return {str(subnet.network_address), values["gateway"], str(subnet.broadcast_address)}


class FlatManager(NetworkManager):
    """One network on a pre-existing bridge; addresses injected, no DHCP.

    Floating IPs work here too (the first Nova left them unimplemented).
    """

    timeout_fixed_ips = False

    def _network_values(self, index: int, subnet: ipaddress.IPv4Network, vlan_start: int | None,
                        vpn_start: int | None) -> dict[str, Any]:
        values = super()._network_values(index, subnet, vlan_start, vpn_start)
        values["injected"] = FLAGS.flat_injected
        return values


class FlatDHCPManager(FlatManager):
    """One network whose bridge (with --flat_interface) and dnsmasq the network host runs."""

    dhcp = True
    timeout_fixed_ips = True

    def init_host(self) -> None:
        super().init_host()
        linux_net.metadata_forward(FLAGS.ec2_dmz_host, metadata_port())

    def _network_values(self, index: int, subnet: ipaddress.IPv4Network, vlan_start: int | None,
                        vpn_start: int | None) -> dict[str, Any]:
        values = super()._network_values(index, subnet, vlan_start, vpn_start)
        values["injected"] = False
        return values

    def _on_set_network_host(self, ctxt: context.RequestContext, network: Any) -> None:
        linux_net.ensure_bridge(network["bridge"], network["bridge_interface"] or FLAGS.flat_interface,
                                dict(network.items()))
        self._update_dhcp(ctxt, network)

    def setup_compute_network(self, ctxt: context.RequestContext, instance_id: int) -> None:
        for nic in self.get_instance_nics(ctxt, instance_id):
            linux_net.ensure_bridge(nic["bridge"], FLAGS.flat_interface)


class VlanManager(NetworkManager):
    """One network per project, bound at first use: VLAN ``vlan_start+i``,
    bridge ``br<vlan>``, gateway .1, VPN .2, DHCP from .3, its own dnsmasq."""

    dhcp = True
    remembers_network = False

    def init_host(self) -> None:
        super().init_host()
        linux_net.metadata_forward(FLAGS.ec2_dmz_host, metadata_port())

    def _network_for_instance(self, ctxt: context.RequestContext, instance_id: int) -> Any:
        return self.db.project_get_network(ctxt, self.db.instance_get_for_host(ctxt, instance_id)["project_id"])

    def _network_values(self, index: int, subnet: ipaddress.IPv4Network, vlan_start: int | None,
                        vpn_start: int | None) -> dict[str, Any]:
        values = super()._network_values(index, subnet, vlan_start, vpn_start)
        hosts = list(subnet)
        vlan = (vlan_start or FLAGS.vlan_start) + index
        if vlan > 4094:
            raise exception.InvalidInput(reason=f"VLAN id {vlan} is above 4094")
        values.update({
            "vlan": vlan,
            "bridge": f"br{vlan}",
            "bridge_interface": FLAGS.vlan_interface,
            "vpn_private_address": str(hosts[2]),
            "dhcp_start": str(hosts[3]),
            "vpn_public_address": FLAGS.vpn_ip,
            "vpn_public_port": (vpn_start or FLAGS.vpn_start) + index,
        })
        return values

    def _reserved_addresses(self, subnet: ipaddress.IPv4Network, values: dict[str, Any]) -> set[str]:
        reserved = super()._reserved_addresses(subnet, values) | {values["vpn_private_address"]}
        top = list(subnet)[-1 - FLAGS.cnt_vpn_clients:-1] if FLAGS.cnt_vpn_clients else []
        return reserved | {str(a) for a in top}

    def _on_set_network_host(self, ctxt: context.RequestContext, network: Any) -> None:
        linux_net.ensure_vlan_bridge(network["vlan"], network["bridge"], dict(network.items()),
                                     network["bridge_interface"])
        self._update_dhcp(ctxt, network)

    def setup_compute_network(self, ctxt: context.RequestContext, instance_id: int) -> None:
        for nic in self.get_instance_nics(ctxt, instance_id):
            linux_net.ensure_vlan_bridge(nic["vlan"], nic["bridge"])
