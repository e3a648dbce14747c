"""The chance scheduler: any live host, at random."""

from __future__ import annotations

import random
from typing import Any

from nova import exception
from nova.scheduler import driver


class ChanceScheduler(driver.Scheduler):
    def filter_hosts(self, ctxt: driver.Context, topic: str, **kwargs: Any) -> list[str]:
        """The candidate hosts: the admin's forced host alone, or every live host (in the zone).

        NoValidHost when there is none; other schedulers pick among these.
        """
        forced = kwargs.get("forced_host")
        if forced:
            return [self.forced_host(ctxt, topic, forced)]
        hosts = self.hosts_up(ctxt, topic, kwargs.get("availability_zone"))
        if not hosts:
            raise exception.NoValidHost(reason=f"no {topic} host is up and enabled"
                                            f"{driver.zone_suffix(kwargs)}.")
        return hosts

    def schedule(self, ctxt: driver.Context, topic: str, **kwargs: Any) -> str:
        return random.choice(self.filter_hosts(ctxt, topic, **kwargs))
