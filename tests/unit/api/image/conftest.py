from dataclasses import dataclass
from typing import Iterator

import pytest

from nova.auth import manager
from tests.unit.api.conftest import make_users
from tests.unit.api.identity.client import Http, Reply, serve


@dataclass
class ImageClient:
    http: Http
    token: str

    def request(self, method: str, path: str, **kwargs) -> Reply:
        headers = dict(kwargs.pop("headers", {}))
        headers.setdefault("X-Auth-Token", self.token)
        return self.http.request(method, path, headers=headers, **kwargs)

    def as_user(self, user: str, project: str) -> "ImageClient":
        return ImageClient(self.http, manager.AuthManager().create_token(user, project))


@pytest.fixture
def images(sqlite_db) -> Iterator[ImageClient]:
    """The image pipeline in this process, with a token of alice in proj-a."""
    make_users()
    with serve("image") as client:
        yield ImageClient(client, manager.AuthManager().create_token("alice", "proj-a"))
