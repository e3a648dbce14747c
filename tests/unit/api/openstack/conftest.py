"""nova-api's OpenStack compute API in process (the real paste pipeline on
eventlet.wsgi, port 0), with users in two projects, tokens from AuthManager
and a helper that drives it with plain HTTP (urllib3, which botocore already needs)."""

from __future__ import annotations

import json as jsonlib
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
import urllib3

from nova import context, flags, wsgi
from nova.auth import manager
from nova.compute import states
from nova.db import api as db
from tests.unit.api.conftest import ROOT, make_image, make_users
from tests.fixtures.database import sqlite_db  # noqa: F401

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()


class Response:
    """The little of an HTTP response the tests read."""

    def __init__(self, raw: urllib3.BaseHTTPResponse) -> None:
        self.status_code = raw.status
        self.headers = raw.headers
        self.content = raw.data
        self.text = raw.data.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


@dataclass
class OsApi:
    port: int
    image_id: str
    tokens: dict[str, str] = field(default_factory=dict)
    services: dict[str, Any] = field(default_factory=dict)  # topic -> Service, with the ``cloud`` fixture
    pool: urllib3.PoolManager = field(default_factory=lambda: urllib3.PoolManager(retries=False,
                                                                                   timeout=urllib3.Timeout(30)))

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, user: str | None = "alice", json: Any = None,
                data: Any = None, headers: dict[str, str] | None = None, prefix: str = "/v2.1") -> Response:
        sent = dict(headers or {})
        if user is not None:
            sent["X-Auth-Token"] = self.tokens[user]
        if json is not None:
            data = jsonlib.dumps(json).encode()
            sent.setdefault("Content-Type", "application/json")
        return Response(self.pool.request(method, self.root + prefix + path, body=data, headers=sent))

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", path, json=json, **kwargs)

    def create_server(self, user: str = "alice", **extra: Any) -> dict[str, Any]:
        body = {"name": "vm", "imageRef": self.image_id, "flavorRef": "1"}
        body.update(extra)
        response = self.post("/servers", {"server": body}, user=user)
        assert response.status_code == 202, response.text
        return response.json()["server"]


def make_active(server_id: str, host: str = "test-host") -> Any:
    """What the scheduler and compute host would do: place the instance and mark it running."""
    instance = db.instance_get_all_by_filters(ADMIN, {"uuid": server_id})[0]
    return db.instance_update(ADMIN, instance["id"], {"host": host, "vm_state": states.ACTIVE, "task_state": None,
                                                      "power_state": states.RUNNING})


def fault_of(response: Response) -> tuple[str, int]:
    body = response.json()
    assert len(body) == 1, body
    (name, fault), = body.items()
    assert fault["code"] == response.status_code and fault["message"]
    return name, response.status_code


@pytest.fixture
def osapi(sqlite_db) -> Iterator[OsApi]:  # noqa: F811
    FLAGS.api_paste_config = os.path.join(ROOT, "etc", "nova", "api-paste.ini")
    make_users()
    image_id = str(int(make_image()[4:], 16))
    auth = manager.AuthManager()
    tokens = {"alice": auth.create_token("alice", "proj-a"), "bob": auth.create_token("bob", "proj-b"),
              "carol": auth.create_token("carol", "proj-a"), "root": auth.create_token("root", "proj-a")}
    server = wsgi.Server("osapi_compute", wsgi.load_paste_app("osapi_compute"), "127.0.0.1", 0)
    server.start()
    try:
        yield OsApi(server.port, image_id, tokens)
    finally:
        server.stop()


@pytest.fixture
def cloud(osapi) -> Iterator[OsApi]:
    """``osapi`` plus nova-scheduler, nova-compute (fake driver) and nova-network (--fake_network) in
    this process on the memory transport, with a network and floating addresses: servers really build."""
    from nova import combined, rpc, service
    from nova.network import linux_net

    FLAGS.fake_network = True
    FLAGS.report_interval = 1
    linux_net.reset()
    combined._bootstrap_networks()
    for n in range(1, 4):
        db.floating_ip_create(ADMIN, {"address": f"192.0.2.{n}", "host": FLAGS.host})
    services = [service.Service.create(binary=f"nova-{topic}", topic=topic)
                for topic in ("scheduler", "network", "compute")]
    for svc in services:
        svc.start()
    osapi.services = {svc.topic: svc for svc in services}
    try:
        yield osapi
    finally:
        for svc in services:
            svc.kill()
        rpc.cleanup()
        linux_net.reset()


def wait_status(api: OsApi, server_id: str, status: str, user: str = "alice", timeout: float = 10.0) -> dict:
    import time

    import eventlet

    deadline = time.monotonic() + timeout
    while True:
        server = api.get(f"/servers/{server_id}", user=user).json()["server"]
        if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
            return server
        if time.monotonic() > deadline:
            pytest.fail(f"server {server_id} is {server['status']}/{server['OS-EXT-STS:task_state']}, not {status}")
        eventlet.sleep(0.05)
