"""nova-manage run as a process against a flagfile, as an operator would."""

import os
import stat

import pytest

from nova.db import migration
from tests.fixtures.daemons import Cloud


@pytest.fixture
def cloud(tmp_path):
    """nova-manage needs no broker; a flagfile with its own SQLite file."""
    c = Cloud(tmp_path, rabbit_url=None)
    c.sync_db()
    yield c
    c.cleanup()


def _one_line_error(result, status=1):
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("nova-manage: error: ")
    return result.stderr.splitlines()[0]


def test_db_version_prints_head_after_sync(cloud):
    assert cloud.manage("db", "version").stdout.strip() == migration.head_version()


def test_db_sync_version_downgrades_and_upgrades_to_the_revision_named(cloud):
    head = migration.head_version()
    previous = f"{int(head) - 1:03d}"
    down = cloud.manage("db", "sync", "--version", str(int(previous)))
    assert down.stdout.splitlines()[-1] == f"Database is at revision {previous}"
    assert f"Reverted {head}:" in down.stdout
    assert cloud.manage("db", "version").stdout.strip() == previous
    up = cloud.manage("db", "sync", f"--version={head}")
    assert up.stdout.splitlines() == [f"Applied {head}: " + up.stdout.split(": ", 1)[1].splitlines()[0],
                                      f"Database is at revision {head}"]
    assert "no schema revision '99'" in _one_line_error(cloud.manage("db", "sync", "--version", "99", check=False))


def test_admin_project_and_novarc(cloud, tmp_path):
    out = cloud.manage("user", "admin", "demo", "AK", "SK").stdout
    assert "export EC2_ACCESS_KEY=AK" in out and "export EC2_SECRET_KEY=SK" in out
    cloud.manage("project", "create", "proj", "demo")
    cloud.manage("project", "environment", "proj", "demo", "novarc")
    novarc = tmp_path / "novarc"
    text = novarc.read_text()
    [pair] = cloud.manage("credentials", "list", "demo", "proj").stdout.splitlines()[1:]  # made for the novarc
    access = pair.split()[0]
    assert f'EC2_ACCESS_KEY="{access}"' in text and f'AWS_ACCESS_KEY_ID="{access}"' in text
    assert 'EC2_SECRET_KEY="SK"' not in text  # the pair's own secret, not the user's
    made = cloud.manage("credentials", "create", "demo", "proj", "K2", "S2").stdout
    assert made.splitlines() == ["export EC2_ACCESS_KEY=K2", "export EC2_SECRET_KEY=S2"]
    assert "K2" in cloud.manage("credentials", "list", "", "proj").stdout
    cloud.manage("credentials", "delete", "K2")
    assert [line.split()[0] for line in cloud.manage("credentials", "list").stdout.splitlines()[1:]] == [access]
    assert ":8773/services/Cloud" in text and ":3333" in text
    assert stat.S_IMODE(os.stat(novarc).st_mode) == 0o600
    cloud.manage("project", "zipfile", "proj", "demo", "creds.zip")
    assert (tmp_path / "creds.zip").stat().st_size > 0
    assert "proj" in cloud.manage("project", "list").stdout
    assert cloud.manage("user", "exports", "demo").stdout.splitlines()[0] == "export EC2_ACCESS_KEY=AK"


def test_roles(cloud):
    cloud.manage("user", "create", "dev")
    cloud.manage("user", "admin", "boss")
    cloud.manage("project", "create", "proj", "boss")
    cloud.manage("project", "add", "proj", "dev")
    cloud.manage("role", "add", "dev", "developer")
    cloud.manage("role", "add", "dev", "developer", "proj")
    assert cloud.manage("role", "has", "dev", "developer", "proj").stdout.strip() == "True"
    cloud.manage("role", "remove", "dev", "developer", "proj")
    assert cloud.manage("role", "has", "dev", "developer", "proj").stdout.strip() == "False"
    line = _one_line_error(cloud.manage("role", "add", "dev", "emperor", check=False))
    assert "emperor" in line


def test_quota_show_and_set(cloud):
    cloud.manage("user", "create", "boss")
    cloud.manage("project", "create", "proj", "boss")
    assert "cores: 20" in cloud.manage("project", "quota", "proj").stdout
    out = cloud.manage("project", "quota", "proj", "cores", "5").stdout
    assert "cores: 5" in out
    assert "cores: 5" in cloud.manage("project", "quota", "proj").stdout
    assert "bananas" in _one_line_error(cloud.manage("project", "quota", "proj", "bananas", "5", check=False))
    assert "integer" in _one_line_error(cloud.manage("project", "quota", "proj", "cores", "lots", check=False))


def test_flavors_seeded_created_and_deleted(cloud):
    listing = cloud.manage("instance_type", "list").stdout
    for name in ("m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"):
        assert name in listing
    assert "m1.small: Memory: 2048MB, VCPUS: 1, Storage: 20GB, FlavorID: 2" in listing
    cloud.manage("instance_type", "create", "m1.huge", "32768", "16", "320", "6")
    assert "m1.huge: Memory: 32768MB, VCPUS: 16" in cloud.manage("instance_type", "list").stdout
    cloud.manage("instance_type", "delete", "m1.huge")
    assert "m1.huge" not in cloud.manage("instance_type", "list").stdout
    _one_line_error(cloud.manage("instance_type", "create", "bad", "0", "1", "1", "9", check=False))


def test_operator_mistakes_are_one_line(cloud):
    assert "unknown category" in _one_line_error(cloud.manage("bogus", "x", check=False), status=2)
    assert "unknown action" in _one_line_error(cloud.manage("user", "explode", check=False), status=2)
    assert "wrong arguments" in _one_line_error(cloud.manage("project", "create", "only-name", check=False), status=2)
    cloud.manage("user", "create", "dup")
    assert "dup" in _one_line_error(cloud.manage("user", "create", "dup", check=False))
    assert "nobody" in _one_line_error(cloud.manage("project", "create", "p", "nobody", check=False))
    assert "ghost" in _one_line_error(cloud.manage("service", "disable", "ghost", "nova-compute", check=False))
    assert "--no_such_flag" in _one_line_error(cloud.manage("--no_such_flag=1", "db", "version", check=False),
                                               status=2)


def test_unsynced_database_says_to_run_db_sync(tmp_path):
    (tmp_path / "fresh").mkdir()
    fresh = Cloud(tmp_path / "fresh", rabbit_url=None)
    line = _one_line_error(fresh.manage("user", "list", check=False))
    assert "nova-manage db sync" in line
