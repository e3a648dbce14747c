"""An in-process objectstore on a free port, with two tenants (alice in proj-a, bob in proj-b)."""

import boto3
import botocore.config
import pytest

from nova.auth import manager
from nova.objectstore.server import ObjectStoreServer
from tests.fixtures.database import sqlite_db  # noqa: F401

USERS = {"alice": ("alice-access", "alice-secret", "proj-a"), "bob": ("bob-access", "bob-secret", "proj-b")}


@pytest.fixture
def objectstore(sqlite_db, tmp_path):
    auth = manager.AuthManager()
    for user, (access, secret, project) in USERS.items():
        auth.create_user(user, access, secret)
        auth.create_project(project, user)
    server = ObjectStoreServer("127.0.0.1", 0, str(tmp_path / "buckets"))
    server.start()
    yield server
    server.stop()


def client_for(server, user="alice", signature_version="s3v4", project=True, **config):
    access, secret, proj = USERS[user]
    return boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{server.port}", region_name="nova",
        aws_access_key_id=f"{access}:{proj}" if project else access, aws_secret_access_key=secret,
        config=botocore.config.Config(signature_version=signature_version, retries={"max_attempts": 1},
                                      s3={"addressing_style": "path"}, **config))


@pytest.fixture
def s3(objectstore):
    return client_for(objectstore)


@pytest.fixture(autouse=True)
def _fresh_auth_cache():
    from nova.auth import credentials

    credentials.clear_cache()
    yield
    credentials.clear_cache()
