"""nova-objectstore: the S3 server on --s3_listen:--s3_port, buckets under --buckets_path."""

from __future__ import annotations

import os
import sys

from nova import flags, wsgi
from nova.cmd import common

FLAGS = flags.FLAGS


def main() -> int:
    binary, _ = common.init(sys.argv, "nova-objectstore")
    common.check_ready(binary, broker=False)
    from nova.objectstore import workers
    from nova.objectstore.server import create_server

    in_worker = False

    def build() -> list[wsgi.Server]:
        nonlocal in_worker
        try:
            servers = [create_server()]
        except OSError as exc:
            common.die(binary, f"cannot use --buckets_path: {exc}")
        in_worker = workers.fork_workers()  # the port is bound and the buckets swept: fork (--s3_workers)
        return servers

    status = common.serve_wsgi(binary, build)
    if in_worker:
        os._exit(status)  # a worker leaves the first process's exit handlers alone
    workers.stop_workers(FLAGS.s3_shutdown_timeout + 5)
    return status
