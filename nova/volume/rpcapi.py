"""The typed client of nova-volume (``VolumeManager``).

VolumeManager exposes no RPC method yet: it only reports its capabilities
to the schedulers (``nova.scheduler.rpcapi``), as every
SchedulerDependentManager does.  When the volume actions arrive (create,
delete, attach), each gets its method here, casting to ``volume.<host>``;
nothing else may build volume messages.
"""

from __future__ import annotations

from nova.rpc import proxy


class VolumeAPI(proxy.RpcProxy):
    """The client for the ``--volume_topic`` (``volume``, ``volume.<host>``)."""

    topic_flag = "volume_topic"
