"""The objectstore's HTTP server: the S3 application on eventlet.wsgi."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import eventlet
import eventlet.wsgi

from nova import flags
from nova.objectstore.app import S3Application

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)
# S3 clients read x-amz-meta-* names as sent, so header names keep their case.
warnings.filterwarnings("ignore", message="capitalize_response_headers is disabled", category=DeprecationWarning)


class _WsgiLog:
    """eventlet.wsgi's access log, sent to our logger at debug level."""

    def write(self, message: str) -> None:
        LOG.debug(message.rstrip())


class ObjectStoreServer:
    """A startable, stoppable server (what nova.service.serve expects)."""

    def __init__(self, host: str | None = None, port: int | None = None, buckets_path: str | None = None) -> None:
        self.host = host if host is not None else FLAGS.s3_listen
        self.port = port if port is not None else FLAGS.s3_port
        self.app = S3Application(buckets_path)
        self._socket: Any = None
        self._thread: Any = None

    def start(self) -> None:
        self._socket = eventlet.listen((self.host, self.port), backlog=128)
        self.port = self._socket.getsockname()[1]
        self._thread = eventlet.spawn(eventlet.wsgi.server, self._socket, self.app, log=_WsgiLog(),
                                      protocol=eventlet.wsgi.HttpProtocol, keepalive=True,
                                      socket_timeout=300, max_size=1000,
                                      capitalize_response_headers=False)
        LOG.info("nova-objectstore listening on %s:%d, buckets in %s", self.host, self.port, self.app.store.root)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.kill()
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.wait()
