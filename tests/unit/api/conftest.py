"""An in-process nova-api (the real paste pipeline on eventlet.wsgi, port 0)
on a synced SQLite database, with users in two projects and boto3 clients."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from typing import Any, Iterator

import boto3
import botocore.config
import pytest

from nova import context, exception, flags, wsgi
from nova.auth import manager
from nova.image import local as local_image
from tests.fixtures.database import sqlite_db  # noqa: F401

FLAGS = flags.FLAGS
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
NO_RETRY = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                                  read_timeout=30)


@dataclass
class Ec2Env:
    url: str
    image_id: str
    port: int

    def client(self, access: str = "AK-ALICE", secret: str = "SK-ALICE", project: str | None = None,
               path: str = "/services/Cloud") -> Any:
        """A boto3 client (SigV4 headers) of the user with these keys; with ``project``, signing with the
        user's pair for that project (as its novarc has it), or with ``ACCESS:PROJECT`` when the user has no
        such pair to get (a wrong secret, not a member: what the test means to be refused)."""
        key = project_pair(access, secret, project) if project else (access, secret)
        return boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{self.port}{path}", region_name="nova",
                            aws_access_key_id=key[0], aws_secret_access_key=key[1], config=NO_RETRY)


def project_pair(access: str, secret: str, project: str) -> tuple[str, str]:
    """The (access, secret) pair of the user with these keys for ``project`` (made if it has none), or
    ``(ACCESS:PROJECT, secret)`` when there is none to get (unknown key, wrong secret, not a member)."""
    auth = manager.AuthManager()
    try:
        user = auth.get_user_from_access_key(access)
        if user["secret_key"] == secret:
            pair = auth.project_ec2_credentials(user["id"], project)
            return pair["access_key"], pair["secret_key"]
    except (exception.NotFound, exception.NotAuthorized):
        pass
    return f"{access}:{project}", secret


def make_users() -> None:
    auth = manager.AuthManager()
    auth.create_user("alice", "AK-ALICE", "SK-ALICE")
    auth.create_user("bob", "AK-BOB", "SK-BOB")
    auth.create_user("carol", "AK-CAROL", "SK-CAROL")
    auth.create_user("root", "AK-ROOT", "SK-ROOT", admin=True)
    auth.create_project("proj-a", "alice")
    auth.create_project("proj-b", "bob")
    auth.add_to_project("carol", "proj-a")
    for user, project in (("alice", "proj-a"), ("bob", "proj-b")):
        auth.add_role(user, "netadmin")
        auth.add_role(user, "netadmin", project)


def make_image() -> str:
    admin = context.get_admin_context()
    service = local_image.LocalImageService()
    image = service.create(admin, {"name": "cirros", "is_public": True})
    service.store(admin, image["id"], io.BytesIO(b"not really a disk"))
    return "ami-%08x" % image["id"]


@contextlib.contextmanager
def serving_ec2() -> Iterator[Ec2Env]:
    """The users, an image and the ec2 pipeline on a port of its own, on the database in use."""
    FLAGS.api_paste_config = os.path.join(ROOT, "etc", "nova", "api-paste.ini")
    make_users()
    image_id = make_image()
    server = wsgi.Server("ec2", wsgi.load_paste_app("ec2"), "127.0.0.1", 0)
    server.start()
    try:
        yield Ec2Env(f"http://127.0.0.1:{server.port}/services/Cloud", image_id, server.port)
    finally:
        server.stop()


@pytest.fixture
def ec2_env(sqlite_db) -> Iterator[Ec2Env]:  # noqa: F811
    with serving_ec2() as env:
        yield env


def error_of(excinfo: Any) -> tuple[str, int]:
    """(EC2 code, HTTP status) of a botocore ClientError."""
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]
