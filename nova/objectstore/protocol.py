"""nova-objectstore's HTTP/1.1 request parsing: the shared server's protocol with a cheaper head parser.

``http.server`` hands every header block to the ``email`` package's parser,
which costs more CPU than the rest of a 4 KiB GET.  ``S3Protocol`` reads the
request line and header lines itself and builds the same
``http.client.HTTPMessage`` directly when every line is a plain
``Name: value`` line; anything else (folded continuation lines, a bare CR,
a line without a colon, a name with characters outside RFC 9110's token set)
goes to the ``email`` parser as before, so such requests are read exactly
as they were.  Limits and answers are those of ``http.server``: 400 for a
bad request line, 505 for HTTP/2 and later, 431 for a header line over
64 KiB or more than 100 header lines (the shared server's own limits on
header size, count and time still apply on top).
"""

from __future__ import annotations

import email.parser
import http.client
import re
from http import HTTPStatus
from typing import Any

from nova import wsgi

_MAX_LINE = 65536  # as http.client
_MAX_HEADERS = 100
# A header name the email parser reads as one: printable ASCII other than ':' and space.
_PLAIN_LINE = re.compile(r"[!-9;-~]+:[^\r\n]*\r?\n\Z")


class Headers(http.client.HTTPMessage):
    """An ``HTTPMessage`` whose ``get`` is a dictionary lookup (eventlet and http.server call it a dozen
    times a request; the email package scans every header each time)."""

    _first: dict[str, str]

    def get(self, name: str, failobj: Any = None) -> Any:  # type: ignore[override]
        return self._first.get(name.lower(), failobj)

    def __getitem__(self, name: str) -> Any:
        return self._first.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first


def _message(pairs: list[tuple[str, str]]) -> Headers:
    message = Headers()
    message._headers = pairs
    first: dict[str, str] = {}
    for name, value in pairs:
        first.setdefault(name.lower(), value)
    message._first = first
    return message


def read_headers(rfile: Any) -> http.client.HTTPMessage:
    """The header block at ``rfile`` as ``http.client.parse_headers`` would return it.

    Raises ``http.client.LineTooLong`` or ``http.client.HTTPException`` (too many headers) as it does.
    """
    lines: list[bytes] = []
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            break
        lines.append(line)
        if len(lines) > _MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
    pairs = []
    for raw in lines:
        text = raw.decode("iso-8859-1")
        if not _PLAIN_LINE.match(text):
            return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(
                b"".join(lines).decode("iso-8859-1") + "\r\n")
        name, _, value = text.partition(":")
        pairs.append((name, value.lstrip(" \t").rstrip("\r\n")))
    return _message(pairs)


class S3Protocol(wsgi._Protocol):
    """The shared server's protocol (timeouts, limits) with ``read_headers`` instead of the email parser."""

    def parse_request(self) -> bool:
        if not self._parse_head():
            return False
        if len(self.headers) > self.limits.max_headers:
            self.send_error(431, "Too many header fields")
            return False
        return True

    def _parse_head(self) -> bool:
        self.command = None
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = line.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            numbers = version[5:].split(".") if version.startswith("HTTP/") else []
            if (len(numbers) != 2 or not all(n.isdigit() and len(n) <= 10 for n in numbers)):
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
                return False
            major, minor = int(numbers[0]), int(numbers[1])
            if (major, minor) >= (1, 1) and self.protocol_version >= "HTTP/1.1":
                self.close_connection = False
            if major >= 2:
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({version[5:]})")
                return False
            self.request_version = version
        if len(words) not in (2, 3):
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({line!r})")
            return False
        command, path = words[0], words[1]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        if path.startswith("//"):  # as http.server: never a scheme-less absolute URI
            path = "/" + path.lstrip("/")
        self.command, self.path = command, path
        try:
            self.headers = read_headers(self.rfile)
        except http.client.LineTooLong as exc:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(exc))
            return False
        except http.client.HTTPException as exc:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", str(exc))
            return False
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = (self.headers.get("Expect") or "").lower()
        if (expect == "100-continue" and self.protocol_version >= "HTTP/1.1"
                and self.request_version >= "HTTP/1.1"):
            return bool(self.handle_expect_100())
        return True

