"""nova-manage and the daemons on each real database server, as processes."""

import pytest

from nova.db import migration
from tests.fixtures.daemons import Cloud, wait_for
from tests.fixtures.database import BACKENDS, fresh_database, server_admin_url


@pytest.mark.parametrize("backend", BACKENDS)
def test_db_sync_then_version_prints_head(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        cloud = Cloud(tmp_path, rabbit_url=None, sql_connection=url)
        assert cloud.manage("db", "version").stdout.strip() == "None"
        out = cloud.manage("db", "sync").stdout
        assert f"Database is at revision {migration.head_version()}" in out
        assert cloud.manage("db", "version").stdout.strip() == migration.head_version()
        # A second sync is a no-op, not an error.
        cloud.manage("db", "sync")
        cloud.manage("user", "admin", "demo", "AK", "SK")
        assert "demo" in cloud.manage("user", "list").stdout


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_missing_database_is_one_line(backend, tmp_path):
    url = server_admin_url(backend).set(database="nova_no_such_db").render_as_string(hide_password=False)
    cloud = Cloud(tmp_path, rabbit_url=None, sql_connection=url)
    result = cloud.manage("db", "sync", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "nova_no_such_db" in result.stderr


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_daemons_heartbeat_on_database_server(backend, tmp_path, rabbit_vhost):
    with fresh_database(backend, tmp_path) as url:
        cloud = Cloud(tmp_path, rabbit_vhost, sql_connection=url)
        try:
            cloud.manage("db", "sync")
            cloud.start("nova-compute", "--host=pg-or-maria")
            wait_for(lambda: cloud.service_states().get(("pg-or-maria", "nova-compute")) == ":-)", timeout=30,
                     what="compute :-)")
        finally:
            cloud.cleanup()
