"""Pick the virt driver named by --connection_type."""

from __future__ import annotations

from nova import exception, flags
from nova.virt import driver

FLAGS = flags.FLAGS

flags.DEFINE_string("connection_type", "libvirt", "Virt driver of nova-compute: libvirt or fake")

_DRIVERS = {
    "fake": "nova.virt.fake.FakeDriver",
    "libvirt": "nova.virt.libvirt.driver.LibvirtDriver",
}


def get_connection(read_only: bool = False) -> driver.ComputeDriver:
    from nova import utils

    path = _DRIVERS.get(FLAGS.connection_type)
    if path is None:
        raise exception.InvalidInput(reason=f"unknown --connection_type {FLAGS.connection_type!r}; "
                                            f"choose one of {', '.join(sorted(_DRIVERS))}")
    return utils.import_class(path)(read_only=read_only)
