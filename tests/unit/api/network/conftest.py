"""The network API in process beside the compute API of tests/unit/api/openstack (same users and tokens)."""

from typing import Iterator

import pytest

from nova import wsgi
from tests.unit.api.openstack.conftest import OsApi, cloud, osapi, wait_status  # noqa: F401


@pytest.fixture
def net(osapi) -> Iterator[OsApi]:  # noqa: F811
    """The ``network`` pipeline on a free port; ``net.request(..., prefix="")`` for paths outside /v2.0."""
    server = wsgi.Server("network", wsgi.load_paste_app("network"), "127.0.0.1", 0)
    server.start()
    try:
        yield NetApi(server.port, osapi.image_id, osapi.tokens)
    finally:
        server.stop()


class NetApi(OsApi):
    def request(self, method, path, user="alice", json=None, data=None, headers=None, prefix="/v2.0"):
        return super().request(method, path, user=user, json=json, data=data, headers=headers, prefix=prefix)


def neutron_error(response) -> str:
    """The ``type`` of a NeutronError body (asserting its shape)."""
    error = response.json()["NeutronError"]
    assert error["message"] and error["detail"] == "", error
    return error["type"]
