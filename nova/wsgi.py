"""WSGI plumbing shared by the HTTP daemons: the one eventlet.wsgi server of
nova-api and nova-objectstore, paste deploy loading, a middleware base class
and the request-id filter.

Every request gets a request id before anything else runs (the first filter
of each pipeline is ``RequestId``): it is bound to the greenthread so each
log line names it, handed to the application in ``environ["nova.request_id"]``
and returned in the ``X-Compute-Request-Id`` and ``x-amzn-RequestId``
response headers.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import warnings
from typing import Any, Callable, Iterable

import eventlet
import eventlet.wsgi
import greenlet
import webob
import webob.dec

from nova import context, exception, flags, log

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_integer("wsgi_pool_size", 1000, "Greenthreads serving requests in each API server", lower_bound=1)
flags.DEFINE_integer("wsgi_socket_timeout", 900, "Seconds an idle client connection is kept open", lower_bound=1)
flags.DEFINE_integer("max_header_line", 16384, "Longest HTTP header line an API server accepts", lower_bound=1024)

REQUEST_ID_KEY = "nova.request_id"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# eventlet warns each time a server keeps response header names as written (see Server).
warnings.filterwarnings("ignore", message="capitalize_response_headers is disabled", category=DeprecationWarning)


class ConfigNotFound(exception.NovaException):
    message = "Could not find paste config %(path)s (looked in %(searched)s)"


class PasteAppNotFound(exception.NovaException):
    message = "Could not load paste app %(name)s from %(path)s: %(reason)s"


def find_paste_config(name: str | None = None) -> str:
    """Where ``--api_paste_config`` is: as given, else in the usual directories."""
    name = name or FLAGS.api_paste_config
    if os.path.isabs(name):
        if os.path.exists(name):
            return name
        raise ConfigNotFound(path=name, searched=name)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = [os.getcwd(), FLAGS.state_path, "/etc/nova", os.path.join(here, "etc", "nova")]
    for directory in candidates:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return os.path.abspath(path)
    raise ConfigNotFound(path=name, searched=", ".join(candidates))


def load_paste_app(app_name: str, config_path: str | None = None) -> WSGIApp:
    """Build the WSGI application ``app_name`` of the paste config."""
    from paste import deploy

    path = config_path or find_paste_config()
    try:
        return deploy.loadapp(f"config:{path}", name=app_name)
    except (LookupError, ImportError, ValueError) as exc:
        raise PasteAppNotFound(name=app_name, path=path, reason=str(exc).splitlines()[0]) from None


class _DebugLog:
    """eventlet.wsgi's own lines (access log, dropped connections) at debug level."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def write(self, message: str) -> None:
        self.logger.debug(message.rstrip())


class Server:
    """One listening socket served by eventlet.wsgi in a greenthread pool.

    nova-api's pipelines and nova-objectstore both run on it. The socket is
    bound when the server is built, so a port in use is reported before any
    service starts; ``start`` spawns the serving greenthread and ``stop``
    kills it and closes the socket at once (what ``nova.service.serve``
    expects of a service).

    ``keep_header_case`` sends response header names as the application wrote
    them (S3 clients read ``x-amz-meta-*`` names as sent); ``access_log``
    sends eventlet's per-request lines to the debug log.
    """

    def __init__(self, name: str, app: WSGIApp, host: str, port: int, pool_size: int | None = None, *,
                 socket_timeout: float | None = None, keep_header_case: bool = False, access_log: bool = False,
                 backlog: int = 128) -> None:
        self.name = name
        self.app = app
        self.socket_timeout = socket_timeout or FLAGS.wsgi_socket_timeout
        self.keep_header_case = keep_header_case
        self.access_log = access_log
        self._logger = logging.getLogger(f"nova.wsgi.{name}")
        self._pool = eventlet.GreenPool(pool_size or FLAGS.wsgi_pool_size)
        try:
            info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
            self._socket = eventlet.listen(info[-1], family=info[0], backlog=backlog)
        except (OSError, socket.gaierror) as exc:
            reason = f"{name} cannot listen on {host}:{port}: {exc.strerror or exc}"
            raise exception.ServiceUnavailable(reason=reason) from None
        self.host, self.port = self._socket.getsockname()[:2]
        self._thread: Any = None

    def start(self) -> None:
        eventlet.wsgi.MAX_HEADER_LINE = FLAGS.max_header_line
        self._thread = eventlet.spawn(
            eventlet.wsgi.server,
            self._socket,
            self.app,
            custom_pool=self._pool,
            log=_DebugLog(self._logger),
            log_output=self.access_log,
            keepalive=True,
            socket_timeout=self.socket_timeout,
            capitalize_response_headers=not self.keep_header_case,
            debug=False,
        )
        LOG.info("%s listening on %s:%s", self.name, self.host, self.port)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.kill()
            self._thread = None
        try:
            self._socket.close()
        except OSError:
            pass

    def wait(self) -> None:
        if self._thread is None:
            return
        try:
            self._thread.wait()
        except greenlet.GreenletExit:
            pass


class Middleware:
    """A WSGI filter; ``factory`` is its paste.filter_factory."""

    def __init__(self, application: WSGIApp, **local_config: str) -> None:
        self.application = application
        self.local_config = local_config

    @classmethod
    def factory(cls, global_config: dict[str, str], **local_config: str) -> Callable[[WSGIApp], "Middleware"]:
        def _filter(app: WSGIApp) -> "Middleware":
            return cls(app, **local_config)

        return _filter

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.application(environ, start_response)


def request_id_of(environ: dict[str, Any]) -> str:
    """The id ``RequestId`` gave this request (one is made if it did not run)."""
    request_id = environ.get(REQUEST_ID_KEY)
    if request_id is None:
        request_id = environ[REQUEST_ID_KEY] = context.generate_request_id()
    return request_id


class RequestId(Middleware):
    """Name the request, log one line about it, and return the id in headers."""

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        request_id = context.generate_request_id()
        req.environ[REQUEST_ID_KEY] = request_id
        log.bind_request_id(request_id)
        started = time.monotonic()
        try:
            response = req.get_response(self.application)
        finally:
            log.bind_request_id(None)
        response.headers["X-Compute-Request-Id"] = request_id
        response.headers["x-amzn-RequestId"] = request_id
        LOG.info("%s %s %s %s %.3fs", req.remote_addr, req.method, req.path, response.status_int,
                 time.monotonic() - started, extra={"request_id": request_id})
        return response


class URLMap:
    """Send a request to the app mounted at the longest matching path prefix."""

    def __init__(self, mounts: dict[str, WSGIApp]) -> None:
        self.mounts = sorted(((prefix.rstrip("/"), app) for prefix, app in mounts.items()),
                             key=lambda item: len(item[0]), reverse=True)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        for prefix, app in self.mounts:
            if prefix == "" or path == prefix or path.startswith(prefix + "/"):
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix):]
                return app(environ, start_response)
        response = webob.Response(status=404, text="Not Found\n", content_type="text/plain", charset="UTF-8")
        return response(environ, start_response)


def urlmap_factory(loader: Any, global_conf: dict[str, str], **local_conf: str) -> URLMap:
    """paste.composite_factory: ``/path = app_name`` lines to a URLMap."""
    mounts = {}
    for path, app_name in local_conf.items():
        if not path.startswith("/"):
            raise ValueError(f"urlmap key {path!r} must start with /")
        mounts[path] = loader.get_app(app_name.strip(), global_conf=global_conf)
    return URLMap(mounts)
