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

import errno
import logging
import os
import socket
import time
import warnings
from typing import Any, Callable, Iterable

import eventlet
import eventlet.event
import eventlet.greenio
import eventlet.hubs
import eventlet.patcher
import eventlet.wsgi
import webob
import webob.dec

from nova import context, exception, flags, log

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)
_select = eventlet.patcher.original("select")  # poll(): a look at a socket that never waits (timeout 0)
_BALANCE_STEP = 0.005  # seconds between looks while a worker leaves new connections to another

flags.DEFINE_integer("wsgi_pool_size", 1000, "Greenthreads serving requests in each API server", lower_bound=1)
flags.DEFINE_integer("max_header_line", 16384, "Longest HTTP header line an API server accepts", lower_bound=1024)
flags.DEFINE_integer("wsgi_max_header_size", 65536, "Most bytes of request line and headers an API server accepts",
                     lower_bound=1024)
flags.DEFINE_integer("wsgi_max_headers", 100, "Most header fields in one request an API server accepts", lower_bound=10)
flags.DEFINE_float("wsgi_header_timeout", 10, "Seconds a client has to send a whole request line and headers",
                   lower_bound=0.1)
flags.DEFINE_float("wsgi_body_timeout", 30, "Seconds an API server waits for the next bytes of a request body",
                   lower_bound=0.1)
flags.DEFINE_float("wsgi_keepalive_timeout", 5, "Seconds an idle keep-alive connection is kept open", lower_bound=0.1)
flags.DEFINE_integer("wsgi_max_connections_per_client", 100, "Most connections one client address may hold open",
                     lower_bound=1)
flags.DEFINE_integer("wsgi_backlog", 1024, "Listen backlog of each API server socket", lower_bound=1)
flags.DEFINE_float("wsgi_balance_wait", 0.05, "With several workers, most seconds a new connection waits for a "
                   "worker holding fewer connections to take it", lower_bound=0)

REQUEST_ID_KEY = "nova.request_id"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# eventlet warns each time a server keeps response header names as written (see Server).
warnings.filterwarnings("ignore", message="capitalize_response_headers is disabled", category=DeprecationWarning)


class ConfigNotFound(exception.NovaException):
    message = "Could not find paste config %(path)s (looked in %(searched)s)"


class PortInUse(exception.ServiceUnavailable):
    message = "port %(port)s on %(host)s is in use (%(name)s cannot listen)"


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


class ClientGone(BaseException):
    """The client stopped sending its request body (timeout) or dropped the connection.

    A BaseException like ``GreenletExit``: the request is abandoned, so the
    applications' ``except Exception`` fault handlers (which would answer 500
    and log a traceback) let it pass, while their ``finally`` and
    ``except BaseException`` clean-ups still run. ``Server`` logs it as one
    line (a client that timed out has been answered 408).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _HeaderTimeout(socket.timeout):
    """Raised into a connection's greenthread when its request headers took too long."""


def _plain_reply(status: str, extra: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: 0\r\n{extra}\r\n".encode()


_REPLY_408 = _plain_reply("408 Request Timeout")
_REPLY_429 = _plain_reply("429 Too Many Requests", "Retry-After: 1\r\n")
_REPLY_503 = _plain_reply("503 Service Unavailable", "Retry-After: 1\r\n")


class _Input:
    """``wsgi.input`` whose socket errors (body timeout, reset) become ``ClientGone``."""

    def __init__(self, inner: Any, protocol: "_Protocol") -> None:
        self._inner = inner
        self._protocol = protocol

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._inner, method)(*args)
        except socket.timeout:
            self._protocol.close_connection = 1
            _send_quietly(self._protocol.connection, _REPLY_408)
            raise ClientGone(f"sent no body bytes for {self._protocol.limits.body_timeout:g}s") from None
        except OSError as exc:
            self._protocol.close_connection = 1
            if exc.errno is None:
                # Not the socket: eventlet's chunked decoder met the end of the body too early (the client
                # may still be reading), which the application answers with its own 400.
                raise
            raise ClientGone(f"dropped the connection while sending the body ({exc.strerror or exc})") from None

    def read(self, size: int | None = -1) -> bytes:
        return self._call("read", -1 if size is None else size)

    def readline(self, size: int | None = None) -> bytes:
        return self._call("readline", size)

    def readinto(self, view: memoryview) -> int:
        """Read the body into ``view`` (a writable buffer), filling it unless the body ends first.

        A body with a Content-Length goes straight from the socket into ``view``, through eventlet's
        ``Input._do_read`` (a private method of the pinned release: it sends any 100 Continue and counts
        the bytes against the Content-Length); a chunked one is decoded by eventlet into new bytes anyway.
        """
        inner = self._inner
        if inner.chunked_input:
            data = self.read(len(view))
            view[:len(data)] = data
            return len(data)

        def fill(size: int) -> memoryview:
            return view[:inner.rfile.readinto(view[:size])]
        return len(self._call("_do_read", fill, len(view)))

    def readlines(self, hint: int | None = None) -> list[bytes]:
        return self._call("readlines", hint)

    def __iter__(self) -> Any:
        while True:
            line = self.readline()
            if not line:
                return
            yield line


