"""nova-api and nova-objectstore as processes: one port each, and a prompt, clean stop on SIGTERM.

A second daemon on a port another process holds stops with one line (no
SO_REUSEPORT sharing); SIGTERM ends an idle daemon, or one a client holds a
keep-alive connection to, within a couple of seconds with status 0, and a
request still in progress is aborted after --graceful_shutdown_timeout.
"""

import http.client
import os
import signal
import socket
import time

import pytest

from tests.fixtures.daemons import ROOT, Cloud, free_port, wait_for

DAEMONS = {
    "nova-api": lambda port: ["--ec2_listen=127.0.0.1", f"--ec2_port={port}", "--metadata_port=0",
                              f"--api_paste_config={os.path.join(ROOT, 'etc', 'nova', 'api-paste.ini')}"],
    "nova-objectstore": lambda port: ["--s3_listen=127.0.0.1", f"--s3_port={port}"],
}


@pytest.fixture
def http_cloud(tmp_path):
    cloud = Cloud(tmp_path, rabbit_url=None)
    cloud.sync_db()
    yield cloud
    cloud.cleanup()


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def _start(cloud, binary, port, *args):
    daemon = cloud.start(binary, *DAEMONS[binary](port), *args)
    wait_for(lambda: _listening(port) or daemon.proc.poll() is not None, 60, what=f"{binary} to listen")
    assert daemon.proc.poll() is None, daemon.log()
    return daemon


def _stop_seconds(daemon):
    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    status = daemon.proc.wait(timeout=30)
    return status, time.monotonic() - started


@pytest.mark.parametrize("binary", sorted(DAEMONS))
def test_a_second_daemon_on_a_port_in_use_stops_with_one_line(http_cloud, binary):
    port = free_port()
    first = _start(http_cloud, binary, port)
    second = http_cloud.start(binary, *DAEMONS[binary](port))
    assert second.proc.wait(timeout=60) != 0
    log = second.log()
    lines = [line for line in log.splitlines() if f"port {port} on 127.0.0.1 is in use" in line]
    assert len(lines) == 1 and lines[0].startswith(f"{binary}: error: "), log
    assert "Traceback" not in log
    assert first.proc.poll() is None and _listening(port)


@pytest.mark.parametrize("binary", sorted(DAEMONS))
def test_sigterm_stops_an_idle_daemon_at_once(http_cloud, binary):
    daemon = _start(http_cloud, binary, free_port())
    time.sleep(1)  # idle: nothing for the hub to wake up for
    status, seconds = _stop_seconds(daemon)
    assert status == 0 and seconds < 3, (status, seconds)
    assert "Traceback" not in daemon.log()


@pytest.mark.parametrize("binary", sorted(DAEMONS))
def test_sigterm_stops_a_daemon_a_client_holds_a_keepalive_connection_to(http_cloud, binary):
    port = free_port()
    daemon = _start(http_cloud, binary, port)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/")
    response = conn.getresponse()
    response.read()
    assert response.getheader("Connection", "").lower() != "close"
    try:
        status, seconds = _stop_seconds(daemon)
    finally:
        conn.close()
    assert status == 0 and seconds < 3, (status, seconds)
    assert "Traceback" not in daemon.log()


def test_sigterm_aborts_an_upload_in_progress_after_the_graceful_timeout(http_cloud):
    port = free_port()
    daemon = _start(http_cloud, "nova-objectstore", port, "--graceful_shutdown_timeout=2", "--wsgi_body_timeout=60")
    upload = socket.create_connection(("127.0.0.1", port), timeout=10)
    upload.sendall(b"PUT /bucket/key HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000)
    time.sleep(0.5)
    try:
        status, seconds = _stop_seconds(daemon)
    finally:
        upload.close()
    assert status == 0 and 1.5 < seconds < 5, (status, seconds)
    log = daemon.log()
    assert "Traceback" not in log and " ERROR " not in log


def test_one_client_flooding_half_open_connections_leaves_another_served(http_cloud):
    port = free_port()
    daemon = _start(http_cloud, "nova-objectstore", port, "--wsgi_max_connections_per_client=20")
    flood = []
    try:
        for _ in range(1000):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            flood.append(sock)
        time.sleep(0.5)
        other = socket.socket()
        other.bind(("127.0.0.2", 0))
        other.settimeout(5)
        other.connect(("127.0.0.1", port))
        other.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = other.recv(100)
        other.close()
        assert reply.startswith(b"HTTP/1.1 403"), reply  # answered (anonymous access is denied)
    finally:
        for sock in flood:
            sock.close()
    log = daemon.log()
    assert "Traceback" not in log and " ERROR " not in log
    assert sum("127.0.0.1 holds 20 connections" in line for line in log.splitlines()) == 1


def test_no_daemon_listens_with_so_reuseport(http_cloud):
    """A process that sets SO_REUSEPORT itself cannot join a daemon's port either."""
    port = free_port()
    _start(http_cloud, "nova-objectstore", port)
    intruder = socket.socket()
    intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        with pytest.raises(OSError):
            intruder.bind(("127.0.0.1", port))
    finally:
        intruder.close()
