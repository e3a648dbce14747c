"""Services and hypervisors as admins see them through an API (os-services, os-hypervisors)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from nova import context as nova_context
from nova import exception, flags, service
from nova.db import api as db

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)
Context = nova_context.RequestContext


@dataclass
class Hypervisor:
    id: int
    host: str
    service_id: int
    enabled: bool
    alive: bool
    node: Any
    usage: dict[str, int]


def _admin(ctxt: Context) -> Context:
    if not ctxt.is_admin:
        raise exception.AdminRequired()
    return ctxt.elevated()


def service_is_up(row: Any) -> bool:
    return service.service_is_up(row)


def get_services(ctxt: Context, host: str | None = None, binary: str | None = None) -> list[Any]:
    rows = db.service_get_all(_admin(ctxt))
    return [r for r in rows if (host is None or r["host"] == host) and (binary is None or r["binary"] == binary)]


def set_service_enabled(ctxt: Context, host: str, binary: str, enabled: bool) -> Any:
    """Enable or disable the ``binary`` service of ``host`` (the scheduler skips disabled ones)."""
    rows = get_services(ctxt, host, binary)
    if not rows:
        raise exception.ServiceNotFound(service=f"{binary}@{host}"[:128])
    row = db.service_update(ctxt.elevated(), rows[0]["id"], {"disabled": not enabled})
    LOG.info("Service %s on %s %s", binary, host, "enabled" if enabled else "disabled")
    return row


def get_hypervisors(ctxt: Context) -> list[Hypervisor]:
    """Every compute host with a compute node record, with what its live instances hold."""
    admin = _admin(ctxt)
    services = {r["host"]: r for r in db.service_get_all(admin) if r["topic"] == FLAGS.compute_topic
                or r["binary"] == "nova-compute"}
    nodes = db.compute_node_get_all(admin)
    usage = db.instance_usage_by_host(admin)
    found = []
    for host, node in sorted(nodes.items(), key=lambda item: item[1]["id"]):
        row = services.get(host)
        found.append(Hypervisor(id=node["id"], host=host, service_id=node["service_id"],
                                enabled=not (row and row["disabled"]), alive=bool(row and service_is_up(row)),
                                node=node, usage=usage.get(host, {})))
    return found


def get_hypervisor(ctxt: Context, hypervisor_id: Any) -> Hypervisor:
    for hypervisor in get_hypervisors(ctxt):
        if str(hypervisor.id) == str(hypervisor_id):
            return hypervisor
    raise exception.HostNotFound(host=str(hypervisor_id)[:64])
