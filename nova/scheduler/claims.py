"""What a scheduler placed that a usage read may not show yet.

The scheduler reads each host's usage from the database, picks a host and
then records it on the instance, without holding a lock across those steps.
A placement made by a concurrent request is missing from a usage read when
its host was recorded after that read began; ``Claims`` keeps each
placement until every read that may have missed it is over, and adds it to
those reads' usage.  Choosing and claiming run without a yield in between
(no I/O), so two greenthreads never both take the last room on a host.

A placement not yet recorded when a read begins is left out of that read
(``begin_read`` names them): its host may be written while the read runs,
and the read would then count it twice, once from the database and once as
a claim (four instances launched together went 3 + 1 over two hosts).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

# A claim never recorded (its placement died between the choice and the write) is dropped after this.
UNRECORDED_CLAIM_SECONDS = 300.0


class Claims:
    def __init__(self) -> None:
        self._recorded = 0  # how many placements were recorded so far: a read's position in time
        self._claims: dict[int, dict[str, Any]] = {}
        self._reads: dict[int, int] = {}
        self._tokens = itertools.count()

    def begin_read(self) -> tuple[int, list[int]]:
        """Call before reading usage: a token for ``pending`` and ``end_read``, and the ids of the
        instances the read must leave out (``pending`` counts them)."""
        token = next(self._tokens)
        self._reads[token] = self._recorded
        return token, [instance_id for instance_id, claim in self._claims.items() if claim["recorded"] is None]

    def end_read(self, token: int) -> None:
        self._reads.pop(token, None)
        self._collect()

    def pending(self, token: int) -> dict[str, dict[str, int]]:
        """Per host, what the placements a read begun at ``token`` may have missed hold."""
        since = self._reads[token]
        usage: dict[str, dict[str, int]] = {}
        for claim in self._claims.values():
            if claim["recorded"] is None or claim["recorded"] > since:
                used = usage.setdefault(claim["host"], {"instances": 0, "vcpus": 0, "memory_mb": 0})
                used["instances"] += 1
                used["vcpus"] += claim["vcpus"]
                used["memory_mb"] += claim["memory_mb"]
        return usage

    def claim(self, instance_id: int, host: str, vcpus: int, memory_mb: int) -> None:
        self._claims[instance_id] = {"host": host, "vcpus": vcpus, "memory_mb": memory_mb, "recorded": None,
                                     "at": time.monotonic()}

    def recorded(self, instance_id: int) -> None:
        """The instance's host is in the database: reads begun from now on see it."""
        claim = self._claims.get(instance_id)
        if claim is not None:
            self._recorded += 1
            claim["recorded"] = self._recorded
        self._collect()

    def forget(self, instance_id: int) -> None:
        self._claims.pop(instance_id, None)

    def _collect(self) -> None:
        oldest_read = min(self._reads.values(), default=self._recorded)
        too_old = time.monotonic() - UNRECORDED_CLAIM_SECONDS
        for instance_id, claim in list(self._claims.items()):
            if (claim["recorded"] is not None and claim["recorded"] <= oldest_read) or \
                    (claim["recorded"] is None and claim["at"] < too_old):
                del self._claims[instance_id]

    def __len__(self) -> int:
        return len(self._claims)
