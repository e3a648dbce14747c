"""Elastic IPs: AllocateAddress, ReleaseAddress, AssociateAddress,
DisassociateAddress, DescribeAddresses, over nova-network's floating IPs.

Changing addresses takes netadmin or projectmanager (the first Nova's
Authorizer allowed netadmin); the project scoping and the floating-IP quota
are nova.network.api's.  Addresses are EC2-Classic ("standard") ones; each
also shows an ``allocationId`` (``eipalloc-``, the address's id) by which it
is tagged (resource type ``elastic-ip``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nova import context, exception, gc_pause
from nova.api.ec2 import ec2utils, xmlutil
from nova.api.ec2.actions import ALL, ActionSet
from nova.api.ec2.cloud import tags as tagging
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


def _render(address: dict[str, Any], tags: dict[str, Any]) -> dict[str, Any]:
    instance_id = address["instance_id"]
    return {
        "publicIp": address["address"],
        "allocationId": ec2utils.id_to_ec2_id(address["id"], "eipalloc"),
        "domain": "standard",
        "instanceId": ec2utils.id_to_ec2_id(instance_id) if instance_id else None,
        "privateIpAddress": address["fixed_address"],
        "tagSet": [{"key": k, "value": v or ""} for k, v in sorted(tags.items())],
    }


@actions.register("AllocateAddress", roles=ADDRESS_ROLES, params=[
    Param("Domain", String(choices=("standard",))),
    Param("TagSpecification", tagging.TAG_SPECIFICATIONS, default=[], dest="tag_specifications"),
])
def allocate_address(ctxt: context.RequestContext, domain: str | None,
                     tag_specifications: list[dict[str, Any]]) -> dict[str, Any]:
    address = _api().allocate_floating_ip(ctxt, tags=tagging.tags_for(tag_specifications,
                                                                      network_api.FLOATING_IP_RESOURCE_TYPE))
    [row] = _api().get_floating_ips(ctxt, [address])
    return {"publicIp": address, "domain": "standard",
            "allocationId": ec2utils.id_to_ec2_id(row["id"], "eipalloc")}


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


_FILTER_VALUES = {
    "public-ip": lambda r: [r["publicIp"]], "instance-id": lambda r: [r["instanceId"]],
    "domain": lambda r: [r["domain"]], "private-ip-address": lambda r: [r["privateIpAddress"]],
    "allocation-id": lambda r: [r["allocationId"]],
}


@actions.register("DescribeAddresses", roles=ALL, params=[
    Param("PublicIp", ListOf(_Address()), default=[]),
    Param("AllocationId", ListOf(Ec2Id("eipalloc")), default=[]),
    Param("Filter", Filters(*_FILTER_VALUES, "tag:"), dest="filters", default={}),
])
def describe_addresses(ctxt: context.RequestContext, public_ip: list[str], allocation_id: list[int],
                       filters: dict[str, list[str]]) -> dict[str, Any]:
    found = _api().get_floating_ips(ctxt, public_ip or None)
    if allocation_id:
        by_id = {a["id"]: a for a in found}
        found = [by_id.get(i) or _api().get_floating_ip_by_id(ctxt, i) for i in dict.fromkeys(allocation_id)]
    tags = tagging.get_by_resources(ctxt, network_api.FLOATING_IP_RESOURCE_TYPE, [a["id"] for a in found])
    with gc_pause.collection_paused():
        rows = [_render(a, tags.get(a["id"], {})) for a in found]
        if filters:
            rows = [r for r, a in zip(rows, found)
                    if tagging.matches(filters, _FILTER_VALUES, r, tags.get(a["id"], {}))]
        return {"addressesSet": xmlutil.items(rows)}
