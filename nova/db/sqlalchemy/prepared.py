"""PostgreSQL: statements prepared on the server once per connection, executed by name after that.

PostgreSQL parses and plans every statement psycopg2 sends (it sends text with
the values in it): for nova's short statements planning costs more than
running them (0.9 ms against 0.5 for the scheduler's usage read).  Here each
statement built once by ``common.prepared`` (the hot paths' short statements,
which carry the ``nova_server_prepare`` execution option) is sent once per
connection as ``PREPARE``
(its ``%(name)s`` placeholders made ``$1``, ``$2`` ...) and then run as
``EXECUTE name (values)``, which the server plans once per connection (it
keeps a generic plan when that costs no more than a custom one).  Results,
row counts and errors are those of the statement itself.

Not prepared: other statements (a listing's best plan depends on its values:
prepared, DescribeInstances of 10,000 took 18 s where text took 0.5), ``executemany``,
statements a connection has no room for
(``MAX_PER_CONNECTION``), and any the server refuses to prepare (remembered
per process, then sent as before).  A PREPARE inside a transaction runs under
a savepoint, so a refusal does not abort the transaction.  Prepared
statements live as long as their connection; ``--sql_server_prepared_statements``
turns this off (needed behind a pooler in transaction mode, which moves a
session's statements between server connections).
"""

from __future__ import annotations

import itertools
import logging
import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from nova import flags

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_boolean("sql_server_prepared_statements", True,
                     "PostgreSQL: prepare each statement on the server once per connection and execute it by name "
                     "(no parse and plan per statement); turn off behind a pooler in transaction mode")

MAX_PER_CONNECTION = 500
SERVER_PREPARE = "nova_server_prepare"  # the execution option that asks for it (common.prepared sets it)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_INFO_KEY = "nova_prepared"
_names = itertools.count(1)
_refused: set[str] = set()  # statements the server would not prepare (asked once per process)
_converted: dict[str, tuple[str, str]] = {}  # statement -> (server text, EXECUTE's argument list)


def _convert(statement: str) -> tuple[str, str]:
    """(the statement with $n placeholders, "(%(a)s, %(b)s)" in the same order) for ``statement``."""
    known = _converted.get(statement)
    if known is None:
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in order:
                order.append(name)
            return f"${order.index(name) + 1}"

        text = _PLACEHOLDER.sub(number, statement).replace("%%", "%")
        arguments = f" ({', '.join(f'%({name})s' for name in order)})" if order else ""
        known = _converted[statement] = (text, arguments)
    return known


def _prepare(cursor: Any, name: str, text: str) -> bool:
    """PREPARE ``text`` as ``name`` on the cursor's connection; False (and nothing else changed) if refused."""
    connection = cursor.connection
    if connection.autocommit:
        try:
            cursor.execute(f"PREPARE {name} AS {text}")
        except connection.Error:
            return False
        return True
    try:
        cursor.execute(f"SAVEPOINT nova_prepare; PREPARE {name} AS {text}; RELEASE SAVEPOINT nova_prepare")
    except connection.Error:
        cursor.execute("ROLLBACK TO SAVEPOINT nova_prepare; RELEASE SAVEPOINT nova_prepare")
        return False
    return True


def use_server_prepared_statements(engine: Engine) -> None:
    """Send ``engine``'s statements (PostgreSQL with psycopg2) as above.  It hooks the dialect's own
    execute, after every before_cursor_execute listener: those still see the statement itself."""

    @event.listens_for(engine, "do_execute")
    def execute_prepared(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        if (context is None or context.compiled is None or not context.execution_options.get(SERVER_PREPARE)
                or not isinstance(parameters, dict) or statement in _refused):
            return None
        prepared: dict[str, str] = context.root_connection.info.setdefault(_INFO_KEY, {})
        command = prepared.get(statement)
        if command is None:
            if len(prepared) >= MAX_PER_CONNECTION:
                return None
            text, arguments = _convert(statement)
            name = f"nova_{next(_names)}"
            if not _prepare(cursor, name, text):
                _refused.add(statement)
                LOG.debug("PostgreSQL would not prepare a statement; it is sent as text: %s", statement[:200])
                return None
            command = prepared[statement] = f"EXECUTE {name}{arguments}"
        cursor.execute(command, parameters)
        return True

    @event.listens_for(engine, "connect")
    def fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info.pop(_INFO_KEY, None)  # a new server session has none of them
