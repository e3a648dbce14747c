"""nova-dhcpbridge: dnsmasq's ``--dhcp-script``.

dnsmasq runs ``nova-dhcpbridge add|old|del MAC IP [HOSTNAME]`` when a lease
changes and, because nova starts it with ``--leasefile-ro``, ``nova-dhcpbridge
init`` at start to learn the current leases.  ``add``/``old`` become a
``lease_fixed_ip`` cast and ``del`` a ``release_fixed_ip`` cast to this
host's nova-network (``network.<host>``); with ``--fake_rabbit`` (one
process only, so no one would hear a cast) the manager is called directly.
The flagfile comes from ``$FLAGFILE``, which nova-network sets for dnsmasq,
and the bridge from ``$DNSMASQ_INTERFACE``.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Sequence

from nova import context, exception, flags, rpc, utils
from nova.cmd import common
from nova.network import rpcapi as network_rpcapi

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

USAGE = "usage: nova-dhcpbridge add|old|del MAC IP [HOSTNAME] | init"
ACTIONS = {"add": "lease_fixed_ip", "old": "lease_fixed_ip", "del": "release_fixed_ip"}


def _argv(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    flagfile = os.environ.get("FLAGFILE")
    if flagfile and not any(a.startswith("--flagfile") for a in argv[1:]):
        argv.insert(1, f"--flagfile={flagfile}")
    return argv


def _manager() -> object:
    return utils.import_class(FLAGS.network_manager)(host=FLAGS.host)


def run(args: list[str]) -> int:
    """Handle one dnsmasq invocation; returns the exit status."""
    if not args or args[0] not in (*ACTIONS, "init"):
        print(USAGE, file=sys.stderr)
        return 2
    ctxt = context.get_admin_context()
    if args[0] == "init":
        bridge = os.environ.get("DNSMASQ_INTERFACE", "")
        try:
            for line in _manager().get_dhcp_leases(ctxt, bridge):
                print(line)
        except exception.NotFound:
            LOG.warning("No network uses bridge %r; reporting no leases", bridge)
        return 0
    if len(args) < 3:
        print(USAGE, file=sys.stderr)
        return 2
    action, mac, address = args[0], args[1], args[2]
    method = ACTIONS[action]
    LOG.info("dnsmasq %s %s %s: %s", action, mac, address, method)
    if FLAGS.fake_rabbit:
        getattr(_manager(), method)(ctxt, address=address, mac_address=mac)
    else:
        getattr(network_rpcapi.NetworkAPI(), method)(ctxt, FLAGS.host, address=address, mac_address=mac)
    return 0


def main() -> int:
    binary, args = common.init(_argv(sys.argv), "nova-dhcpbridge")
    try:
        return run(args)
    except exception.NovaException as exc:
        common.die(binary, str(exc))
    finally:
        rpc.cleanup()
