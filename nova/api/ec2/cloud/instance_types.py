"""DescribeInstanceTypes: the flavors, as EC2 instance types.

Each flavor's name is the type; its vcpus, memory and local disk are the
type's ``vCpuInfo``, ``memoryInfo`` and ``instanceStorageInfo``.  Every type
runs x86_64 hvm guests from an EBS or instance-store root.
"""

from __future__ import annotations

from typing import Any, Callable

from nova import context
from nova.api.ec2.actions import ALL, ActionSet
from nova.api.ec2.cloud import tags as tagging
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Filters, Integer, ListOf, Param, String
from nova.compute import instance_types

actions = ActionSet()

_FILTER_VALUES: dict[str, Callable[[Any], list[Any]]] = {
    "instance-type": lambda f: [f["name"]],
    "vcpu-info.default-vcpus": lambda f: [f["vcpus"]],
    "memory-info.size-in-mib": lambda f: [f["memory_mb"]],
    "instance-storage-supported": lambda f: [str(f["local_gb"] > 0).lower()],
    "instance-storage-info.total-size-in-gb": lambda f: [f["local_gb"]],
    "current-generation": lambda f: ["true"],
    "processor-info.supported-architecture": lambda f: ["x86_64"],
    "supported-virtualization-type": lambda f: ["hvm"],
    "supported-root-device-type": lambda f: ["ebs", "instance-store"],
}


def _render(flavor: Any) -> dict[str, Any]:
    local = flavor["local_gb"] or 0
    return {
        "instanceType": flavor["name"],
        "currentGeneration": True,
        "freeTierEligible": False,
        "supportedUsageClasses": ["on-demand"],
        "supportedRootDeviceTypes": ["ebs", "instance-store"],
        "supportedVirtualizationTypes": ["hvm"],
        "bareMetal": False,
        "processorInfo": {"supportedArchitectures": ["x86_64"]},
        "vCpuInfo": {"defaultVCpus": flavor["vcpus"], "defaultCores": flavor["vcpus"], "defaultThreadsPerCore": 1},
        "memoryInfo": {"sizeInMiB": flavor["memory_mb"]},
        "instanceStorageSupported": local > 0,
        "instanceStorageInfo": {"totalSizeInGB": local} if local > 0 else None,
        "hibernationSupported": False,
        "burstablePerformanceSupported": False,
        "dedicatedHostsSupported": False,
        "autoRecoverySupported": False,
    }


@actions.register("DescribeInstanceTypes", roles=ALL, params=[
    Param("InstanceType", ListOf(String(max_length=255, min_length=1), max_items=100), default=[]),
    Param("Filter", Filters(*_FILTER_VALUES), default={}, dest="filters"),
    Param("MaxResults", Integer(5, 100)),
    Param("NextToken", String(max_length=64)),
])
def describe_instance_types(ctxt: context.RequestContext, instance_type: list[str], filters: dict[str, list[str]],
                            max_results: int | None, next_token: str | None) -> dict[str, Any]:
    flavors = sorted(instance_types.get_all_types(), key=lambda f: (f["memory_mb"], f["vcpus"], f["name"]))
    if instance_type:
        names = {f["name"] for f in flavors}
        unknown = [name for name in instance_type if name not in names]
        if unknown:
            raise EC2APIError("InvalidInstanceType", f"The following supplied instance types do not exist: "
                                                     f"[{', '.join(unknown)[:512]}]")
        flavors = [f for f in flavors if f["name"] in instance_type]
    flavors = [f for f in flavors if tagging.matches(filters, _FILTER_VALUES, f, {})]
    page, token = tagging.paginate(flavors, max_results, next_token)
    return {"instanceTypeSet": [_render(f) for f in page], "nextToken": token}
