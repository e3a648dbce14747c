"""nova-objectstore: the S3 server on --s3_listen:--s3_port, buckets under --buckets_path."""

from __future__ import annotations

import sys

from nova import flags, wsgi
from nova.cmd import common

FLAGS = flags.FLAGS


def main() -> int:
    binary, _ = common.init(sys.argv, "nova-objectstore")
    common.check_ready(binary, broker=False)
    from nova.objectstore.server import create_server

    def build() -> list[wsgi.Server]:
        try:
            return [create_server()]
        except OSError as exc:
            common.die(binary, f"cannot use --buckets_path: {exc}")

    # --s3_workers: the port is bound and the buckets swept before the workers are forked
    return common.serve_wsgi(binary, build, workers=FLAGS.s3_workers, stop_timeout=FLAGS.s3_shutdown_timeout + 5)
