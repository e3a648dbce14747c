"""The first Nova's per-user rate limits for v1.0/v1.1, and ``GET /limits``.

Counts live in the memory of one nova-api process: two nova-api processes
behind a balancer each allow the full rate.  The defaults are Cactus's:
POST 10/minute, POST to /servers 50/day, PUT 10/minute, GET with
changes-since 3/minute, DELETE 100/minute.  The paste filter's ``limits``
option replaces them: ``(VERB, URI, REGEX, VALUE, UNIT);...``.
"""

from __future__ import annotations

import collections
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from nova.api.openstack import limits as v21_limits
from nova.api.openstack.wsgi import ApiRequest

LIMITER_KEY = "nova.v11.limiter"
UNITS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}


@dataclass(frozen=True)
class Limit:
    verb: str
    uri: str
    regex: str
    value: int
    unit: str

    @property
    def seconds(self) -> int:
        return UNITS[self.unit]

    def applies(self, verb: str, url: str) -> bool:
        return verb == self.verb and re.search(self.regex, url) is not None


DEFAULT_LIMITS = [
    Limit("POST", "*", ".*", 10, "MINUTE"),
    Limit("POST", "*/servers", r"/servers/?(\?.*)?$", 50, "DAY"),
    Limit("PUT", "*", ".*", 10, "MINUTE"),
    Limit("GET", "*changes-since*", r".*changes-since.*", 3, "MINUTE"),
    Limit("DELETE", "*", ".*", 100, "MINUTE"),
]


def parse(text: str) -> list[Limit]:
    """``(POST, *, .*, 10, MINUTE);(PUT, *, .*, 10, MINUTE)`` as limits; ValueError names a bad one."""
    found = []
    for group in re.findall(r"\(([^)]*)\)", text):
        parts = [p.strip() for p in group.split(",")]
        if len(parts) != 5 or parts[4].upper() not in UNITS:
            raise ValueError(f"bad rate limit {group!r}: want (VERB, URI, REGEX, VALUE, UNIT)")
        found.append(Limit(parts[0].upper(), parts[1], parts[2], int(parts[3]), parts[4].upper()))
    return found


class OverLimit(Exception):
    """A request over a limit; rendered as 413 overLimit with ``retryAfter`` seconds."""

    def __init__(self, limit: Limit, retry_after: int) -> None:
        self.details = f"Only {limit.value} {limit.verb} request(s) can be made to {limit.uri} every " \
                       f"{limit.unit.lower()}."
        self.retry_after = retry_after
        super().__init__(self.details)


class Limiter:
    """Sliding windows of request times per (user, limit)."""

    def __init__(self, limits: list[Limit] | None = None, clock: Any = time.monotonic) -> None:
        self.limits = list(DEFAULT_LIMITS if limits is None else limits)
        self.clock = clock
        self._seen: dict[tuple[str, int], collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def _window(self, user: str, index: int, now: float) -> collections.deque[float]:
        times = self._seen[(user, index)]
        while times and times[0] <= now - self.limits[index].seconds:
            times.popleft()
        return times

    def check(self, user: str, verb: str, url: str) -> None:
        """Count the request against every limit it falls under; OverLimit (nothing counted) when one is full."""
        now = self.clock()
        with self._lock:
            applying = [n for n, limit in enumerate(self.limits) if limit.applies(verb, url)]
            for index in applying:
                times = self._window(user, index, now)
                if len(times) >= self.limits[index].value:
                    delay = times[0] + self.limits[index].seconds - now
                    raise OverLimit(self.limits[index], max(1, math.ceil(delay)))
            for index in applying:
                self._seen[(user, index)].append(now)

    def describe(self, user: str) -> list[dict[str, Any]]:
        """The limits with the user's remaining requests, grouped by URI as v1.1's ``limits`` shows them."""
        now, wall = self.clock(), time.time()
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        with self._lock:
            for index, limit in enumerate(self.limits):
                times = self._window(user, index, now)
                reset = wall + (times[0] + limit.seconds - now if len(times) >= limit.value else 0)
                groups.setdefault((limit.uri, limit.regex), []).append({
                    "verb": limit.verb, "value": limit.value, "unit": limit.unit,
                    "remaining": max(0, limit.value - len(times)),
                    "next-available": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset))})
        return [{"uri": uri, "regex": regex, "limit": items} for (uri, regex), items in groups.items()]


class LimitsController:
    """``GET /limits``: the user's rate limits and the project's absolute limits."""

    def index(self, req: ApiRequest) -> dict[str, Any]:
        limiter = req.webob.environ.get(LIMITER_KEY)
        rate = limiter.describe(req.ctxt.user_id) if limiter is not None else []
        absolute = v21_limits.LimitsController().index(req)["limits"]["absolute"]
        return {"limits": {"rate": rate, "absolute": absolute}}

