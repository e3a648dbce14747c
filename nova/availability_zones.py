"""Availability zones: the zones the services report and the hosts and services in each.

A service without a zone of its own is in ``--node_availability_zone``.
Front ends (EC2 DescribeAvailabilityZones, later the OpenStack API) render
what this module returns.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from nova import context as nova_context
from nova import flags, service
from nova.db import api as db

FLAGS = flags.FLAGS
Context = nova_context.RequestContext


@dataclass
class ServiceState:
    binary: str
    enabled: bool
    alive: bool
    updated_at: datetime.datetime | None


@dataclass
class Zone:
    name: str
    hosts: dict[str, list[ServiceState]] = field(default_factory=dict)


def _zone_of(row: Any) -> str:
    return row["availability_zone"] or FLAGS.node_availability_zone


def _services(ctxt: Context) -> list[Any]:
    return db.service_get_all(ctxt.elevated())


def get_zones(ctxt: Context) -> list[str]:
    """Zone names, sorted; the default zone is always one."""
    return sorted({FLAGS.node_availability_zone} | {_zone_of(row) for row in _services(ctxt)})


def get_zone_tree(ctxt: Context) -> list[Zone]:
    """Every zone with its hosts (sorted) and their services (sorted by binary), for admins."""
    rows = _services(ctxt)
    zones = {name: Zone(name) for name in sorted({FLAGS.node_availability_zone} | {_zone_of(r) for r in rows})}
    for row in sorted(rows, key=lambda r: (r["host"], r["binary"])):
        zones[_zone_of(row)].hosts.setdefault(row["host"], []).append(ServiceState(
            binary=row["binary"], enabled=not row["disabled"], alive=service.service_is_up(row),
            updated_at=row["updated_at"] or row["created_at"]))
    return list(zones.values())
