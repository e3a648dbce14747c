"""Test-wide set-up: eventlet patching, clean flags, a state dir per test."""

import nova  # noqa: F401  (silences eventlet's deprecation notice before the import below)
import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402

import pytest  # noqa: E402

from nova import flags  # noqa: E402
from tests.fixtures import awscli  # noqa: E402


@pytest.fixture(autouse=True)
def clean_flags(tmp_path):
    """Every test starts with default flags, its own state_path, the memory transport, the fake virt
    driver and --fake_network."""
    flags.reset_for_tests(state_path=str(tmp_path), fake_rabbit=True, host="test-host", connection_type="fake",
                          fake_network=True)
    yield
    flags.reset_for_tests()


@pytest.fixture(scope="session", autouse=True)
def aws_waiters_poll_every_second():
    """The AWS CLI's ``aws ec2 wait ...`` in tests asks every second, not every 15 (tests/fixtures/awscli.py)."""
    if "AWS_DATA_PATH" in os.environ:  # a caller's own botocore data: left alone
        yield
        return
    path = awscli.fast_waiters_path()
    os.environ["AWS_DATA_PATH"] = path
    try:
        yield
    finally:
        del os.environ["AWS_DATA_PATH"]
        awscli.remove(path)


pytest_plugins = ["tests.fixtures.daemons", "tests.fixtures.database", "tests.fixtures.pgcluster", "tests.fixtures.rabbitnode", "tests.fixtures.rabbitcluster",
                  "tests.fixtures.rpc"]
