"""/limits: the project's absolute limits and usage; v2.1 has no rate limits."""

from __future__ import annotations

from typing import Any

from nova import quota_sets
from nova.api.openstack.wsgi import ApiRequest

# API name -> quota resource
_LIMITS = {"maxTotalInstances": "instances", "maxTotalCores": "cores", "maxTotalRAMSize": "ram",
           "maxTotalKeypairs": "key_pairs", "maxSecurityGroups": "security_groups",
           "maxSecurityGroupRules": "security_group_rules", "maxTotalFloatingIps": "floating_ips",
           "maxServerMeta": "metadata_items", "maxImageMeta": "metadata_items", "maxTotalVolumes": "volumes",
           "maxTotalVolumeGigabytes": "gigabytes"}
_USED = {"totalInstancesUsed": "instances", "totalCoresUsed": "cores", "totalRAMUsed": "ram",
         "totalSecurityGroupsUsed": "security_groups", "totalFloatingIpsUsed": "floating_ips"}


class LimitsController:
    def index(self, req: ApiRequest) -> dict[str, Any]:
        limits = quota_sets.get(req.ctxt, req.ctxt.project_id)
        used = quota_sets.usage(req.ctxt)
        absolute: dict[str, Any] = {name: limits[resource] for name, resource in _LIMITS.items()}
        absolute.update({"maxPersonality": 5, "maxPersonalitySize": 10240, "maxServerGroups": 10,
                         "maxServerGroupMembers": 10, "totalServerGroupsUsed": 0})
        absolute.update({name: used[resource] for name, resource in _USED.items()})
        absolute.update({"totalVolumesUsed": used["volumes"], "totalVolumeGigabytesUsed": used["gigabytes"]})
        return {"limits": {"rate": [], "absolute": absolute}}
