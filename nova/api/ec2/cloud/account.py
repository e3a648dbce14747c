"""DescribeAccountAttributes: what the caller's account (project) may do.

This cloud is EC2-Classic: ``supported-platforms`` is ``EC2`` and
``default-vpc`` is ``none``.  ``max-instances`` and ``max-elastic-ips`` are
the project's instance and floating-ip quotas (``-1`` when unlimited); the
VPC limits are 0, as there are no VPCs.
"""

from __future__ import annotations

from typing import Any, Callable

from nova import context, quota_sets
from nova.api.ec2.actions import ALL, ActionSet
from nova.api.ec2.params import ListOf, Param, String

actions = ActionSet()

_ATTRIBUTES: dict[str, Callable[[dict[str, int]], list[str]]] = {
    "supported-platforms": lambda quotas: ["EC2"],
    "default-vpc": lambda quotas: ["none"],
    "max-instances": lambda quotas: [str(quotas["instances"])],
    "max-elastic-ips": lambda quotas: [str(quotas["floating_ips"])],
    "vpc-max-elastic-ips": lambda quotas: ["0"],
    "vpc-max-security-groups-per-interface": lambda quotas: ["0"],
}


@actions.register("DescribeAccountAttributes", roles=ALL, params=[
    Param("AttributeName", ListOf(String(choices=tuple(_ATTRIBUTES))), default=[]),
])
def describe_account_attributes(ctxt: context.RequestContext, attribute_name: list[str]) -> dict[str, Any]:
    quotas = quota_sets.get(ctxt, ctxt.project_id) if ctxt.project_id else quota_sets.defaults()
    names = list(dict.fromkeys(attribute_name)) or list(_ATTRIBUTES)
    return {"accountAttributeSet": [
        {"attributeName": name, "attributeValueSet": [{"attributeValue": v} for v in _ATTRIBUTES[name](quotas)]}
        for name in names]}
