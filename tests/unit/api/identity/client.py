"""A small HTTP client and in-process servers for the identity and image API tests."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
from dataclasses import dataclass
from typing import Any, Iterator

from nova import flags, wsgi

FLAGS = flags.FLAGS
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Http:
    port: int

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                raw: bytes | None = None) -> Reply:
        headers = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            conn.close()


@contextlib.contextmanager
def serve(app_name: str) -> Iterator[Http]:
    """The api-paste.ini pipeline ``app_name`` on a free port of 127.0.0.1."""
    FLAGS.api_paste_config = os.path.join(ROOT, "etc", "nova", "api-paste.ini")
    server = wsgi.Server(app_name, wsgi.load_paste_app(app_name), "127.0.0.1", 0)
    server.start()
    try:
        yield Http(server.port)
    finally:
        server.stop()


def password_auth(user: str, password: str, project: str | None, by: str = "name") -> dict[str, Any]:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {by: user, "domain": {"name": "Default"}, "password": password}}}}}
    if project is not None:
        body["auth"]["scope"] = {"project": {by: project, "domain": {"id": "default"}}}
    return body
