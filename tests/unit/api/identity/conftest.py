from typing import Iterator

import pytest

from tests.unit.api.conftest import make_users
from tests.unit.api.identity.client import Http, serve


@pytest.fixture
def identity(sqlite_db) -> Iterator[Http]:
    """The identity pipeline in this process; alice and carol in proj-a, bob in proj-b, root an admin."""
    make_users()
    with serve("identity") as client:
        yield client
