"""Elastic IPs: AllocateAddress, ReleaseAddress, AssociateAddress,
DisassociateAddress, DescribeAddresses, over nova-network's floating IPs.

Changing addresses takes netadmin or projectmanager (the first Nova's
Authorizer allowed netadmin); the project scoping and the floating-IP quota
are nova.network.api's.  Addresses are EC2-Classic ("standard") ones.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nova import context, exception
from nova.api.ec2 import ec2utils
from nova.api.ec2.actions import ALL, ActionSet
from nova.api.ec2.params import Ec2Id, Filters, ListOf, Param, String
from nova.network import api as network_api

actions = ActionSet()
ADDRESS_ROLES = ("netadmin", "projectmanager")


class _Address(String):
    """A dotted IPv4 address."""

    def __init__(self) -> None:
        super().__init__(max_length=15, min_length=7)

    def parse(self, node: Any, path: str) -> str:
        value = super().parse(node, path)
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise exception.InvalidInput(reason=f"{path} must be an IPv4 address, not {value!r}") from None


def _api() -> network_api.API:
    return network_api.API()


def _render(address: dict[str, Any]) -> dict[str, Any]:
    instance_id = address["instance_id"]
    return {
        "publicIp": address["address"],
        "domain": "standard",
        "instanceId": ec2utils.id_to_ec2_id(instance_id) if instance_id else None,
        "privateIpAddress": address["fixed_address"],
    }


@actions.register("AllocateAddress", roles=ADDRESS_ROLES, params=[Param("Domain", String(choices=("standard",)))])
def allocate_address(ctxt: context.RequestContext, domain: str | None) -> dict[str, Any]:
    return {"publicIp": _api().allocate_floating_ip(ctxt), "domain": "standard"}


@actions.register("ReleaseAddress", roles=ADDRESS_ROLES, params=[Param("PublicIp", _Address(), required=True)])
def release_address(ctxt: context.RequestContext, public_ip: str) -> bool:
    _api().release_floating_ip(ctxt, public_ip)
    return True


@actions.register("AssociateAddress", roles=ADDRESS_ROLES, params=[
    Param("PublicIp", _Address(), required=True),
    Param("InstanceId", Ec2Id("i"), required=True),
])
def associate_address(ctxt: context.RequestContext, public_ip: str, instance_id: int) -> bool:
    _api().associate_floating_ip_with_instance(ctxt, public_ip, instance_id)
    return True


@actions.register("DisassociateAddress", roles=ADDRESS_ROLES, params=[Param("PublicIp", _Address(), required=True)])
def disassociate_address(ctxt: context.RequestContext, public_ip: str) -> bool:
    _api().disassociate_floating_ip(ctxt, public_ip)
    return True


@actions.register("DescribeAddresses", roles=ALL, params=[
    Param("PublicIp", ListOf(_Address()), default=[]),
    Param("Filter", Filters("public-ip", "instance-id", "domain", "private-ip-address"), dest="filters",
          default={}),
])
def describe_addresses(ctxt: context.RequestContext, public_ip: list[str],
                       filters: dict[str, list[str]]) -> dict[str, Any]:
    rows = [_render(a) for a in _api().get_floating_ips(ctxt, public_ip or None)]
    keys = {"public-ip": "publicIp", "instance-id": "instanceId", "domain": "domain",
            "private-ip-address": "privateIpAddress"}
    for name, wanted in filters.items():
        rows = [r for r in rows if r[keys[name]] in wanted]
    return {"addressesSet": rows}
