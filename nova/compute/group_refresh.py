"""Telling compute hosts that a security group changed.

A group's rules changed: the hosts running its instances rebuild their
rules.  A group's members changed (an instance got or lost its address):
the hosts whose instances' rules name that group as a source rebuild them.
compute.API and ComputeManager both need this; the hosts come from one
query each, the casts from ``nova.compute.rpcapi``.
"""

from __future__ import annotations

from nova import context as nova_context
from nova.compute import rpcapi as compute_rpcapi
from nova.db import api as db

Context = nova_context.RequestContext


def refresh_rules(ctxt: Context, security_group_id: int) -> list[str]:
    """Cast the rule refresh to every host running one of the group's instances; returns the hosts."""
    rpc_api = compute_rpcapi.ComputeAPI()
    hosts = db.security_group_hosts(ctxt.elevated(), security_group_id)
    for host in hosts:
        rpc_api.refresh_security_group_rules(ctxt, host, security_group_id)
    return hosts


def refresh_members(ctxt: Context, group_ids: list[int],
                    grantee_hosts: dict[int, list[str]] | None = None) -> list[str]:
    """Cast the member refresh of each group to the hosts whose instances' rules grant it; the hosts.

    ``grantee_hosts``: ``security_group_grantee_hosts(group_ids)`` as the caller read it already.
    """
    rpc_api = compute_rpcapi.ComputeAPI()
    every: set[str] = set()
    if grantee_hosts is None:
        grantee_hosts = db.security_group_grantee_hosts(ctxt.elevated(), list(group_ids))
    for group_id, hosts in grantee_hosts.items():
        for host in hosts:
            rpc_api.refresh_security_group_members(ctxt, host, group_id)
        every.update(hosts)
    return sorted(every)
