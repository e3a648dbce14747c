"""What nova-manage loads to start: the heavy libraries only when a command needs them.

No timing: each command runs as a process under a small wrapper that prints,
as the process exits, which of the heavy packages it had imported.
"""

import os
import subprocess
import sys

import pytest

from tests.fixtures.daemons import BIN, Cloud

HEAVY = ("alembic", "eventlet", "kombu", "sqlalchemy")
# Runs bin/nova-manage as itself (argv[0] names it) and reports the heavy packages it loaded.
WRAPPER = """
import atexit, runpy, sys
atexit.register(lambda: print("loaded:", *sorted(m for m in %r if m in sys.modules), file=sys.stderr))
del sys.argv[0]
runpy.run_path(sys.argv[0], run_name="__main__")
""" % (HEAVY,)


@pytest.fixture
def cloud(tmp_path):
    c = Cloud(tmp_path, rabbit_url=None)
    c.sync_db()
    yield c
    c.cleanup()


def _loaded(cloud, *args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", WRAPPER, os.path.join(BIN, "nova-manage"), *args],
                            capture_output=True, text=True, timeout=60, cwd=str(cloud.tmp_path))
    report = result.stderr.strip().splitlines()[-1]
    assert report.startswith("loaded:"), result.stderr
    return set(report.split()[1:])


def test_help_loads_no_database_broker_or_eventlet(cloud):
    assert _loaded(cloud, "--help") == set()


def test_service_list_loads_the_database_layer_only(cloud):
    assert _loaded(cloud, f"--flagfile={cloud.flagfile}", "service", "list") == {"sqlalchemy"}


def test_a_flagfile_misspelling_still_stops_it_unpatched(cloud):
    flagfile = cloud.tmp_path / "bad.conf"
    flagfile.write_text(f"--flagfile={cloud.flagfile}\n--sql_conection=sqlite://\n")
    result = subprocess.run([sys.executable, os.path.join(BIN, "nova-manage"), f"--flagfile={flagfile}",
                             "service", "list"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("nova-manage: error: ") and "sql_conection" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
