"""The process's engine and sessions, built lazily from ``--sql_connection``.

One engine per process.  It is rebuilt when the flag's value changes (tests
point each case at a fresh database) and its pool recycles idle connections
and checks each one before use, so a database restart costs one failed ping,
not a failed request.  The check is free for a connection in steady use: a
server that closed it (a restart, a killed backend) left its socket readable,
which a zero-timeout poll sees; only a connection idle for longer than
``--sql_ping_idle_seconds`` (or one whose socket is readable) is pinged with
a round trip to the server.  Drivers are chosen so they do not block the eventlet hub:
PyMySQL for MySQL/MariaDB, psycopg2 made green by psycogreen for PostgreSQL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
import sys
import threading
import time
from typing import Any, Iterator

import sqlalchemy
from sqlalchemy import event, exc as sa_exc
from sqlalchemy.engine import Connection, Engine, URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from nova import exception, flags
from nova.db.sqlalchemy import pool, prepared



def _poll() -> Any:
    """A real poll object: eventlet's green select module has none, and a zero-timeout poll never blocks.
    eventlet is asked only where it is loaded (nova-manage's database commands run without it)."""
    if "eventlet" in sys.modules:
        import eventlet.patcher

        return eventlet.patcher.original("select").poll()
    return select.poll()

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_float("sql_connect_retry_seconds", 5.0,
                   "Seconds a request keeps trying to reach an unreachable database before it fails with 503",
                   lower_bound=0)
flags.DEFINE_integer("sql_pool_timeout", 10,
                     "Seconds a request waits for a free pooled database connection before it fails with 503",
                     lower_bound=1)
flags.DEFINE_integer("sql_max_pool_size", 5,
                     "Database connections each process keeps open (PostgreSQL and MySQL)", lower_bound=1)
flags.DEFINE_integer("sql_max_overflow", 10,
                     "Connections a process may open beyond --sql_max_pool_size under load (closed once idle for "
                     "--sql_overflow_idle_seconds)",
                     lower_bound=0)
flags.DEFINE_float("sql_ping_idle_seconds", 2.0,
                   "A pooled connection idle for longer than this is pinged before use; one in steady use is only "
                   "checked for a close by the server, without a round trip", lower_bound=0)
flags.DEFINE_string("sql_statement_count_dir", "",
                    "Directory where each process counts the SQL statements it sends, in a file named after its "
                    "pid (8 bytes, little-endian; bench/cloud_bench.py reads them); empty: no counting")

SQLITE_BUSY_TIMEOUT_MS = 30000

_lock = threading.Lock()
_engine: Engine | None = None
_engine_url: str | None = None
_maker: sessionmaker[Session] | None = None
_psycopg_patched = False


def normalize_url(url: str) -> URL:
    """Pick nova's driver for each backend and fill in its connect options."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "mysql":
        parsed = parsed.set(drivername="mysql+pymysql")
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def safe_url(url: str | URL) -> str:
    """The URL with its password masked, fit for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return "<unparsable URL>"


def _green_psycopg() -> None:
    global _psycopg_patched
    if _psycopg_patched:
        return
    import eventlet.patcher

    if eventlet.patcher.is_monkey_patched("socket"):
        import psycogreen.eventlet

        psycogreen.eventlet.patch_psycopg()
        _psycopg_patched = True


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _socket_of(dbapi_connection: Any) -> int | None:
    """The file descriptor of a psycopg2 or PyMySQL connection, None when it has none (closed)."""
    try:
        if hasattr(dbapi_connection, "fileno"):
            return dbapi_connection.fileno()
        sock = getattr(dbapi_connection, "_sock", None)
        return sock.fileno() if sock is not None else None
    except Exception:  # noqa: BLE001 - a closed connection's fileno raises
        return None


def _closed_by_server(dbapi_connection: Any) -> bool:
    """Whether an idle connection's socket has something to read: the server's goodbye (or a close).

    Between transactions the server sends nothing unasked, so a readable
    socket means the connection is probably dead; it gets a real ping.
    """
    fd = _socket_of(dbapi_connection)
    if fd is None or fd < 0:
        return True
    poller = _poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def _watch_connections(engine: Engine) -> None:
    """Replace pool_pre_ping: ping a pooled connection only when it idled long or its server hung up."""
    dialect = engine.dialect

    def connected(_dbapi_connection: Any, record: Any) -> None:
        record.info["nova_returned_at"] = time.monotonic()

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["nova_returned_at"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle = time.monotonic() - record.info.get("nova_returned_at", 0.0)
        if idle <= FLAGS.sql_ping_idle_seconds and not _closed_by_server(dbapi_connection):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                # The pool drops this connection and checks out another (a new one if need be).
                raise sa_exc.DisconnectionError(one_line(exc)) from exc
            raise

    event.listen(engine, "connect", connected)
    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


class _StatementCounter:
    """Counts statements into an mmap'ed file another process can read at any time."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.open()

    def open(self) -> None:
        """Count from 0 into this process's own file (again after a fork: the map is shared with the parent)."""
        import mmap

        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, str(os.getpid()))
        with open(path, "wb") as handle:
            handle.write(b"\0" * 8)
        with open(path, "r+b") as handle:
            self._map = mmap.mmap(handle.fileno(), 8)
        self._count = 0

    def __call__(self, *_args: Any) -> None:
        self._count += 1
        self._map[:8] = self._count.to_bytes(8, "little")


_counter: _StatementCounter | None = None


def _count_statements(engine: Engine) -> None:
    global _counter
    if _counter is None or _counter.directory != FLAGS.sql_statement_count_dir:
        _counter = _StatementCounter(FLAGS.sql_statement_count_dir)
    event.listen(engine, "before_cursor_execute", _counter)


# A statement that only reads: a SELECT without a row lock (FOR UPDATE / SHARE / NO KEY UPDATE / KEY SHARE).
_PLAIN_READ = re.compile(r"\s*SELECT\b(?!.*\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b)",
                         re.IGNORECASE | re.DOTALL)


# get_connection(single_statement=True)'s execution option: [statements run so far].
_SINGLE = "nova_single_statement"
# In a checked-out connection's info: a statement that writes has run in autocommit (committed by itself).
_COMMITTED_ALONE = "nova_committed_alone"


def _read_outside_transactions(engine: Engine) -> None:
    """PostgreSQL: run the plain SELECTs before a transaction's first write in autocommit.

    psycopg2 sends BEGIN in a round trip of its own before a transaction's first
    statement and COMMIT in another after its last: a read-only transaction of
    one SELECT costs three round trips, and most of the back end's transactions
    are such reads.  Under READ COMMITTED (nova's level) every statement sees its
    own snapshot anyway and a plain SELECT takes no row locks, so running it
    outside a transaction changes nothing anyone can observe.  The connection
    leaves autocommit (psycopg2 then sends BEGIN) before the first statement that
    writes, locks rows or uses a named cursor, so writes stay atomic together;
    each checkout starts in autocommit again (reset on return left it idle).
    """

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if dbapi_connection.closed:
            raise sa_exc.DisconnectionError("the connection was closed")  # the pool opens another
        if not dbapi_connection.autocommit:
            dbapi_connection.autocommit = True
        record.info.pop(_COMMITTED_ALONE, None)

    def before_cursor_execute(conn: Any, cursor: Any, statement: str, _parameters: Any, context: Any,
                              _executemany: bool) -> None:
        dbapi_connection = cursor.connection
        if not dbapi_connection.autocommit:
            return
        single = context.execution_options.get(_SINGLE) if context is not None else None
        plain_read = cursor.name is None and _PLAIN_READ.match(statement) is not None
        if single is not None:
            single[0] += 1
            if single[0] > 1:
                raise RuntimeError("a second statement in a get_connection(single_statement=True) block")
            if not plain_read:
                conn.info[_COMMITTED_ALONE] = True
            return
        if not plain_read:
            if conn.info.get(_COMMITTED_ALONE):
                raise RuntimeError("a write in one_transaction after a single statement that committed by itself")
            dbapi_connection.autocommit = False

    event.listen(engine, "checkout", checked_out, insert=True)  # before _watch_connections' ping, if any
    event.listen(engine, "before_cursor_execute", before_cursor_execute)


def _program_name() -> str:
    """The running binary's name (nova-api, nova-compute, ...), as the database server shows it."""
    return os.path.basename(sys.argv[0] or "nova")[:63] or "nova"


def create_engine(url: str) -> Engine:
    """An engine for ``url`` with nova's driver, pool and connect settings."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False}
        if parsed.database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool
        else:
            directory = os.path.dirname(os.path.abspath(parsed.database))
            os.makedirs(directory, exist_ok=True)
    else:
        if backend == "postgresql":
            _green_psycopg()
            # pg_stat_activity then says which daemon holds each connection.
            kwargs["connect_args"] = {"application_name": _program_name()}
        elif backend == "mysql":
            kwargs["connect_args"] = {"program_name": _program_name()}
        kwargs.update(poolclass=pool.KeepingPool, pool_recycle=FLAGS.sql_idle_timeout, pool_timeout=FLAGS.sql_pool_timeout,
                      pool_size=FLAGS.sql_max_pool_size, max_overflow=FLAGS.sql_max_overflow)
    engine = sqlalchemy.create_engine(parsed, **kwargs)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
    else:
        _watch_connections(engine)
        if backend == "postgresql":
            _read_outside_transactions(engine)
    if FLAGS.sql_statement_count_dir:
        _count_statements(engine)
    if backend == "postgresql" and FLAGS.sql_server_prepared_statements:
        prepared.use_server_prepared_statements(engine)
    return engine


def get_engine() -> Engine:
    """The process's engine for the current ``--sql_connection``."""
    global _engine, _engine_url, _maker
    url = FLAGS.sql_connection
    with _lock:
        if _engine is None or url != _engine_url:
            if _engine is not None:
                _engine.dispose()
            _engine = create_engine(url)
            _engine_url = url
            _maker = sessionmaker(bind=_engine, expire_on_commit=False)
            LOG.debug("Database engine for %s", safe_url(url))
        return _engine


def get_maker() -> sessionmaker[Session]:
    get_engine()
    assert _maker is not None
    return _maker


@contextlib.contextmanager
def get_session() -> Iterator[Session]:
    """A session in one transaction: committed on exit, rolled back on error.

    The session holds a connection before the caller's first statement: an
    unreachable server is retried for ``--sql_connect_retry_seconds`` (nothing
    has been written yet), then ``DBConnectionError`` (503).  Driver errors
    are turned into nova exceptions here so none leaks past the db api: a
    unique violation becomes ``Duplicate`` (the api narrows it to the
    resource's own class), another integrity violation (a foreign key, a
    missing value) ``InvalidInput``, a connection lost mid-transaction or a
    pool with no free connection ``DBConnectionError`` (the transaction was
    not committed), anything else ``DatabaseError``, each with a one-line
    reason (``DBDeadlock`` when the server picked this transaction as a
    deadlock victim, which the caller may retry).
    """
    session, transaction = _connected_session()
    try:
        with _as_nova_errors(), transaction:
            yield session
    finally:
        session.close()


@contextlib.contextmanager
def get_connection(single_statement: bool = False) -> Iterator[Connection]:
    """A Core connection in one transaction, for statements that build no ORM objects.

    What ``get_session`` promises (a live connection first, the same retries,
    commit on exit, rollback and the same nova exceptions on error) for about
    half the CPU: an ORM session's own begin, flush and commit bookkeeping
    costs as much as the statement on the back-end daemons' hot paths.

    ``single_statement``: the block runs one statement, which is atomic by
    itself; on PostgreSQL it then runs in autocommit, one round trip instead of
    three (BEGIN, the statement, COMMIT).  A second statement raises
    RuntimeError before it is sent.

    Inside ``one_transaction`` it is that scope's connection and transaction.
    There ``single_statement`` runs the statement in autocommit only while the
    scope has written nothing yet, and then no later statement of the scope
    may write (RuntimeError, unsent): the scope's writes could no longer be
    all or nothing.
    """
    shared = getattr(_scope, "connection", None)
    if shared is not None:
        with _as_nova_errors():
            if not single_statement:
                yield shared
                return
            shared.execution_options(**{_SINGLE: [0]})
            try:
                yield shared
            finally:
                shared.execution_options(**{_SINGLE: None})
        return
    connection = _connected(lambda: get_engine().connect())
    if single_statement:
        connection.execution_options(**{_SINGLE: [0]})
    try:
        with _as_nova_errors(), connection.begin():
            yield connection
    finally:
        connection.close()


_scope = threading.local()  # green under eventlet's monkey patching: one scope per greenthread


@contextlib.contextmanager
def one_transaction() -> Iterator[None]:
    """Every ``get_connection`` of this (green)thread inside the block shares one connection and one
    transaction, committed when the block ends (rolled back if it raises).

    Several short statements then cost one pool checkout, one BEGIN and one
    COMMIT instead of one each.  ORM sessions (``get_session``) keep their
    own connections.  Nothing written inside is visible to others before the
    block ends, so the block must end before anyone is told about it (an RPC
    cast naming a new row).  Nested blocks join the outer one.
    """
    if getattr(_scope, "connection", None) is not None:
        yield
        return
    connection = _connected(lambda: get_engine().connect())
    try:
        with _as_nova_errors(), connection.begin():
            _scope.connection = connection
            try:
                yield
            finally:
                _scope.connection = None
    finally:
        connection.close()


@contextlib.contextmanager
def _as_nova_errors() -> Iterator[None]:
    """Driver errors as nova exceptions (see ``get_session``)."""
    try:
        yield
    except sa_exc.IntegrityError as exc:
        if is_unique_violation(exc):
            raise exception.Duplicate(detail=one_line(exc.orig)) from exc
        raise exception.InvalidInput(reason=one_line(exc.orig)) from exc
    except sa_exc.DBAPIError as exc:
        if is_deadlock(exc):
            raise exception.DBDeadlock(reason=one_line(exc.orig)) from exc
        if is_disconnect(exc):
            raise exception.DBConnectionError(reason=one_line(exc.orig)) from exc
        raise exception.DatabaseError(reason=one_line(exc.orig)) from exc
    except sa_exc.TimeoutError as exc:
        raise _pool_exhausted(exc) from exc


def _connected_session() -> tuple[Session, Any]:
    """A session whose transaction has begun on a live connection, retrying an unreachable server."""

    def begin() -> tuple[Session, Any]:
        session = get_maker()()
        try:
            transaction = session.begin()
            session.connection()
        except BaseException:
            session.close()
            raise
        return session, transaction

    return _connected(begin)


def _connected(make: Any) -> Any:
    """``make()`` (which checks a connection out and closes what it made when it fails), retrying an
    unreachable server for ``--sql_connect_retry_seconds``."""
    deadline = time.monotonic() + FLAGS.sql_connect_retry_seconds
    while True:
        try:
            return make()
        except sa_exc.TimeoutError as exc:
            raise _pool_exhausted(exc) from exc
        except sa_exc.DBAPIError as exc:
            if not isinstance(exc, sa_exc.OperationalError) and not is_disconnect(exc):
                raise exception.DatabaseError(reason=one_line(exc.orig)) from exc
            if time.monotonic() >= deadline:
                raise exception.DBConnectionError(reason=one_line(exc.orig)) from exc
            LOG.debug("Database unreachable, retrying: %s", one_line(exc.orig))
            time.sleep(max(0.05, min(FLAGS.sql_retry_interval, deadline - time.monotonic())))


def _pool_exhausted(exc: sa_exc.TimeoutError) -> exception.DBConnectionError:
    return exception.DBConnectionError(reason=f"no free database connection within {FLAGS.sql_pool_timeout}s "
                                              f"(the pool is exhausted)")


# SQLSTATE classes of a lost or refused connection: 08 connection exception, 57P admin shutdown/crash/starting.
POSTGRES_DISCONNECT_PREFIXES = ("08", "57P")
# Can't connect (local, TCP), server gone away, lost connection, server shutdown in progress.
MYSQL_DISCONNECT_CODES = (2002, 2003, 2006, 2013, 1053)


def is_disconnect(error: sa_exc.DBAPIError) -> bool:
    """Whether the server was unreachable or dropped the connection (not a problem with the statement)."""
    if error.connection_invalidated:
        return True
    orig = error.orig
    pgcode = getattr(orig, "pgcode", None)
    if pgcode is not None:
        return pgcode.startswith(POSTGRES_DISCONNECT_PREFIXES)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in MYSQL_DISCONNECT_CODES
    # psycopg2 reports a closed or refused connection without a SQLSTATE.
    return isinstance(error, sa_exc.OperationalError) and type(orig).__module__.startswith("psycopg2")


MYSQL_DEADLOCK_CODES = (1213, 1205)  # deadlock found; lock wait timeout
POSTGRES_DEADLOCK_CODES = ("40P01", "40001")  # deadlock detected; serialization failure


def is_deadlock(error: sa_exc.DBAPIError) -> bool:
    orig = error.orig
    pgcode = getattr(orig, "pgcode", None)
    if pgcode is not None:
        return pgcode in POSTGRES_DEADLOCK_CODES
    args = getattr(orig, "args", ())
    return bool(args) and args[0] in MYSQL_DEADLOCK_CODES


def is_unique_violation(error: sa_exc.IntegrityError) -> bool:
    orig = error.orig
    pgcode = getattr(orig, "pgcode", None)
    if pgcode is not None:
        return pgcode == "23505"
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] == 1062
    return "UNIQUE constraint failed" in str(orig)


def one_line(error: BaseException | None) -> str:
    return " ".join(str(error).split())


def reset() -> None:
    """Dispose of the engine so the next use builds a new one (tests)."""
    global _engine, _engine_url, _maker
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = _engine_url = _maker = None


def _forget_inherited_connections() -> None:
    """In a forked child (nova.workers): the pooled connections stay the parent's; statements are counted
    into the child's own file."""
    if _engine is not None:
        _engine.dispose(close=False)
    if _counter is not None:
        _counter.open()


os.register_at_fork(after_in_child=_forget_inherited_connections)
