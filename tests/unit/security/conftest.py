"""One cloud per test module, driven in process through the real WSGI pipelines.

The module's ``cloud`` fixture builds a synced SQLite database, users alice
(proj-a) and bob (proj-b), nova-scheduler, nova-network (--fake_network),
nova-compute (the fake virt driver) and nova-volume (the in-memory volume
driver of tests/unit/volume/fakes.py) as Services on the memory transport, and
loads the EC2 and OpenStack compute paste pipelines and the S3 application.
Requests are signed as real clients sign them and handed to the WSGI apps
without a socket, so a table of a few hundred requests runs in seconds.

Flags are set once per module here (the tests of this directory share the
module's cloud), instead of once per test as tests/conftest.py does.
"""

from __future__ import annotations

import datetime
import email.utils
import json as jsonlib
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterator

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import webob

from nova import combined, context, flags, rpc, service, wsgi
from nova.auth import credentials, manager, signer
from nova.network import linux_net
from nova.api.openstack.v11 import middleware as v11_middleware
from nova.objectstore.server import create_server
from tests.fixtures.database import migrated_database, use_database
from tests.unit.api.conftest import ROOT, make_image, make_users

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()
EC2_HOST = "nova-api.test:8773"
S3_HOST = "127.0.0.1:3333"


@pytest.fixture(autouse=True)
def clean_flags() -> Iterator[None]:
    """Overrides tests/conftest.py: the module's ``cloud`` fixture sets the flags once for all its tests."""
    yield


@dataclass
class Reply:
    """What a test reads of a response: status, error code (EC2, S3 or OpenStack fault name) and body."""

    status: int
    body: bytes
    headers: Any

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def code(self) -> str | None:
        """The API's own error code: EC2 ``<Code>``, S3 ``<Code>``, or the OpenStack fault's name."""
        if self.status < 400:
            return None
        text = self.text
        if "<Code>" in text:
            return text.split("<Code>", 1)[1].split("</Code>", 1)[0]
        try:
            body = jsonlib.loads(text)
        except ValueError:
            return None
        return next(iter(body)) if isinstance(body, dict) and len(body) == 1 else None


@dataclass
class Cloud:
    ec2_app: Any
    os_app: Any
    s3_app: Any
    image_app: Any
    network_app: Any
    image_id: str  # the public image, ami-...
    buckets_path: str
    pairs: dict[str, tuple[str, str]] = field(default_factory=dict)  # user -> (access, secret) of its project
    tokens: dict[str, str] = field(default_factory=dict)
    services: dict[str, Any] = field(default_factory=dict)

    # -- EC2 ---------------------------------------------------------------------------------------------
    def ec2(self, action: str, user: str = "alice", **params: Any) -> Reply:
        """One EC2 query request (Signature Version 2, HmacSHA256, POST form), as euca2ools sends it."""
        access, secret = self.pairs[user]
        fields = {"Action": action, "Version": "2016-11-15", "AWSAccessKeyId": access,
                  "SignatureMethod": "HmacSHA256", "SignatureVersion": "2",
                  "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        fields.update({key: str(value) for key, value in params.items()})
        fields["Signature"] = signer.sigv2_query_signature(secret, "POST", EC2_HOST, "/services/Cloud", fields,
                                                           "HmacSHA256")
        req = webob.Request.blank("/services/Cloud", method="POST",
                                  body=urllib.parse.urlencode(fields).encode(),
                                  headers={"Host": EC2_HOST,
                                           "Content-Type": "application/x-www-form-urlencoded"})
        return _call(req, self.ec2_app)

    # -- OpenStack compute ---------------------------------------------------------------------------------
    def os(self, method: str, path: str, user: str = "alice", json: Any = None, prefix: str = "/v2.1",
           body: bytes | None = None, headers: dict[str, str] | None = None, app: Any = None) -> Reply:
        """An OpenStack request with the user's token: compute (``prefix`` /v2.1, /v1.1), or with ``app``
        the image or network API (``prefix`` "")."""
        sent = {"X-Auth-Token": self.tokens[user], **(headers or {})}
        if json is not None:
            body = jsonlib.dumps(json).encode()
            sent.setdefault("Content-Type", "application/json")
        req = webob.Request.blank(prefix + path, method=method, headers=sent)
        req.environ["REMOTE_ADDR"] = f"10.99.0.{ord(user[0])}"  # each user its own rate-limit bucket
        if body is not None:
            req.body = body
        return _call(req, app or self.os_app)

    # -- S3 --------------------------------------------------------------------------------------------------
    def s3(self, method: str, path: str, user: str = "alice", body: bytes = b"",
           headers: dict[str, str] | None = None) -> Reply:
        """One S3 request signed with Signature Version 2 (HmacV1), path style, as s3cmd sends it."""
        access, secret = self.pairs[user]
        sent = {"Date": email.utils.formatdate(usegmt=True), **(headers or {})}
        if body:
            sent.setdefault("Content-Type", "application/octet-stream")
        aws = botocore.awsrequest.AWSRequest(method=method, url=f"http://{S3_HOST}{path}", data=body,
                                             headers=sent)
        botocore.auth.HmacV1Auth(botocore.credentials.Credentials(access, secret)).add_auth(aws)
        raw_path, _, query = path.partition("?")
        req = webob.Request.blank(urllib.parse.unquote(raw_path), method=method,
                                  headers={**dict(aws.headers), "Host": S3_HOST})
        req.environ["RAW_PATH_INFO"] = raw_path
        req.environ["QUERY_STRING"] = query
        if body:
            req.body = body
        return _call(req, self.s3_app)


def _call(req: webob.Request, app: Any) -> Reply:
    response = req.get_response(app)
    return Reply(response.status_int, response.body, response.headers)


def unlimit(app: Any) -> None:
    """Lift the v1.0/v1.1 per-user rate limits (10 POSTs a minute) of the pipelines under ``app``: the
    tables send hundreds of requests as one user in a second, and the limits are not what they test."""
    seen, todo = set(), [app]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, v11_middleware.RateLimit):
            node.limiter.limits = []
        todo.extend(child for _prefix, child in getattr(node, "mounts", ()))
        if getattr(node, "application", None) is not None:
            todo.append(node.application)


