"""nova-volume's manager: block storage exported to compute hosts."""

from __future__ import annotations

from nova import flags, manager

FLAGS = flags.FLAGS


class VolumeManager(manager.SchedulerDependentManager):
    """Creates, exports and deletes volumes through a volume driver."""

    service_name = "volume"
    # No volume driver exists yet: the Service neither registers this manager
    # in the services table nor heartbeats, so nothing reports it alive.
    placeholder = True
