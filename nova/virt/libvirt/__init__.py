"""The libvirt virt driver: ``--compute_driver=nova.virt.libvirt.LibvirtDriver`` (or ``--connection_type=libvirt``).

The bindings themselves are imported when the driver first connects.
"""

from nova.virt.libvirt.driver import LibvirtDriver

__all__ = ["LibvirtDriver"]
