"""The objectstore's HTTP server: the S3 application on the one ``nova.wsgi.Server``."""

from __future__ import annotations

import logging

from nova import flags, wsgi
from nova.objectstore.app import S3Application
from nova.objectstore.protocol import S3Protocol

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_integer("s3_shutdown_timeout", 3, "Seconds a stopping nova-objectstore lets requests in progress "
                     "finish; uploads still running then are dropped, leaving no partial object", lower_bound=0)
flags.DEFINE_integer("s3_workers", 1, "nova-objectstore processes serving its socket, each with its own event loop "
                     "so requests use more than one core; with more than one, the first process binds the port, "
                     "forks them, replaces any that dies and passes SIGTERM on (nova-combined runs one)",
                     lower_bound=1)


class S3Server(wsgi.Server):
    """The WSGI server, stopping within --s3_shutdown_timeout (an upload can last far longer than an API call),
    with the cheaper request-head parser of ``nova.objectstore.protocol``."""

    protocol = S3Protocol

    def stop(self, timeout: float | None = None) -> None:
        limit = FLAGS.graceful_shutdown_timeout if timeout is None else timeout
        super().stop(timeout=min(limit, FLAGS.s3_shutdown_timeout))


def create_server(host: str | None = None, port: int | None = None, buckets_path: str | None = None) -> wsgi.Server:
    """nova-objectstore's server, bound to --s3_listen:--s3_port unless told otherwise.

    Raises OSError when ``buckets_path`` cannot be used, and
    ``exception.ServiceUnavailable`` when the port cannot be bound.
    """
    app = S3Application(buckets_path)
    host = host if host is not None else FLAGS.s3_listen
    port = port if port is not None else FLAGS.s3_port
    # Header names keep their case: S3 clients read x-amz-meta-* names as sent.
    server = S3Server("objectstore", app, host, port, keep_header_case=True)
    LOG.info("nova-objectstore keeps buckets in %s", app.store.root)
    return server


def build_servers() -> list[wsgi.Server]:
    """The servers nova-objectstore runs (for nova-combined)."""
    return [create_server()]
