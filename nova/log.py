"""Logging set-up: one structured line per event, naming the request id.

Code logs with ``LOG = logging.getLogger(__name__)``.  The request id comes
from the context passed as ``extra={"context": ctxt}`` or, failing that, from
the request id bound to the current greenthread with ``bind_request_id``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading

from nova import flags

FLAGS = flags.FLAGS

flags.DEFINE_string(
    "logging_format",
    "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
    "Format of log lines; %(request_id)s names the request",
)

# threading.local is per greenthread once eventlet has monkey-patched.
_local = threading.local()


def bind_request_id(request_id: str | None) -> None:
    """Name the request the current greenthread works on (None unbinds)."""
    _local.request_id = request_id


def current_request_id() -> str | None:
    return getattr(_local, "request_id", None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctxt = getattr(record, "context", None)
        request_id = getattr(ctxt, "request_id", None) if ctxt is not None else None
        if request_id is None:
            request_id = getattr(record, "request_id", None) or current_request_id() or "-"
        record.request_id = request_id
        return True


def setup(binary: str) -> None:
    """Configure the root logger for one daemon from the logging flags."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if FLAGS.logfile:
        handler: logging.Handler = logging.handlers.WatchedFileHandler(FLAGS.logfile)
    elif FLAGS.logdir:
        os.makedirs(FLAGS.logdir, exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(os.path.join(FLAGS.logdir, f"{binary}.log"))
    elif FLAGS.use_syslog:
        handler = logging.handlers.SysLogHandler(address="/dev/log")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(FLAGS.logging_format))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if FLAGS.verbose else logging.INFO)
    for noisy in ("amqp", "kombu", "sqlalchemy", "alembic", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
