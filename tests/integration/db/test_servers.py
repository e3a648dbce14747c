"""Behaviour that needs a real PostgreSQL or MariaDB server."""

import time

import pytest
import sqlalchemy

from nova import context, exception, flags
from nova.db import api as db
from nova.db.sqlalchemy import session
from tests.fixtures import database

FLAGS = flags.FLAGS
SERVERS = ("postgresql", "mysql")


@pytest.mark.parametrize("server", SERVERS)
def test_a_missing_database_is_reported_at_once(server, monkeypatch):
    sleeps = []
    monkeypatch.setattr("nova.db.migration.time.sleep", sleeps.append)
    url = database.server_admin_url(server).set(database="nova_test_does_not_exist")
    FLAGS.sql_connection = url.render_as_string(hide_password=False)
    with pytest.raises(exception.DatabaseNotReady, match="database does not exist"):
        db.check_ready()
    assert sleeps == []


@pytest.mark.parametrize("server", SERVERS)
def test_an_unknown_account_is_reported_at_once(server, monkeypatch):
    sleeps = []
    monkeypatch.setattr("nova.db.migration.time.sleep", sleeps.append)
    url = database.server_admin_url(server).set(username="nova_test_nobody", password="wrong")
    FLAGS.sql_connection = url.render_as_string(hide_password=False)
    with pytest.raises(exception.DatabaseNotReady, match="access denied") as not_ready:
        db.check_ready()
    assert "wrong" not in str(not_ready.value)
    assert sleeps == []


def _kill_connections(server: str, name: str) -> int:
    """Kill the database's connections and wait until they are gone, as a restart leaves them."""
    engine = database.admin_engine(server)
    if server == "postgresql":
        count = "SELECT count(*) FROM pg_stat_activity WHERE datname = :name"
    else:
        count = "SELECT count(*) FROM information_schema.processlist WHERE db = :name"
    with engine.connect() as connection:
        if server == "postgresql":
            killed = connection.execute(sqlalchemy.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :name"
            ), {"name": name}).scalar()
        else:
            ids = connection.execute(sqlalchemy.text(
                "SELECT id FROM information_schema.processlist WHERE db = :name"
            ), {"name": name}).scalars().all()
            for ident in ids:
                connection.execute(sqlalchemy.text(f"KILL {int(ident)}"))
            killed = len(ids)
        deadline = time.monotonic() + 10
        while connection.execute(sqlalchemy.text(count), {"name": name}).scalar() and time.monotonic() < deadline:
            time.sleep(0.01)
    engine.dispose()
    return killed


@pytest.mark.parametrize("backend", SERVERS)
def test_pooled_connections_killed_by_a_restart_are_replaced(db_url, backend):
    admin = context.get_admin_context()
    service = db.service_create(admin, {"host": "h", "binary": "nova-compute", "topic": "compute"})
    assert _kill_connections(backend, session.get_engine().url.database) >= 1
    assert db.service_heartbeat(admin, service["id"])["report_count"] == 1
