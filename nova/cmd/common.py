"""What every daemon does at start: flags, logging, readiness checks.

Operator mistakes (bad flags, a database that is not there or not synced, a
broker that cannot be reached) end the process with one line on standard
error and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Any, Callable, NoReturn, Sequence

from nova import exception, flags, log
from nova.cmd import started

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)


def die(binary: str, message: str, status: int = 1) -> NoReturn:
    print(f"{binary}: error: {message}", file=sys.stderr)
    sys.exit(status)


def init(argv: Sequence[str], binary: str | None = None) -> tuple[str, list[str]]:
    """Parse flags and set up logging; returns the binary name and positional args (without argv[0])."""
    binary = binary or os.path.basename(argv[0])
    try:
        args = flags.parse_args(argv)
    except flags.FlagError as exc:
        die(binary, str(exc), status=2)
    log.setup(binary)
    return binary, args[1:]


def check_ready(binary: str, database: bool = True, broker: bool = True) -> None:
    """Stop with one clear line if the database or the broker is not usable."""
    if database:
        from nova.db import api as db

        try:
            db.check_ready()
        except exception.DatabaseNotReady as exc:
            die(binary, str(exc))
    if broker:
        from nova import rpc

        try:
            rpc.check_connection()
        except rpc.BrokerUnavailable as exc:
            die(binary, str(exc))


def run_services(binary: str, make_services: Callable[[], list]) -> int:
    from nova import service

    try:
        services = make_services()
        service.serve(*services)
    except exception.NovaException as exc:
        die(binary, str(exc))
    started()
    return service.wait()


def service_main(topic: str, argv: Sequence[str] | None = None) -> int:
    """main() of nova-compute, nova-network, nova-volume and nova-scheduler."""
    from nova import service

    binary, _ = init(argv or sys.argv, f"nova-{topic}")
    check_ready(binary)
    return run_services(binary, lambda: [service.Service.create(binary=binary, topic=topic)])


_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def serve_wsgi(binary: str, build_servers: Callable[[], list[Any]], announce: bool = False, workers: int = 1,
               stop_timeout: float = 0) -> int:
    """Bind, start and run ``nova.wsgi.Server``s until SIGTERM or SIGINT (nova-api, nova-objectstore).

    A stop signal that arrives once a port is bound but before the handlers
    are in place waits for them, so the daemon still exits cleanly. Setup
    errors end the process with one line.  With ``workers`` > 1 this process
    forks that many workers once the ports are bound and watches them
    (``nova.workers``; ``stop_timeout``: seconds they have to stop).
    """
    from nova import service
    from nova import workers as prefork

    in_worker = False
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        servers = build_servers()
        if workers > 1:
            group = prefork.Workers(binary, workers, stop_timeout, sockets=len(servers))
            status = group.run(lambda: _ready(binary, servers, announce), lambda: _stop_listening(servers))
            if status is not None:
                return status
            in_worker = True
            for index, server in enumerate(servers):
                server.balance(group.share(index))
        service.serve(*servers)
    except exception.NovaException as exc:
        if in_worker:
            LOG.error("%s: worker %d cannot serve: %s", binary, os.getpid(), exc)
            prefork.exit_worker(1)
        die(binary, str(exc))
    except BaseException:
        if in_worker:
            LOG.exception("%s: worker %d cannot serve", binary, os.getpid())
            prefork.exit_worker(1)
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    if not in_worker:
        _ready(binary, servers, announce)
        return service.wait()
    status = 1
    try:
        started()
        status = service.wait()
    finally:
        prefork.exit_worker(status)
    return status


def _ready(binary: str, servers: list[Any], announce: bool) -> None:
    started()
    if announce:
        for server in servers:
            print(f"{binary}: {server.name} listening on {server.host}:{server.port}", flush=True)


def _stop_listening(servers: list[Any]) -> None:
    """The first of several processes stops: tell systemd, close the listening sockets (it never served)."""
    from nova import sdnotify

    sdnotify.stopping()
    for server in servers:
        server.stop(timeout=0)
