"""DescribeRegions and DescribeAvailabilityZones.

One region and one zone ("nova" by default).  An admin asking for the zone
``verbose`` gets the first Nova's tree of hosts and services, each marked
``:-)`` when its heartbeat is recent and ``XXX`` when it is not.
"""

from __future__ import annotations

from typing import Any

from nova import context, flags, service
from nova.api.ec2.actions import ALL, ActionSet
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Boolean, Filters, ListOf, Param, String
from nova.auth import manager
from nova.db import api as db

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


def _zones() -> list[str]:
    zones = {FLAGS.node_availability_zone}
    for row in db.service_get_all(context.get_admin_context()):
        if row["availability_zone"]:
            zones.add(row["availability_zone"])
    return sorted(zones)


def _verbose_zones() -> list[dict[str, Any]]:
    services = db.service_get_all(context.get_admin_context())
    entries: list[dict[str, Any]] = []
    for zone in _zones():
        entries.append({"zoneName": zone, "zoneState": "available", "regionName": FLAGS.region_name})
        in_zone = [s for s in services if (s["availability_zone"] or FLAGS.node_availability_zone) == zone]
        for host in sorted({s["host"] for s in in_zone}):
            entries.append({"zoneName": f"|- {host}", "zoneState": "", "regionName": FLAGS.region_name})
            for row in sorted((s for s in in_zone if s["host"] == host), key=lambda s: s["binary"]):
                alive = ":-)" if service.service_is_up(row) else "XXX"
                enabled = "disabled" if row["disabled"] else "enabled"
                stamp = row["updated_at"] or row["created_at"]
                entries.append({"zoneName": f"| |- {row['binary']}",
                                "zoneState": f"{enabled} {alive} {stamp}", "regionName": FLAGS.region_name})
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
        return {"availabilityZoneInfo": _verbose_zones()}
    zones = _zones()
    wanted = set(zone_name) | set(zone_id) | set(filters.get("zone-name", [])) | set(filters.get("zone-id", []))
    if wanted:
        zones = [z for z in zones if z in wanted]
    if "state" in filters and "available" not in filters["state"]:
        zones = []
    if "region-name" in filters and FLAGS.region_name not in filters["region-name"]:
        zones = []
    return {"availabilityZoneInfo": [{"zoneName": z, "zoneState": "available", "regionName": FLAGS.region_name,
                                      "zoneId": z, "zoneType": "availability-zone"} for z in zones]}
