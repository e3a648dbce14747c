"""nova-objectstore: the S3 server on --s3_listen:--s3_port, buckets under --buckets_path."""

from __future__ import annotations

import sys

from nova import flags
from nova.cmd import common

FLAGS = flags.FLAGS


def main() -> int:
    binary, _ = common.init(sys.argv, "nova-objectstore")
    common.check_ready(binary, broker=False)
    from nova.objectstore.server import ObjectStoreServer

    try:
        server = ObjectStoreServer()
    except OSError as exc:
        common.die(binary, f"cannot use --buckets_path: {exc}")
    try:
        server.start()
    except OSError as exc:
        common.die(binary, f"cannot listen on {FLAGS.s3_listen}:{FLAGS.s3_port}: {exc.strerror or exc}")
    return common.run_services(binary, lambda: [_Started(server)])


class _Started:
    """The already-listening server, for service.serve (which calls start)."""

    def __init__(self, server) -> None:
        self.server = server

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.server.stop()