class _Limits:
    """The timeouts and limits of one Server, read by its connections."""

    def __init__(self, header_timeout: float, body_timeout: float, keepalive_timeout: float, max_headers: int) -> None:
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.keepalive_timeout = keepalive_timeout
        self.max_headers = max_headers
        self.stopping = False


# Phases of a connection (index 3 of eventlet's [address, socket, state] connection list).
_NEW, _IDLE, _HEADERS, _APP = "new", "idle", "headers", "app"


class _Protocol(eventlet.wsgi.HttpProtocol):
    """eventlet's HTTP/1.1 handler with a deadline for the whole request head.

    A new connection has ``header_timeout`` to send its request line and
    headers; a kept-alive one waits ``keepalive_timeout`` for the first byte
    of its next request, then has ``header_timeout`` for the rest. While the
    application runs, each body read may wait ``body_timeout``. (This
    overrides eventlet's ``_read_request_line``, a private method of the
    eventlet release in requirements.txt.)
    """

    limits: _Limits
    _header_timer: Any = None

    def _read_request_line(self) -> bytes:  # type: ignore[override]
        phase = self.conn_state[3]
        self.conn_state[3] = _IDLE
        if self.limits.stopping or self.rfile.closed:
            self.close_connection = 1
            return b""
        try:
            if phase == _NEW:
                self._start_header_timer()
            self.connection.settimeout(self.limits.header_timeout if phase == _NEW else self.limits.keepalive_timeout)
            if not self.rfile.peek(1):
                return b""
            if self.limits.stopping:
                return b""
            if phase != _NEW:
                self._start_header_timer()
            self.conn_state[3] = _HEADERS
            self.connection.settimeout(self.limits.header_timeout)
            return self.rfile.readline(self.server.url_length_limit)
        except _HeaderTimeout:
            raise
        except OSError:
            # Idle past the keep-alive timeout, reset or shut down: close without a word.
            self.close_connection = 1
            return b""

    def _start_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = eventlet.Timeout(self.limits.header_timeout, _HeaderTimeout())

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _HeaderTimeout:
            self.close_connection = 1
            if self.conn_state[3] == _HEADERS:
                LOG.info("%s sent no complete request head within %gs; closing", self.client_address[0],
                         self.limits.header_timeout)
                _send_quietly(self.connection, _REPLY_408)
        finally:
            self._cancel_header_timer()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if len(self.headers) > self.limits.max_headers:
            self.send_error(431, "Too many header fields")
            return False
        return True

    def get_environ(self) -> dict[str, Any]:
        """The head is in: stop its deadline, give body reads their timeout, wrap ``wsgi.input``."""
        self._cancel_header_timer()
        self.conn_state[3] = _APP
        self.connection.settimeout(self.limits.body_timeout)
        environ = super().get_environ()
        environ["wsgi.input"] = _Input(environ["wsgi.input"], self)
        return environ

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (http.server's signature)
        LOG.info("%s: %s", self.client_address[0], format % args)


class Server:
    """One listening socket served by eventlet.wsgi in a greenthread pool.

    nova-api's pipelines and nova-objectstore both run on it. The socket is
    bound when the server is built (without ``SO_REUSEPORT``: a port another
    process holds is an error, reported before any service starts); ``start``
    spawns the accept loop and ``stop`` stops accepting, closes idle
    connections at once and lets requests in progress finish for up to
    ``--graceful_shutdown_timeout`` seconds before aborting them.

    At the edge: each connection has ``header_timeout`` seconds for its request
    head, ``body_timeout`` seconds per body read and ``keepalive_timeout``
    seconds of idleness between requests; one client address holds at most
    ``max_connections_per_client`` connections (more are answered 429 and
    closed) and, when every greenthread is busy, new connections are answered
    503 and closed instead of waiting in the backlog. Refusals are logged as
    one warning per address and minute.

    With several workers (``nova.workers``) ``balance`` gives the server its
    share of the workers' connection table: a worker holding more of this
    socket's connections than another leaves new ones to that one (the kernel
    wakes every worker for each), unless one waits untaken for
    ``--wsgi_balance_wait`` seconds (the other worker is busy or stuck).

    ``keep_header_case`` sends response header names as the application wrote
    them (S3 clients read ``x-amz-meta-*`` names as sent); ``access_log``
    sends eventlet's per-request lines to the debug log.  A subclass may
    set ``protocol`` to a subclass of ``_Protocol``.
    """

    protocol: type = _Protocol

    def __init__(self, name: str, app: WSGIApp, host: str, port: int, pool_size: int | None = None, *,
                 header_timeout: float | None = None, body_timeout: float | None = None,
                 keepalive_timeout: float | None = None, max_connections_per_client: int | None = None,
                 keep_header_case: bool = False, access_log: bool = False, backlog: int | None = None) -> None:
        self.name = name
        self.app = app
        self.keep_header_case = keep_header_case
        self.access_log = access_log
        self.limits = _Limits(header_timeout or FLAGS.wsgi_header_timeout, body_timeout or FLAGS.wsgi_body_timeout,
                              keepalive_timeout or FLAGS.wsgi_keepalive_timeout, FLAGS.wsgi_max_headers)
        self.max_connections_per_client = max_connections_per_client or FLAGS.wsgi_max_connections_per_client
        self._logger = logging.getLogger(f"nova.wsgi.{name}")
        self._pool = eventlet.GreenPool(pool_size or FLAGS.wsgi_pool_size)
        self._socket = self._listen(name, host, port, backlog or FLAGS.wsgi_backlog)
        self.host, self.port = self._socket.getsockname()[:2]
        self._thread: Any = None
        self._connections: dict[Any, list[Any]] = {}
        self._per_client: dict[str, int] = {}
        self._warned: dict[tuple[str, str], float] = {}
        self._stopped = eventlet.event.Event()
        self._share: Any = None

    def balance(self, share: Any) -> None:
        """Serve as one of several workers; ``share`` is a ``nova.workers.ConnectionShare``."""
        self._share = share

    @staticmethod
    def _listen(name: str, host: str, port: int, backlog: int) -> Any:
        try:
            info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
            # SO_REUSEADDR (restart while old connections linger in TIME_WAIT) but never SO_REUSEPORT,
            # which would let two daemons share the port and the kernel split clients between them.
            return eventlet.listen(info[-1], family=info[0], backlog=backlog, reuse_addr=True, reuse_port=False)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(port=port, host=host, name=name) from None
            raise exception.ServiceUnavailable(reason=f"{name} cannot listen on {host}:{port}: {exc.strerror or exc}") \
                from None

    def start(self) -> None:
        eventlet.wsgi.MAX_HEADER_LINE = FLAGS.max_header_line
        eventlet.wsgi.MAX_TOTAL_HEADER_SIZE = FLAGS.wsgi_max_header_size
        protocol = type("Protocol", (self.protocol,), {"limits": self.limits})
        self._wsgi = eventlet.wsgi.Server(
            self._socket, self._socket.getsockname(), self.app, log=_DebugLog(self._logger),
            log_output=self.access_log, keepalive=self.limits.keepalive_timeout,
            socket_timeout=self.limits.body_timeout, capitalize_response_headers=not self.keep_header_case,
            debug=False, protocol=protocol, url_length_limit=FLAGS.max_header_line)
        self._thread = eventlet.spawn(self._accept_loop)
        LOG.info("%s listening on %s:%s", self.name, self.host, self.port)

    def _accept_loop(self) -> None:
        while not self.limits.stopping:
            self._leave_new_connections_to_others()
            try:
                client, address = self._socket.accept()
            except OSError as exc:
                if self.limits.stopping:
                    return
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._warn("accept", "%s cannot accept connections: %s", self.name, exc.strerror)
                    eventlet.sleep(0.1)
                    continue
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    continue
                raise
            client_host = address[0]
            held = self._per_client.get(client_host, 0)
            if held >= self.max_connections_per_client:
                self._refuse(client, _REPLY_429, client_host, "%s: %s holds %d connections (the most one client may "
                             "hold, --wsgi_max_connections_per_client); refusing more", self.name, client_host, held)
                continue
            if self._pool.free() == 0:
                self._refuse(client, _REPLY_503, "pool", "%s: all %d greenthreads are busy (--wsgi_pool_size); "
                             "answering new connections 503", self.name, self._pool.size)
                continue
            self._per_client[client_host] = held + 1
            connection = [address, client, eventlet.wsgi.STATE_IDLE, _NEW]
            self._connections[address] = connection
            if self._share is not None:
                self._share.opened()
            self._pool.spawn(self._serve_connection, connection)

    def _leave_new_connections_to_others(self) -> None:
        """While another worker holds fewer of this socket's connections, do not accept: it is woken by each
        new connection too.  One it leaves waiting for ``--wsgi_balance_wait`` seconds is taken here after all.
        With none waiting, this sleeps until one comes (no polling while idle)."""
        share = self._share
        if share is None:
            return
        pending_since = None
        while share.another_holds_fewer() and not self.limits.stopping:
            if not _pending(self._socket):
                pending_since = None
                eventlet.hubs.trampoline(self._socket.fileno(), read=True)
                continue
            if pending_since is None:
                pending_since = time.monotonic()
            elif time.monotonic() - pending_since >= FLAGS.wsgi_balance_wait:
                return
            eventlet.sleep(_BALANCE_STEP)

    def _serve_connection(self, connection: list[Any]) -> None:
        address, client = connection[0], connection[1]
        try:
            self._wsgi.protocol(connection, self._wsgi)
        except ClientGone as gone:
            LOG.info("%s: %s %s; request abandoned", self.name, address[0], gone.reason)
        except socket.timeout:
            LOG.info("%s: %s read no response bytes for %gs; closing", self.name, address[0],
                     self.limits.body_timeout)
        except OSError as exc:
            LOG.info("%s: connection from %s ended: %s", self.name, address[0], exc.strerror or exc)
        finally:
            self._connections.pop(address, None)
            if self._share is not None:
                self._share.closed()
            held = self._per_client.get(address[0], 1) - 1
            if held > 0:
                self._per_client[address[0]] = held
            else:
                self._per_client.pop(address[0], None)
            connection[2] = eventlet.wsgi.STATE_CLOSE
            eventlet.greenio.shutdown_safe(client)
            client.close()

    def _refuse(self, client: Any, reply: bytes, warn_key: str, message: str, *args: Any) -> None:
        _send_quietly(client, reply)
        eventlet.greenio.shutdown_safe(client)
        client.close()
        self._warn(warn_key, message, *args)

    def _warn(self, key: str, message: str, *args: Any) -> None:
        """One warning per key and minute (a flood of refusals is one line, not thousands)."""
        now = time.monotonic()
        if now - self._warned.get((key, message), -60.0) >= 60:
            self._warned[(key, message)] = now
            LOG.warning(message, *args)

    def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, close idle connections, finish requests in progress within ``timeout`` seconds."""
        if self.limits.stopping:
            return
        self.limits.stopping = True
        if self._share is not None:
            self._share.leave()
        timeout = FLAGS.graceful_shutdown_timeout if timeout is None else timeout
        if self._thread is not None:
            self._thread.kill()
        try:
            self._socket.close()
        except OSError:
            pass
        for connection in list(self._connections.values()):
            in_app = connection[3] == _APP
            connection[2] = eventlet.wsgi.STATE_CLOSE
            if not in_app:
                eventlet.greenio.shutdown_safe(connection[1])
        if self._pool.running():
            with eventlet.Timeout(timeout, False):
                self._pool.waitall()
            for thread in list(self._pool.coroutines_running):
                thread.kill()
            if self._connections:
                LOG.warning("%s: aborted %d request(s) still running after %gs", self.name, len(self._connections),
                            timeout)
        self._stopped.send(True)

    def wait(self) -> None:
        if self._thread is None:
            return
        self._stopped.wait()


def _pending(listening: Any) -> bool:
    """Whether a connection waits to be accepted on ``listening`` (without waiting)."""
    poller = _select.poll()
    poller.register(listening.fileno(), _select.POLLIN)
    return bool(poller.poll(0))


def _send_quietly(client: Any, data: bytes) -> None:
    """Best-effort write of a short reply to a client that may be gone (never blocks)."""
    try:
        client.setblocking(False)
        client.send(data)
    except OSError:
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
