"""A connection pool that keeps its overflow connections while they are in use.

SQLAlchemy's QueuePool closes a connection beyond ``pool_size`` the moment it is returned.  Under a steady
load a little wider than the pool, every request then opens a new connection: on PostgreSQL a forked backend
with cold caches, a few milliseconds of CPU each.  This pool holds up to ``pool_size + max_overflow``
connections, hands out the most recently returned one first, and closes a connection beyond ``pool_size``
only once it has been idle for ``--sql_overflow_idle_seconds``.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.pool import QueuePool

from nova import flags

FLAGS = flags.FLAGS

flags.DEFINE_float("sql_overflow_idle_seconds", 30.0,
                   "A connection beyond --sql_max_pool_size is closed once it has been idle this long",
                   lower_bound=0)

_RETURNED_AT = "nova_pool_returned_at"


class KeepingPool(QueuePool):
    """QueuePool whose overflow connections outlive a single checkout (see the module's docstring)."""

    def __init__(self, creator: Any, pool_size: int = 5, max_overflow: int = 10, **kw: Any) -> None:
        kw.pop("use_lifo", None)
        self._kept = pool_size
        self._extra = max(max_overflow, 0)
        super().__init__(creator, pool_size=pool_size + self._extra, max_overflow=0, use_lifo=True, **kw)

    def recreate(self) -> KeepingPool:
        self.logger.info("Pool recreating")
        return self.__class__(self._creator, pool_size=self._kept, max_overflow=self._extra,
                              pre_ping=self._pre_ping, timeout=self._timeout, recycle=self._recycle,
                              echo=self.echo, logging_name=self._orig_logging_name,
                              reset_on_return=self._reset_on_return, _dispatch=self.dispatch,
                              dialect=self._dialect)

    def kept_size(self) -> int:
        """Connections kept open (``pool_size``); up to ``max_overflow`` more while in use or recently used.

        (``size()`` stays QueuePool's: all the connections it may hold, which its own accounting relies on.)
        """
        return self._kept

    def max_overflow(self) -> int:
        return self._extra

    def _do_return_conn(self, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()
        super()._do_return_conn(record)
        self._close_one_idle()

    def _close_one_idle(self) -> None:
        """Close the longest-idle connection if the pool holds more than it keeps and it idled long enough."""
        queue = self._pool
        with queue.mutex:
            if queue.maxsize + self._overflow <= self._kept or not queue.queue:
                return
            oldest = queue.queue[0]  # use_lifo: connections are taken from the other end
            idle = time.monotonic() - oldest.info.get(_RETURNED_AT, 0.0)
            if idle < FLAGS.sql_overflow_idle_seconds:
                return
            queue.queue.popleft()
        try:
            oldest.close()
        finally:
            self._dec_overflow()
