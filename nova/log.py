"""Logging set-up: one structured line per event, naming the request id.

Code logs with ``LOG = logging.getLogger(__name__)``.  The request id comes
from the context passed as ``extra={"context": ctxt}`` or, failing that, from
the request id bound to the current greenthread with ``bind_request_id`` (the
API's WSGI layer binds the id it gives each request, the RPC server the id of
the context a message carries), so ``grep req-...`` over every host's logs
shows one request's whole path.

Lines go to ``--logfile``, ``--logdir``/BINARY.log, syslog (``--use_syslog``)
or standard error, as text (``--logging_format``) or, with
``--log_format=json``, one JSON object per line.  Every line passes through
``redact`` first: a secret that slipped into a message (a URL's password, an
Authorization header, a password or secret key field) is masked.
"""

from __future__ import annotations

import datetime
import json
import logging
import logging.handlers
import os
import re
import sys
import threading

from nova import flags

FLAGS = flags.FLAGS

flags.DEFINE_string(
    "logging_format",
    "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
    "Format of log lines; %(request_id)s names the request",
)
flags.DEFINE_enum("log_format", "text", ["text", "json"],
                  "text: lines in --logging_format; json: one JSON object per line (time, level, logger, "
                  "request_id, message, host, binary, exception)")

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


MASK = "***"
# What a secret looks like in a line: the password of a URL, an Authorization header or SigV4 signature,
# a "password"/"secret"/"token" field (key=value, key: value or "key": "value"), a CHAP secret of tgtadm.
_SECRETS = [
    (re.compile(r"(?P<keep>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?=@)", re.IGNORECASE), MASK),
    (re.compile(r"(?P<keep>\bAuthorization['\"]?\s*[:=]\s*['\"]?)[^'\",}\n]+", re.IGNORECASE), MASK),
    (re.compile(r"(?P<keep>\bSignature=)[0-9a-fA-F]+"), MASK),
    (re.compile(r"(?P<keep>--[a-z_-]*(?:password|secret)[a-z_-]*[= ]['\"]?)[^\s'\"]+", re.IGNORECASE), MASK),
    (re.compile(r"(?P<keep>\b(?:[a-z_]*password[a-z_]*|secret(?:_key|_access_key)?|[a-z_]*_token|"
                r"x[-_]auth[-_](?:key|token)|auth_key|incominguser|outgoinguser)['\"]?\s*[:=]\s*['\"]?)"
                r"[^\s'\",;&}]+", re.IGNORECASE), MASK),
]


# Every pattern above needs one of these in the lower-cased text: an ASCII line holding none skips the regexes.
_SECRET_HINTS = ("://", "auth", "signature=", "password", "secret", "token", "incominguser", "outgoinguser")


def redact(text: str) -> str:
    """``text`` with the secrets it seems to carry replaced by ``***``."""
    if text.isascii():  # (re.IGNORECASE matches some non-ASCII letters that lower() keeps apart)
        lowered = text.lower()
        if not any(hint in lowered for hint in _SECRET_HINTS):
            return text
    for pattern, mask in _SECRETS:
        text = pattern.sub(lambda match: match.group("keep") + mask, text)
    return text


class RedactingFormatter(logging.Formatter):
    """The text format, with secrets masked in the message and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request_id, message, host, binary[, exception]."""

    def __init__(self, binary: str) -> None:
        super().__init__()
        self.binary = binary

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
        entry = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": redact(record.getMessage()),
            "host": FLAGS.host,
            "binary": self.binary,
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, default=str)


def formatter(binary: str) -> logging.Formatter:
    """The formatter the logging flags ask for."""
    if FLAGS.log_format == "json":
        return JsonFormatter(binary)
    return RedactingFormatter(FLAGS.logging_format)


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
        handler.ident = f"{binary}: "
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(formatter(binary))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if FLAGS.verbose else logging.INFO)
    for noisy in ("amqp", "kombu", "sqlalchemy", "alembic", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
