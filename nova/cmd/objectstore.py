"""nova-objectstore: the S3 server on --s3_listen:--s3_port, buckets under --buckets_path."""

from __future__ import annotations

import signal
import sys

from nova import flags
from nova.cmd import common

FLAGS = flags.FLAGS
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class _Started:
    """The already-listening server, for service.serve (which calls start)."""

    def __init__(self, server) -> None:
        self.server = server

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.server.stop()


def main() -> int:
    binary, _ = common.init(sys.argv, "nova-objectstore")
    common.check_ready(binary, broker=False)
    from nova import service
    from nova.objectstore.server import ObjectStoreServer

    try:
        server = ObjectStoreServer()
    except OSError as exc:
        common.die(binary, f"cannot use --buckets_path: {exc}")
    # A stop signal that arrives once we listen but before the handlers are in place waits for them.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        server.start()
    except OSError as exc:
        common.die(binary, f"cannot listen on {FLAGS.s3_listen}:{FLAGS.s3_port}: {exc.strerror or exc}")
    service.serve(_Started(server))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    return service.wait()
