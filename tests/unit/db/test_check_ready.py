"""nova.db.api.check_ready: one clear reason when the database is not usable."""

import pytest

from nova import exception, flags
from nova.db import api as db
from nova.db import migration

FLAGS = flags.FLAGS


def test_ready_once_synced(empty_db_url):
    with pytest.raises(exception.DatabaseNotReady, match="run nova-manage db sync") as not_ready:
        db.check_ready()
    assert "\n" not in str(not_ready.value)
    migration.db_sync()
    db.check_ready()


def test_an_old_schema_is_not_ready(empty_db_url, monkeypatch):
    migration.db_sync(1)
    monkeypatch.setattr(migration, "head_version", lambda: "002")
    with pytest.raises(exception.DatabaseNotReady, match="at 001, not 002; run nova-manage db sync"):
        db.check_ready()


def test_an_unreachable_server_is_retried_then_reported(monkeypatch):
    sleeps = []
    monkeypatch.setattr(migration.time, "sleep", sleeps.append)
    FLAGS.sql_connection = "postgresql://nova:secret@127.0.0.1:1/nova"
    FLAGS.sql_max_retries = 3
    FLAGS.sql_retry_interval = 0.25
    with pytest.raises(exception.DatabaseNotReady) as not_ready:
        db.check_ready()
    message = str(not_ready.value)
    assert "cannot reach the database server after 3 attempt(s)" in message
    assert "secret" not in message and "\n" not in message
    assert sleeps == [0.25, 0.25]


def test_a_server_that_comes_up_is_used(monkeypatch, tmp_path):
    FLAGS.sql_connection = f"sqlite:///{tmp_path}/late.sqlite"
    migration.db_sync()
    FLAGS.sql_connection = "mysql://nova@127.0.0.1:1/nova"
    FLAGS.sql_max_retries = 5

    def server_starts(_interval):
        FLAGS.sql_connection = f"sqlite:///{tmp_path}/late.sqlite"

    monkeypatch.setattr(migration.time, "sleep", server_starts)
    db.check_ready()


def test_a_bad_url_is_reported():
    FLAGS.sql_connection = "nosuchdb://x/y"
    with pytest.raises(exception.DatabaseNotReady, match="bad --sql_connection"):
        db.check_ready()
