"""Entry points of the nova binaries.

Importing this package monkey-patches the process for eventlet, so the
console scripts built by setup.py get the same start as ``bin/*``.

nova-manage is the one exception: it runs one command at a time in the main
thread and exits, with no server, greenthread pool or RPC consumer, so green
sockets would buy it nothing and patching costs a fifth of a second.  Its
database drivers then block as they would in any script, which is what a
one-shot command wants: PyMySQL uses the standard socket module either way,
and nova.db.sqlalchemy.session makes psycopg2 green only when sockets are
patched.  Eventlet calls it does make (``eventlet.sleep``, ``spawn_n``) still
work unpatched, on the main thread's hub.

A binary also starts with the cyclic garbage collector off: importing
eventlet, SQLAlchemy, the models and the WSGI stacks makes a few hundred
thousand objects that live as long as the process, and rescanning them while
they are made costs a quarter of the start-up.  ``started()`` freezes them
out of later collections and turns the collector back on.
"""

import gc
import os
import sys

UNPATCHED_BINARIES = frozenset({"nova-manage"})


def needs_monkey_patch(argv0: str) -> bool:
    """True unless the binary run as ``argv0`` is one that runs unpatched."""
    return os.path.basename(argv0) not in UNPATCHED_BINARIES


def run_as_binary(argv0: str) -> bool:
    """True when the program is a nova binary (``bin/nova-*`` or its console script), not a test run."""
    return os.path.basename(argv0).startswith("nova-")


def started() -> None:
    """A daemon has bound its ports and started its services: collect garbage again from now on, and
    tell systemd it is ready (``Type=notify``)."""
    from nova import sdnotify

    sdnotify.ready()
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


_ARGV0 = sys.argv[0] if sys.argv else ""
if run_as_binary(_ARGV0):
    gc.disable()
if needs_monkey_patch(_ARGV0):
    import nova  # noqa: F401  (silences eventlet's deprecation notice before the import below)
    import eventlet

    eventlet.monkey_patch()
