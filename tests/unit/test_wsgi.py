"""nova.wsgi.Server: the one eventlet.wsgi server behind nova-api and nova-objectstore."""

import hashlib
import http.client
import logging
import os
import socket
import time

import eventlet
import pytest

from nova import exception, flags, wsgi

FLAGS = flags.FLAGS


def _app(environ, start_response):
    """Echo the raw request headers; answer with a lower-case header name."""
    raw = environ.get("headers_raw") or ()
    body = "\n".join(f"{name}={value}" for name, value in raw).encode()
    start_response("200 OK", [("x-amz-meta-Mixed", "v"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def make_server():
    servers = []

    def make(**kwargs):
        server = wsgi.Server("test", _app, "127.0.0.1", 0, **kwargs)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


def _get(port, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", "/x", skip_accept_encoding=True)
    for name, value in (headers or {}).items():
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    return conn, response, response.read().decode()


def test_serves_a_request_on_an_ephemeral_port_with_raw_headers(make_server):
    server = make_server()
    assert server.port > 0 and server.host == "127.0.0.1"
    conn, response, body = _get(server.port, {"X-Amz-Date": "20260101T000000Z"})
    conn.close()
    assert response.status == 200
    assert "X-Amz-Date=20260101T000000Z" in body.splitlines()
    assert response.getheader("X-Amz-Meta-Mixed") == "v"
    assert ("X-Amz-Meta-Mixed", "v") in response.getheaders()


def test_keep_header_case_sends_names_as_written(make_server):
    server = make_server(keep_header_case=True)
    conn, response, _ = _get(server.port)
    conn.close()
    assert ("x-amz-meta-Mixed", "v") in response.getheaders()


def test_options_and_defaults():
    server = wsgi.Server("test", _app, "127.0.0.1", 0)
    try:
        assert server.limits.header_timeout == FLAGS.wsgi_header_timeout == 10
        assert server.limits.body_timeout == FLAGS.wsgi_body_timeout == 30
        assert server.limits.keepalive_timeout == FLAGS.wsgi_keepalive_timeout == 5
        assert server.max_connections_per_client == FLAGS.wsgi_max_connections_per_client
        assert not server.keep_header_case and not server.access_log
    finally:
        server.stop()
    server = wsgi.Server("test", _app, "127.0.0.1", 0, keepalive_timeout=3, access_log=True)
    try:
        assert server.limits.keepalive_timeout == 3 and server.access_log
    finally:
        server.stop()


def test_stop_is_prompt_with_an_idle_keepalive_connection(make_server):
    server = make_server()
    conn, response, _ = _get(server.port)
    assert response.status == 200
    started = time.monotonic()
    server.stop()
    server.wait()
    assert time.monotonic() - started < 2
    conn.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def test_a_port_in_use_is_one_clear_error():
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen()
    try:
        with pytest.raises(exception.ServiceUnavailable) as err:
            wsgi.Server("busy", _app, "127.0.0.1", other.getsockname()[1])
        assert f"port {other.getsockname()[1]} on 127.0.0.1 is in use" in str(err.value)
    finally:
        other.close()


# --- Timeouts and limits at the edge (issue 17) -------------------------------------------------

def _slow_body_app(environ, start_response):
    """Read the whole body (as the APIs do), then answer with its length."""
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Length", str(len(str(len(body)))))])
    return [str(len(body)).encode()]


def _readinto_body_app(environ, start_response):
    """Read the body with ``readinto`` into a reused buffer (as large uploads are), then answer with its
    length and SHA-256."""
    buffer = memoryview(bytearray(65536))
    digest, total = hashlib.sha256(), 0
    while count := environ["wsgi.input"].readinto(buffer):
        digest.update(buffer[:count])
        total += count
    reply = f"{total} {digest.hexdigest()}".encode()
    start_response("200 OK", [("Content-Length", str(len(reply)))])
    return [reply]


def _raw(port, data=b"", source="127.0.0.1", timeout=10):
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    if data:
        sock.sendall(data)
    return sock


def _read_until_closed(sock):
    """Everything the server sends until it closes; fails (socket.timeout) if it keeps the connection."""
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        chunks.append(data)
    sock.close()
    return b"".join(chunks)


@pytest.fixture
def edge_server():
    servers = []

    def make(app=_slow_body_app, **kwargs):
        kwargs.setdefault("header_timeout", 0.5)
        kwargs.setdefault("body_timeout", 0.5)
        kwargs.setdefault("keepalive_timeout", 0.5)
        server = wsgi.Server("edge", app, "127.0.0.1", 0, **kwargs)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop(timeout=0)


@pytest.mark.parametrize("data", [
    b"",                                          # connects and sends nothing
    b"GARBAGE-WITHOUT-END",                       # a request line that never ends
    b"GET / HTTP/1.1\r\nHost: x\r\n",             # headers that never end
], ids=["idle", "garbage-line", "unfinished-headers"])
def test_a_client_that_never_finishes_its_headers_is_closed_after_the_header_timeout(edge_server, data):
    server = edge_server()
    sock = _raw(server.port, data, timeout=5)
    started = time.monotonic()
    reply = _read_until_closed(sock)
    assert time.monotonic() - started < 2
    assert reply == b"" or reply.startswith(b"HTTP/1.1 408")


def test_headers_sent_one_byte_at_a_time_do_not_extend_the_header_timeout(edge_server):
    server = edge_server(header_timeout=0.6)
    sock = _raw(server.port, b"G", timeout=5)
    started = time.monotonic()
    with pytest.raises(OSError):
        for byte in b"ET / HTTP/1.1\r\nX-Slow: " + b"a" * 100:
            sock.send(bytes([byte]))
            time.sleep(0.05)
    assert time.monotonic() - started < 2
    sock.close()


@pytest.mark.parametrize("app", [_slow_body_app, _readinto_body_app], ids=["read", "readinto"])
@pytest.mark.parametrize("head", [
    b"PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-this",
    b"PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort",
], ids=["short-content-length", "truncated-chunked"])
def test_a_body_that_stops_coming_is_answered_408_after_the_body_timeout(edge_server, caplog, head, app):
    caplog.set_level(logging.INFO)
    server = edge_server(app=app)
    sock = _raw(server.port, head, timeout=5)
    started = time.monotonic()
    reply = _read_until_closed(sock)
    assert time.monotonic() - started < 2
    assert reply.startswith(b"HTTP/1.1 408")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("127.0.0.1" in r.getMessage() and r.levelno in (logging.INFO, logging.WARNING) for r in caplog.records)


def test_an_idle_keepalive_connection_is_closed_after_the_keepalive_timeout(edge_server):
    server = edge_server(app=_app, keepalive_timeout=0.3, header_timeout=5)
    conn, response, _ = _get(server.port)
    assert response.status == 200
    started = time.monotonic()
    conn.sock.settimeout(5)
    assert conn.sock.recv(10) == b""
    assert 0.2 < time.monotonic() - started < 1.5
    conn.close()


def test_too_many_or_too_large_headers_are_refused(edge_server):
    flags.FLAGS.wsgi_max_headers = 20
    flags.FLAGS.wsgi_max_header_size = 4096
    server = edge_server(app=_app, header_timeout=5)
    many = b"".join(b"X-H%d: v\r\n" % n for n in range(30))
    reply = _read_until_closed(_raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n", timeout=5))
    assert reply.split(b"\r\n", 1)[0].split()[1] in (b"400", b"431")
    large = b"".join(b"X-H%d: %s\r\n" % (n, b"v" * 1000) for n in range(8))
    reply = _read_until_closed(_raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + large + b"\r\n", timeout=5))
    assert reply.split(b"\r\n", 1)[0].split()[1] in (b"400", b"431")
    conn, response, _ = _get(server.port, {f"X-H{n}": "v" for n in range(10)})
    conn.close()
    assert response.status == 200


def test_a_thousand_half_open_connections_from_one_address_leave_others_served(edge_server, caplog):
    caplog.set_level(logging.INFO)
    server = edge_server(app=_app, pool_size=50, max_connections_per_client=10, header_timeout=30,
                         keepalive_timeout=30)
    flood = []
    try:
        for _ in range(1000):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", server.port))
            flood.append(sock)
        time.sleep(0.2)
        started = time.monotonic()
        reply = _read_until_closed(_raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                        source="127.0.0.2", timeout=5))
        assert reply.startswith(b"HTTP/1.1 200")
        assert time.monotonic() - started < 3
    finally:
        for sock in flood:
            sock.close()
    refusals = [r for r in caplog.records if "127.0.0.1" in r.getMessage() and r.levelno == logging.WARNING]
    assert 1 <= len(refusals) <= 5  # one line, not one per refused connection
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_full_pool_refuses_with_503_and_one_warning(edge_server, caplog):
    caplog.set_level(logging.INFO)
    server = edge_server(app=_app, pool_size=2, header_timeout=30, keepalive_timeout=30)
    held = [_raw(server.port, source=f"127.0.0.{n}") for n in (3, 4)]
    time.sleep(0.1)
    try:
        replies = [_read_until_closed(_raw(server.port, source="127.0.0.5", timeout=3)) for _ in range(3)]
    finally:
        for sock in held:
            sock.close()
    assert all(reply.startswith(b"HTTP/1.1 503") for reply in replies)
    warnings_ = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings_) == 1 and "edge" in warnings_[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_client_reset_while_sending_its_body_is_one_info_line(edge_server, caplog):
    caplog.set_level(logging.INFO)
    server = edge_server(body_timeout=5)
    sock = _raw(server.port, b"PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nsome")
    time.sleep(0.1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()  # RST
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not any("127.0.0.1" in r.getMessage() for r in caplog.records
                                                   if r.name.startswith("nova.wsgi")):
        time.sleep(0.05)
    lines = [r for r in caplog.records if r.name.startswith("nova.wsgi") and "127.0.0.1" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO and not lines[0].exc_info
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_second_server_on_a_port_in_use_is_refused_even_with_reuseport(edge_server):
    server = edge_server(app=_app)
    with pytest.raises(exception.ServiceUnavailable) as err:
        wsgi.Server("again", _app, "127.0.0.1", server.port)
    assert f"port {server.port} on 127.0.0.1 is in use" in str(err.value)


def test_stop_finishes_a_request_in_progress_and_closes_idle_connections(edge_server):
    def slow(environ, start_response):
        eventlet.sleep(0.5)
        start_response("200 OK", [("Content-Length", "4")])
        return [b"done"]

    server = edge_server(app=slow, keepalive_timeout=30, header_timeout=30)
    idle = _raw(server.port)
    busy = _raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    started = time.monotonic()
    server.stop(timeout=5)
    assert time.monotonic() - started < 1.5
    assert _read_until_closed(busy).endswith(b"done")
    assert _read_until_closed(idle) == b""


def test_stop_aborts_a_request_that_outlives_the_graceful_timeout(edge_server):
    def stuck(environ, start_response):
        eventlet.sleep(30)
        start_response("200 OK", [])
        return [b""]

    server = edge_server(app=stuck)
    busy = _raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    started = time.monotonic()
    server.stop(timeout=0.3)
    assert time.monotonic() - started < 1.5
    assert b"200" not in _read_until_closed(busy)


@pytest.mark.parametrize("framing", ["content-length", "chunked", "expect-100-continue"])
def test_readinto_fills_a_buffer_with_the_whole_body(edge_server, framing):
    server = edge_server(app=_readinto_body_app, body_timeout=5)
    data = os.urandom(300_000)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    if framing == "chunked":
        conn.request("PUT", "/x", body=iter([data[:100_000], data[100_000:]]))  # sent chunked: no length
    elif framing == "content-length":
        conn.request("PUT", "/x", body=data)
    else:  # the server must answer 100 Continue before the client sends anything
        sock = _raw(server.port, b"PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(data))
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(data)
        conn.sock = sock
        conn._HTTPConnection__state = "Request-sent"
    response = conn.getresponse()
    assert response.status == 200
    assert response.read().decode() == f"{len(data)} {hashlib.sha256(data).hexdigest()}"
    conn.close()
