"""nova-objectstore's request-head parser reads every header block as http.server's email-based one does."""

import http.client
import io

import pytest

from nova.objectstore import protocol

BLOCKS = [
    b"Host: a\r\nX-Amz-Date: 20260101T000000Z\r\nContent-Length: 4\r\n\r\n",
    b"host:a\r\nX-Amz-Meta-Colour:   blue  \r\nx-amz-meta-colour: red\r\n\r\n",  # duplicates, spacing
    b"Host: a\nAuthorization: AWS4-HMAC-SHA256 Credential=k/1/r/s3/aws4_request\n\n",  # bare LF lines
    b"Host: a\r\nX-Folded: one\r\n  two\r\n\r\n",  # obsolete line folding
    b"Host: a\r\nX-Cr: a\rb\r\n\r\n",  # a bare CR inside a value
    b"Host: a\r\nno colon here\r\nX-After: 1\r\n\r\n",
    b"Host: a\r\n: empty name\r\n\r\n",
    b"Host: a\r\nBad Name: x\r\n\r\n",
    b"Host: a\r\nX-Tab:\tvalue\t\r\nX-Empty:\r\n\r\n",
    b"Host: a\r\nX-Latin: caf\xe9\r\n\r\n",
    b"Host: a\r\nX-Last: no newline",
    b"\r\n",
]


@pytest.mark.parametrize("block", BLOCKS)
def test_headers_read_as_http_server_reads_them(block):
    ours = protocol.read_headers(io.BytesIO(block + b"BODY"))
    theirs = http.client.parse_headers(io.BytesIO(block + b"BODY"))
    assert ours.items() == theirs.items()
    assert len(ours) == len(theirs)
    for name in ("host", "X-AMZ-META-COLOUR", "x-folded", "x-cr", "x-after", "missing", "content-type"):
        assert ours.get(name) == theirs.get(name) and ours[name] == theirs[name]
        assert (name in ours) == (name in theirs)
    assert ours.get_content_type() == theirs.get_content_type()


def test_too_many_or_too_long_header_lines_are_refused():
    with pytest.raises(http.client.HTTPException):
        protocol.read_headers(io.BytesIO(b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"))
    with pytest.raises(http.client.LineTooLong):
        protocol.read_headers(io.BytesIO(b"X: " + b"v" * 70000 + b"\r\n\r\n"))


def _exchange(server, raw: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


@pytest.mark.parametrize("line, status", [
    (b"GET / HTTP/1.x", b"400"), (b"GET / HTTP/2.0", b"505"), (b"GET / FTP/1.1", b"400"),
    (b"GET / extra HTTP/1.1", b"400"), (b"PUT /", b"400"), (b"GET / HTTP/1.1", b"403"),
])
def test_request_lines_are_answered_as_before(objectstore, line, status):
    reply = _exchange(objectstore, line + b"\r\nHost: x\r\n\r\n")
    # (before the version is known the answer has no status line, as http.server answers HTTP/0.9)
    assert reply.startswith(b"HTTP/1.1 " + status) or b"Error code: " + status in reply, reply[:300]


def test_keep_alive_serves_requests_one_after_another(objectstore):
    reply = _exchange(objectstore, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 2 +
                      b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n")
    assert reply.count(b"HTTP/1.1 403") == 3 and b"<Code>AccessDenied</Code>" in reply
