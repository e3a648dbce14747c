"""Flavors as compute reads them."""

from __future__ import annotations

from typing import Any

from nova import context as nova_context
from nova import exception, flags
from nova.db import api as db

FLAGS = flags.FLAGS


def get_default_instance_type() -> Any:
    return get_instance_type_by_name(FLAGS.default_instance_type)


def get_instance_type_by_name(name: str | None) -> Any:
    """The live flavor called ``name`` (the default flavor for None); InstanceTypeNotFound otherwise."""
    if name is None:
        name = FLAGS.default_instance_type
    if not isinstance(name, str) or not name:
        raise exception.InstanceTypeNotFound(instance_type=name)
    return db.instance_type_get_by_name(nova_context.get_admin_context(), name)


def get_all_types() -> list[Any]:
    return db.instance_type_get_all(nova_context.get_admin_context())


def get_instance_type_by_flavor_id(flavor_id: Any) -> Any:
    """The live flavor whose public id is ``flavor_id``; InstanceTypeNotFound otherwise."""
    try:
        number = int(str(flavor_id))
    except (TypeError, ValueError):
        raise exception.InstanceTypeNotFound(instance_type=str(flavor_id)[:64]) from None
    if not 0 <= number < 2**31:
        raise exception.InstanceTypeNotFound(instance_type=str(flavor_id)[:64])
    return db.instance_type_get_by_flavor_id(nova_context.get_admin_context(), number)


def create(ctxt: nova_context.RequestContext, name: str, memory_mb: int, vcpus: int, local_gb: int,
           flavor_id: int | None = None, swap: int = 0, rxtx_factor: int = 0) -> Any:
    """A new flavor (admins only); the next free flavor id when none is given."""
    if not ctxt.is_admin:
        raise exception.AdminRequired()
    for what, value, low in (("memory_mb", memory_mb, 1), ("vcpus", vcpus, 1), ("local_gb", local_gb, 0),
                             ("swap", swap, 0)):
        if not isinstance(value, int) or value < low:
            raise exception.InvalidInput(reason=f"{what} must be an integer of at least {low}")
    if flavor_id is None:
        flavor_id = max((t["flavorid"] for t in get_all_types()), default=0) + 1
    return db.instance_type_create(nova_context.get_admin_context(), {
        "name": name, "memory_mb": memory_mb, "vcpus": vcpus, "local_gb": local_gb, "flavorid": flavor_id,
        "swap": swap, "rxtx_quota": 0, "rxtx_cap": rxtx_factor})


def destroy(ctxt: nova_context.RequestContext, flavor_id: Any) -> None:
    """Retire a flavor (admins only); running instances keep theirs."""
    if not ctxt.is_admin:
        raise exception.AdminRequired()
    flavor = get_instance_type_by_flavor_id(flavor_id)
    db.instance_type_destroy(nova_context.get_admin_context(), flavor["name"])
