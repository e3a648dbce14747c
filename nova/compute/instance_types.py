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