def start_services() -> dict[str, Any]:
    running = {}
    for topic in ("scheduler", "network", "compute", "volume"):
        svc = service.Service.create(binary=f"nova-{topic}", topic=topic)
        svc.start()
        running[topic] = svc
    return running


@pytest.fixture(scope="module")
def cloud(tmp_path_factory) -> Iterator[Cloud]:
    from tests.unit.volume.fakes import MemoryDriver

    state = tmp_path_factory.mktemp("cloud")
    flags.reset_for_tests(state_path=str(state), fake_rabbit=True, host="test-host", connection_type="fake",
                          fake_network=True)
    FLAGS.api_paste_config = os.path.join(ROOT, "etc", "nova", "api-paste.ini")
    FLAGS.volume_driver = "tests.unit.volume.fakes.MemoryDriver"
    FLAGS.periodic_interval = 3600  # no periodic task writes while a table row watches for writes
    FLAGS.num_networks = 4  # VlanManager: one network per project
    FLAGS.network_size = 16
    FLAGS.fixed_range = "10.0.0.0/26"  # four networks of 16 (a /8 would make create_networks walk a million)
    MemoryDriver.instances.clear()
    credentials.clear_cache()
    linux_net.reset()
    with migrated_database("sqlite", state) as url:
        use_database(url)
        make_users()
        auth = manager.AuthManager()
        pairs = {}
        for user, project in (("alice", "proj-a"), ("bob", "proj-b"), ("carol", "proj-a")):
            pair = auth.project_ec2_credentials(user, project)
            pairs[user] = (pair["access_key"], pair["secret_key"])
        tokens = {user: auth.create_token(user, project)
                  for user, project in (("alice", "proj-a"), ("bob", "proj-b"), ("carol", "proj-a"))}
        image_id = make_image()
        combined._bootstrap_networks()
        running = start_services()
        buckets = str(state / "buckets")
        s3_server = create_server("127.0.0.1", 0, buckets)  # image registration reads bundles over HTTP
        s3_server.start()
        FLAGS.s3_host, FLAGS.s3_port = "127.0.0.1", s3_server.port
        os_app = wsgi.load_paste_app("osapi_compute")
        unlimit(os_app)
        try:
            yield Cloud(wsgi.load_paste_app("ec2"), os_app, s3_server.app, wsgi.load_paste_app("image"),
                        wsgi.load_paste_app("network"), image_id, buckets, pairs, tokens, running)
        finally:
            s3_server.stop()
            for svc in running.values():
                svc.kill()
            rpc.cleanup()
            linux_net.reset()
            credentials.clear_cache()
    flags.reset_for_tests()
