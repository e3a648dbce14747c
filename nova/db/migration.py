"""Schema versions: ``nova-manage db sync`` and ``db version``, and readiness.

Alembic is configured here in code, so no alembic.ini is needed at run time;
the scripts live in ``nova/db/sqlalchemy/migrations``.  Alembic is imported
only to migrate: the readiness check every daemon and ``nova-manage`` command
makes reads the revision table and the scripts' headers directly, which
keeps start-up fast.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

import sqlalchemy
from sqlalchemy import exc as sa_exc

from nova import exception, flags
from nova.db.sqlalchemy import migrations, session

if TYPE_CHECKING:
    from alembic.config import Config

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

SYNC_HINT = "run nova-manage db sync"


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", os.path.dirname(os.path.abspath(migrations.__file__)))
    return config


def _revision(version: str | int | None) -> str:
    """``None`` means head, ``0`` the empty schema (base); a bare number like ``1`` names revision ``001``."""
    if version is None:
        return "head"
    text = str(version).strip()
    if text.isdigit() and int(text) == 0:
        return "base"
    return text.zfill(3) if text.isdigit() else text


@functools.lru_cache(maxsize=1)
def revisions() -> tuple[str, ...]:
    """Every revision, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    return tuple(s.revision for s in reversed(list(script.walk_revisions())))


_REVISION = re.compile(r"^revision\s*=\s*[\"']([^\"']+)[\"']\s*$", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(None|[\"']([^\"']+)[\"'])\s*$", re.MULTILINE)


def _head_from_scripts() -> str | None:
    """The head read from the scripts' ``revision``/``down_revision`` lines; None if not a plain chain."""
    versions = os.path.join(os.path.dirname(os.path.abspath(migrations.__file__)), "versions")
    revisions, parents = set(), set()
    for name in os.listdir(versions):
        if not name.endswith(".py") or name.startswith("_"):
            continue
        with open(os.path.join(versions, name), encoding="utf-8") as handle:
            text = handle.read()
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(2):
            parents.add(down.group(2))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def head_version() -> str:
    head = _head_from_scripts()
    if head is None:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "nova has no migrations"
    return head


def _current_revision() -> str | None:
    """The revision in alembic's version table (None before the first sync), read without alembic."""
    with session.get_engine().connect() as connection:
        if not sqlalchemy.inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:
        raise exception.DatabaseError(reason=f"the database has several schema heads: {', '.join(sorted(rows))}")
    return rows[0] if rows else None


def db_version() -> str | None:
    """The revision the database is at, or None before the first sync.

    Raises DatabaseNotReady (one line) when the database cannot be reached.
    """
    return wait_for_database()


def db_sync(version: str | int | None = None, progress: Callable[[str], Any] | None = None) -> str | None:
    """Move the schema to ``version`` (default: head) and return the revision reached.

    A version older than the database's is reached by downgrading, one
    revision at a time (columns a later revision added lose their values);
    ``0`` removes every table.  ``progress`` is called with one line per
    revision applied or reverted (nova-manage passes ``print``).
    """
    from alembic import command

    current = wait_for_database()
    target = _revision(version)
    chain = revisions()
    if target not in chain and target not in ("head", "base"):
        known = ", ".join(chain)
        raise exception.InvalidInput(reason=f"no schema revision {str(version)!r}; the revisions are {known}")
    down = target == "base" or (current in chain and target in chain and chain.index(target) < chain.index(current))
    config = _config()
    config.attributes["progress"] = progress
    try:
        with session.get_engine().connect() as connection:
            config.attributes["connection"] = connection
            with _sqlite_foreign_keys_off(connection):
                with connection.begin():
                    if down:
                        command.downgrade(config, target)
                    else:
                        command.upgrade(config, target)
    except sa_exc.DBAPIError as exc:
        raise exception.DatabaseError(reason=f"migration failed: {session.one_line(exc.orig)}") from None
    return db_version()


@contextlib.contextmanager
def _sqlite_foreign_keys_off(connection: sqlalchemy.Connection) -> Iterator[None]:
    """SQLite alters a table by copying it and dropping the old one, which its foreign-key checks refuse
    while other tables' rows point at it: they are off while migrating (a PRAGMA outside any transaction)
    and the keys are checked once the revisions are applied."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        yield
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.commit()
        if broken:
            tables = sorted({row[0] for row in broken})
            raise exception.DatabaseError(
                reason=f"migration left rows with dangling foreign keys in {', '.join(tables)}")
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def wait_for_database() -> str | None:
    """Connect and return the current revision, or raise DatabaseNotReady.

    An unreachable server is retried ``--sql_max_retries`` times, one
    ``--sql_retry_interval`` apart (the database may still be starting);
    a missing database, refused credentials or a bad URL are reported at once.
    """
    url = session.safe_url(FLAGS.sql_connection)
    attempts = max(1, FLAGS.sql_max_retries)
    for attempt in range(1, attempts + 1):
        try:
            return _current_revision()
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
            raise exception.DatabaseNotReady(url=url, reason=f"bad --sql_connection: {session.one_line(exc)}") from None
        except sa_exc.DBAPIError as exc:
            reason = _connect_failure(exc)
            if reason is not None:
                raise exception.DatabaseNotReady(url=url, reason=reason) from None
            if attempt == attempts:
                reason = f"cannot reach the database server after {attempts} attempt(s): {session.one_line(exc.orig)}"
                raise exception.DatabaseNotReady(url=url, reason=reason) from None
            LOG.warning("Database %s unreachable (attempt %d of %d); retrying", url, attempt, attempts)
            session.reset()
            time.sleep(FLAGS.sql_retry_interval)
    return None


def check_ready() -> None:
    """Raise DatabaseNotReady unless the database answers and is at head."""
    url = session.safe_url(FLAGS.sql_connection)
    current = wait_for_database()
    head = head_version()
    if current is None:
        raise exception.DatabaseNotReady(url=url, reason=f"the schema is not created; {SYNC_HINT}")
    if current != head:
        raise exception.DatabaseNotReady(url=url, reason=f"the schema is at {current}, not {head}; {SYNC_HINT}")


MYSQL_UNKNOWN_DATABASE = 1049
MYSQL_ACCESS_DENIED = (1044, 1045)


def _connect_failure(error: sa_exc.DBAPIError) -> str | None:
    """A reason when retrying cannot help (no such database, no access), else None."""
    orig = error.orig
    text = session.one_line(orig)
    code = orig.args[0] if orig is not None and orig.args else None
    if code == MYSQL_UNKNOWN_DATABASE or ("database" in text and "does not exist" in text):
        return f"the database does not exist (create it, then {SYNC_HINT}): {text}"
    if code in MYSQL_ACCESS_DENIED or "authentication failed" in text or ("role" in text and "does not exist" in text):
        return f"access denied: {text}"
    if "unable to open database file" in text:
        return f"cannot open the SQLite file: {text}"
    return None
