"""A network namespace for a one-machine cloud, joined to this one by a veth.

nova-combined's ``--combined_netns`` keeps the cloud's network (FlatDHCP's
bridge, dnsmasq, NAT, floating IPs) and the guests' libvirtd in a namespace
of their own, so the machine's own interfaces and firewall are left alone.
A veth joins it to the namespace nova-combined runs in: the near end gets the
first address of ``--combined_link_range`` (the metadata server listens
there, and tgtd), the far end the second (the next hop of the routes to the
fixed and floating ranges).  Everything is made when missing and reused when
present, so a restart finds the namespace as it left it.

Commands run before ``--netns`` is set (they act on this namespace unless
they name the other).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Iterable

from nova import exception, utils

FAR_DEVICE = "link0"  # the veth's end inside the namespace


@dataclass(frozen=True)
class Link:
    netns: str
    near_device: str
    near_ip: str
    far_ip: str
    prefixlen: int

    far_device: str = FAR_DEVICE


def near_device(netns: str) -> str:
    """The veth's end in this namespace (interface names are 15 characters at most)."""
    return f"{netns[:10]}-link"


def addresses(link_range: str) -> tuple[str, str, int]:
    """The near and far addresses of ``link_range`` (its first two hosts) and its prefix length."""
    network = ipaddress.ip_network(link_range, strict=False)
    hosts = list(network.hosts())
    if len(hosts) < 2:
        raise ValueError(f"{link_range} has fewer than two host addresses")
    return str(hosts[0]), str(hosts[1]), network.prefixlen


def exists(netns: str) -> bool:
    return os.path.exists(f"/run/netns/{netns}")


def _in(netns: str, *cmd: str, **kwargs) -> tuple[str, str]:
    return utils.execute("ip", "netns", "exec", netns, *cmd, **kwargs)


def ensure(netns: str, link_range: str, routes: Iterable[str]) -> Link:
    """The namespace, the veth with its addresses, and routes to ``routes`` (CIDRs) through it."""
    try:
        near_ip, far_ip, prefixlen = addresses(link_range)
    except ValueError as exc:
        raise exception.CombinedNetnsError(netns=netns, reason=f"bad --combined_link_range: {exc}") from None
    link = Link(netns, near_device(netns), near_ip, far_ip, prefixlen)
    try:
        if not exists(netns):
            utils.execute("ip", "netns", "add", netns)
        _in(netns, "ip", "link", "set", "lo", "up")
        if not os.path.exists(f"/sys/class/net/{link.near_device}"):
            utils.execute("ip", "link", "add", link.near_device, "type", "veth", "peer", "name", FAR_DEVICE,
                          "netns", netns)
        utils.execute("ip", "addr", "replace", f"{near_ip}/{prefixlen}", "dev", link.near_device)
        utils.execute("ip", "link", "set", link.near_device, "up")
        _in(netns, "ip", "addr", "replace", f"{far_ip}/{prefixlen}", "dev", FAR_DEVICE)
        _in(netns, "ip", "link", "set", FAR_DEVICE, "up")
        for cidr in routes:
            shown, _ = utils.execute("ip", "-4", "route", "show", "exact", cidr)
            if shown.strip() and f"dev {link.near_device}" not in shown:
                raise exception.CombinedNetnsError(
                    netns=netns, reason=f"this machine already routes {cidr} ({shown.strip()}); choose other "
                                        "ranges (--fixed_range, --combined_floating_range)")
            utils.execute("ip", "route", "replace", cidr, "via", far_ip, "dev", link.near_device)
    except exception.ProcessExecutionError as exc:
        raise exception.CombinedNetnsError(netns=netns, reason=f"{exc.cmd}: {exc.stderr.strip()}") from None
    return link


def remove(netns: str) -> None:
    """Delete the namespace; its veth (both ends) and the routes through it go with it."""
    if exists(netns):
        utils.execute("ip", "netns", "delete", netns, check_exit_code=False)
