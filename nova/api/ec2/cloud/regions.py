"""DescribeRegions and DescribeAvailabilityZones.

One region and one zone ("nova" by default).  An admin asking for the zone
``verbose`` gets the first Nova's tree of hosts and services, each marked
``:-)`` when its heartbeat is recent and ``XXX`` when it is not.
"""

from __future__ import annotations

from typing import Any

from nova import availability_zones, context, flags
from nova.api.ec2.actions import ALL, ActionSet
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Boolean, Filters, ListOf, Param, String
from nova.auth import manager

FLAGS = flags.FLAGS
actions = ActionSet()


def _regions() -> list[tuple[str, str]]:
    if FLAGS.region_list:
        pairs = [entry.partition("=") for entry in FLAGS.region_list]
        return [(name, endpoint) for name, _, endpoint in pairs]
    return [(FLAGS.region_name, manager.ec2_url())]


def _host_of(endpoint: str) -> str:
    return endpoint.split("://", 1)[-1].split("/", 1)[0]


@actions.register("DescribeRegions", roles=ALL, params=[
    Param("RegionName", ListOf(String()), default=[]),
    Param("Filter", Filters("region-name", "endpoint"), default={}, dest="filters"),
    Param("AllRegions", Boolean(), default=False),
])
def describe_regions(ctxt: context.RequestContext, region_name: list[str], filters: dict[str, list[str]],
                     all_regions: bool) -> dict[str, Any]:
    regions = _regions()
    if region_name:
        unknown = [name for name in region_name if name not in dict(regions)]
        if unknown:
            raise EC2APIError("InvalidParameterValue", f"Invalid region: {unknown[0]}")
        regions = [r for r in regions if r[0] in region_name]
    if "region-name" in filters:
        regions = [r for r in regions if r[0] in filters["region-name"]]
    if "endpoint" in filters:
        regions = [r for r in regions if _host_of(r[1]) in filters["endpoint"] or r[1] in filters["endpoint"]]
    return {"regionInfo": [{"regionName": name, "regionEndpoint": endpoint, "optInStatus": "opt-in-not-required"}
                           for name, endpoint in regions]}


def _verbose_zones(ctxt: context.RequestContext) -> list[dict[str, Any]]:
    """The first Nova's tree: zone, ``|- host``, ``| |- binary`` with ``enabled :-) time``."""
    entries: list[dict[str, Any]] = []
    for zone in availability_zones.get_zone_tree(ctxt):
        entries.append({"zoneName": zone.name, "zoneState": "available", "regionName": FLAGS.region_name})
        for host, services in zone.hosts.items():
            entries.append({"zoneName": f"|- {host}", "zoneState": "", "regionName": FLAGS.region_name})
            for state in services:
                alive = ":-)" if state.alive else "XXX"
                enabled = "enabled" if state.enabled else "disabled"
                entries.append({"zoneName": f"| |- {state.binary}",
                                "zoneState": f"{enabled} {alive} {state.updated_at}",
                                "regionName": FLAGS.region_name})
    return entries


@actions.register("DescribeAvailabilityZones", roles=ALL, params=[
    Param("ZoneName", ListOf(String()), default=[]),
    Param("ZoneId", ListOf(String()), default=[]),
    Param("Filter", Filters("zone-name", "state", "region-name", "zone-id"), default={}, dest="filters"),
    Param("AllAvailabilityZones", Boolean(), default=False),
])
def describe_availability_zones(ctxt: context.RequestContext, zone_name: list[str], zone_id: list[str],
                                filters: dict[str, list[str]], all_availability_zones: bool) -> dict[str, Any]:
    if "verbose" in zone_name and ctxt.is_admin:
        return {"availabilityZoneInfo": _verbose_zones(ctxt)}
    zones = availability_zones.get_zones(ctxt)
    unknown = [z for z in list(zone_name) + list(zone_id) if z not in zones and z != "verbose"]
    if unknown:
        raise EC2APIError("InvalidParameterValue", f"Invalid availability zone: [{', '.join(unknown)[:200]}]")
    wanted = set(zone_name) | set(zone_id) | set(filters.get("zone-name", [])) | set(filters.get("zone-id", []))
    if wanted:
        zones = [z for z in zones if z in wanted]
    if "state" in filters and "available" not in filters["state"]:
        zones = []
    if "region-name" in filters and FLAGS.region_name not in filters["region-name"]:
        zones = []
    return {"availabilityZoneInfo": [{"zoneName": z, "zoneState": "available", "regionName": FLAGS.region_name,
                                      "zoneId": z, "zoneType": "availability-zone"} for z in zones]}
