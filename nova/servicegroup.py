"""Whether a service is alive, judged from its heartbeat row.

Kept apart from ``nova.service`` (eventlet, RPC, the database layer) so
that a listing such as ``nova-manage service list`` can judge liveness
without importing what a running service needs.
"""

from __future__ import annotations

import datetime
from typing import Any

from nova import flags, utils

FLAGS = flags.FLAGS

flags.DEFINE_integer("service_down_time", 60, "Seconds without a heartbeat before a service counts as down", lower_bound=1)


def service_is_up(service: Any, now: datetime.datetime | None = None) -> bool:
    """True while the service's last heartbeat is within --service_down_time."""
    last = service["updated_at"] or service["created_at"]
    if last is None:
        return False
    return ((now or utils.utcnow()) - last).total_seconds() <= FLAGS.service_down_time
