"""Every revision upgrades from the one before with a row in every table, on SQLite, PostgreSQL and MariaDB.

The tests are generated: one per pair of consecutive revisions and backend.
Each brings the backend's database (one per backend for the module, so no
test pays for the earlier revisions again) to the older revision, writes a
row into every table (values made from the reflected columns, foreign keys
pointing at the rows just written), upgrades, and reads every row back with
the values of every column it had.  Then it downgrades to the older revision
again and checks the rows are still there, since ``nova-manage db sync
--version N`` downgrades too.
"""

from __future__ import annotations

import datetime
import decimal
import itertools

import pytest
import sqlalchemy
from sqlalchemy.dialects import mysql

from nova.db import migration
from nova.db.sqlalchemy import session
from tests.fixtures.database import BACKENDS, fresh_database, use_database

CHAIN = migration.revisions()
PAIRS = list(zip(CHAIN, CHAIN[1:]))
# Rows a revision removes on purpose, as its docstring says: revision -> tables it empties.
EMPTIED_BY = {"004": {"auth_tokens"}}
STAMP = datetime.datetime(2011, 4, 15, 12, 30, 45)
_counter = itertools.count(1000)


@pytest.fixture(scope="module", params=BACKENDS)
def database(request, tmp_path_factory):
    """One empty database per backend for the whole module (each test points nova at it)."""
    with fresh_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


def _value(column: sqlalchemy.Column, n: int, parents: dict[str, dict[str, object]]):
    """A value for ``column`` of row number ``n``: the parent's key for a foreign key, else made from its type."""
    for fk in column.foreign_keys:
        return parents[fk.column.table.name][fk.column.name]
    kind = column.type
    if isinstance(kind, (sqlalchemy.Boolean, mysql.TINYINT)):  # MariaDB reflects a Boolean as TINYINT(1)
        return n % 2 == 1
    if isinstance(kind, sqlalchemy.DateTime):
        return STAMP + datetime.timedelta(seconds=n)
    if isinstance(kind, sqlalchemy.Integer):
        return n
    if isinstance(kind, (sqlalchemy.Float, sqlalchemy.Numeric)):
        return n + 0.5
    if isinstance(kind, sqlalchemy.LargeBinary):
        return f"blob-{n}".encode()
    if isinstance(kind, sqlalchemy.String):
        text = f"{column.name}-{n}"
        length = getattr(kind, "length", None)
        return text[-length:] if length else text
    raise AssertionError(f"no test value for {column.table.name}.{column.name} of type {kind!r}")


def _normal(value):
    """Compare values across drivers: MariaDB gives booleans as 0/1, numerics as Decimal."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _fill_every_table(connection) -> tuple[sqlalchemy.MetaData, dict[str, dict[str, object]]]:
    """Insert one row into every table (parents first); returns the schema read and table -> the row written."""
    metadata = sqlalchemy.MetaData()
    metadata.reflect(connection)
    written: dict[str, dict[str, object]] = {}
    for table in metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        n = next(_counter)
        row = {column.name: _value(column, n, written) for column in table.columns}
        connection.execute(table.insert().values(**row))
        written[table.name] = row
    return metadata, written


def _check_rows(connection, metadata, written: dict[str, dict[str, object]], emptied: set[str]) -> None:
    """Every row written is there with its values (read through the older schema's columns: a revision
    that dropped one would fail here, as it loses data)."""
    for name, row in written.items():
        table = metadata.tables[name]
        where = [column == row[column.name] for column in table.primary_key.columns]
        found = connection.execute(sqlalchemy.select(table).where(*where)).mappings().all()
        if name in emptied:
            assert found == [], f"{name}: the revision says it empties this table"
            continue
        assert len(found) == 1, f"the row written into {name} is gone"
        assert {k: _normal(v) for k, v in found[0].items()} == {k: _normal(v) for k, v in row.items()}, name


@pytest.mark.parametrize("older,newer", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_revision_upgrades_from_the_one_before_with_data_in_every_table(database, older, newer):
    use_database(database)
    assert migration.db_sync(older) == older
    engine = session.get_engine()
    with engine.begin() as connection:
        metadata, written = _fill_every_table(connection)
    assert len(written) >= 20

    assert migration.db_sync(newer) == newer
    with engine.connect() as connection:
        _check_rows(connection, metadata, written, EMPTIED_BY.get(newer, set()))

    assert migration.db_sync(older) == older
    with engine.connect() as connection:
        _check_rows(connection, metadata, written, EMPTIED_BY.get(newer, set()))


def test_every_revision_is_in_one_chain_ending_at_head():
    assert CHAIN[0] == "001" and CHAIN[-1] == migration.head_version()
    assert list(CHAIN) == sorted(CHAIN) and len(PAIRS) == len(CHAIN) - 1
