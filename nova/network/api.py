"""What the API and compute layers call to get addresses for instances.

The contract other layers rely on:

- ``allocate_for_instance(ctxt, instance_id, host)``: an RPC ``call`` to
  nova-network; returns one dict per NIC with at least ``address``,
  ``mac_address``, ``network_id``, ``bridge``, ``cidr``, ``netmask``,
  ``gateway``, ``dhcp_server`` and ``injected`` (an empty list when no
  network is configured).
- ``deallocate_for_instance(ctxt, instance_id)``: releases what was allocated.
"""

from __future__ import annotations

from typing import Any

from nova import context, flags, rpc

FLAGS = flags.FLAGS


class API:
    def allocate_for_instance(self, ctxt: context.RequestContext, instance_id: int, host: str) -> list[dict[str, Any]]:
        return rpc.call(ctxt, FLAGS.network_topic, {
            "method": "allocate_for_instance",
            "args": {"instance_id": instance_id, "host": host},
        })

    def deallocate_for_instance(self, ctxt: context.RequestContext, instance_id: int) -> None:
        rpc.call(ctxt, FLAGS.network_topic, {
            "method": "deallocate_for_instance",
            "args": {"instance_id": instance_id},
        })
