"""Pick the virt driver: the class named by --compute_driver, or the old --connection_type name.

``--connection_type=fake|libvirt`` is still accepted and means the matching
class; an explicit ``--compute_driver`` wins when both are given.
"""

from __future__ import annotations

from nova import exception, flags
from nova.virt import driver

FLAGS = flags.FLAGS

flags.DEFINE_string("compute_driver", None,
                    "Class of nova-compute's virt driver (nova.virt.libvirt.LibvirtDriver, "
                    "nova.virt.fake.FakeDriver); overrides --connection_type")
flags.DEFINE_string("connection_type", "libvirt",
                    "Virt driver of nova-compute when --compute_driver is unset: libvirt or fake")

CONNECTION_TYPES = {
    "fake": "nova.virt.fake.FakeDriver",
    "libvirt": "nova.virt.libvirt.LibvirtDriver",
}


def driver_class_path() -> str:
    """The class path the flags name (see the module docstring)."""
    if FLAGS.compute_driver:
        return FLAGS.compute_driver
    path = CONNECTION_TYPES.get(FLAGS.connection_type)
    if path is None:
        raise exception.InvalidInput(reason=f"unknown --connection_type {FLAGS.connection_type!r}; "
                                            f"choose one of {', '.join(sorted(CONNECTION_TYPES))} "
                                            f"or name a class with --compute_driver")
    return path


def get_connection(read_only: bool = False) -> driver.ComputeDriver:
    from nova import utils

    path = driver_class_path()
    try:
        cls = utils.import_class(path)
    except (ImportError, AttributeError, ValueError) as exc:
        raise exception.InvalidInput(reason=f"cannot load the virt driver {path!r}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, driver.ComputeDriver)):
        raise exception.InvalidInput(reason=f"{path} is not a virt driver (nova.virt.driver.ComputeDriver)")
    return cls(read_only=read_only)
