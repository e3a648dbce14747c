"""What a scheduler placed that a usage read may not show yet.

The scheduler reads each host's usage from the database, picks a host and
then records it on the instance, without holding a lock across those steps.
``Claims`` keeps each placement until no read that may have missed it is
left, and adds it to those reads' usage.  Choosing and claiming run without a
yield in between (no I/O), so two greenthreads never both take the last room
on a host.

Each claim is counted exactly once by each read of this process (a read R
begins with ``begin_read``, its statement takes its snapshot, it ends with
``end_read``; nothing yields between the statement's return and
``end_read``):

- recorded before R began: in R's snapshot; not pending for R;
- made before R began, recorded later: R leaves it out of its statement
  (``begin_read`` names it), so a write landing while the statement runs
  changes nothing; pending for R;
- made after R began: its recording waits until R has ended
  (``wait_for_older_reads``, called before the caller writes the host), so it
  is never in R's snapshot; pending for R.

Only reads older than the claim are waited for, so a steady flow of new
reads starves no one.  A read still running after ``--sql_pool_timeout`` +
``--sql_connect_retry_seconds`` (the time a read may wait for a connection)
is no longer waited for (logged once); should it still finish, it may count
a placement recorded meanwhile twice (never zero times).
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

from eventlet import event

from nova import flags

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

# A claim never recorded (its placement died between the choice and the write) is dropped after this.
UNRECORDED_CLAIM_SECONDS = 300.0


class Claims:
    def __init__(self) -> None:
        self._recorded = 0  # how many placements were recorded so far: a read's position in time
        self._claims: dict[int, dict[str, Any]] = {}
        self._reads: dict[int, int] = {}  # reads under way, oldest first (tokens only grow)
        self._tokens = itertools.count(1)
        self._last_token = 0
        self._read_ended: dict[int, event.Event] = {}  # made only for reads a recording waits for
        self._overdue: set[int] = set()  # reads no longer waited for

    def begin_read(self) -> tuple[int, list[int]]:
        """Call before reading usage: a token for ``pending`` and ``end_read``, and the ids of the
        instances the read must leave out (``pending`` counts them)."""
        token = self._last_token = next(self._tokens)
        self._reads[token] = self._recorded
        return token, [instance_id for instance_id, claim in self._claims.items() if claim["recorded"] is None]

    def end_read(self, token: int) -> None:
        """The read's statement is over (call it with no yield after the statement returned)."""
        self._reads.pop(token, None)
        self._overdue.discard(token)
        ended = self._read_ended.pop(token, None)
        if ended is not None:
            ended.send(True)
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
                                     "at": time.monotonic(), "after": self._last_token}

    def wait_for_older_reads(self, instance_id: int) -> None:
        """Return once every read begun before the instance's claim has ended: its host may then be
        written without showing in their snapshots.  Bounded (see the module's docstring)."""
        claim = self._claims.get(instance_id)
        if claim is None:
            return
        deadline = None
        while (token := self._oldest_read_up_to(claim["after"])) is not None:
            if deadline is None:
                deadline = time.monotonic() + FLAGS.sql_pool_timeout + FLAGS.sql_connect_retry_seconds
            ended = self._read_ended.get(token)
            if ended is None:
                ended = self._read_ended[token] = event.Event()
            if not ended.wait(max(0.0, deadline - time.monotonic())):
                if token in self._reads and token not in self._overdue:
                    self._overdue.add(token)
                    LOG.warning("A usage read of the scheduler has run for over %ss; placements are recorded "
                                "without waiting for it (it may count one of them twice)",
                                FLAGS.sql_pool_timeout + FLAGS.sql_connect_retry_seconds)
                return

    def _oldest_read_up_to(self, last: int) -> int | None:
        for token in self._reads:
            if token > last:
                return None
            if token not in self._overdue:
                return token
        return None

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
