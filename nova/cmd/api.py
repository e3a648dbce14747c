"""nova-api: the EC2 API (and metadata) on --ec2_listen:--ec2_port, the
OpenStack compute API on --osapi_listen:--osapi_port, the metadata service on
--metadata_listen:--metadata_port, the identity API v3 on
--identity_listen:--identity_port and the image API v2 on
--image_api_listen:--image_api_port and the network API v2.0 on
--network_api_listen:--network_api_port (a port of 0 leaves that one out).

The pipelines come from ``--api_paste_config`` (``etc/nova/api-paste.ini``).
With ``--api_workers N`` N processes serve all of these ports (``nova.workers``).
"""

from __future__ import annotations

import logging
import sys
from typing import Sequence

from nova import flags, wsgi
from nova.api import identity, image, network  # noqa: F401  (their --*_listen flags)
from nova.auth import catalog  # noqa: F401  (--identity_port, --image_api_port, --network_api_port)
from nova.cmd import common

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)


def build_servers() -> list[wsgi.Server]:
    """The WSGI servers nova-api runs (raises NovaException with a one-line reason)."""
    path = wsgi.find_paste_config()
    # (paste app, listen flag, port flag); EC2 always runs, the others unless their port is 0.
    apps = [("ec2", "ec2_listen", "ec2_port"), ("osapi_compute", "osapi_listen", "osapi_port"),
            ("metadata", "metadata_listen", "metadata_port"), ("identity", "identity_listen", "identity_port"),
            ("image", "image_api_listen", "image_api_port"), ("network", "network_api_listen", "network_api_port")]
    return [wsgi.Server(name, wsgi.load_paste_app(name, path), getattr(FLAGS, listen), getattr(FLAGS, port))
            for name, listen, port in apps if name == "ec2" or getattr(FLAGS, port)]


def main(argv: Sequence[str] | None = None) -> int:
    binary, _ = common.init(argv or sys.argv, "nova-api")
    common.check_ready(binary)
    # --api_workers: every listener is bound (and every pipeline loaded) before the workers are forked
    return common.serve_wsgi(binary, build_servers, announce=True, workers=FLAGS.api_workers,
                             stop_timeout=FLAGS.graceful_shutdown_timeout + 5)
