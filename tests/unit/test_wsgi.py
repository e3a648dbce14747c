"""nova.wsgi.Server: the one eventlet.wsgi server behind nova-api and nova-objectstore."""

import http.client
import socket
import time

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
        assert server.socket_timeout == FLAGS.wsgi_socket_timeout
        assert not server.keep_header_case and not server.access_log
    finally:
        server.stop()
    server = wsgi.Server("test", _app, "127.0.0.1", 0, socket_timeout=300, access_log=True)
    try:
        assert server.socket_timeout == 300 and server.access_log
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
        assert "busy cannot listen on 127.0.0.1:" in str(err.value)
    finally:
        other.close()
