"""The libvirt virt driver (``--connection_type=libvirt``)."""
