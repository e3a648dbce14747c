"""nova-api: the EC2 API (and metadata) on --ec2_listen:--ec2_port, the
OpenStack compute API on --osapi_listen:--osapi_port, the metadata service on
--metadata_listen:--metadata_port, the identity API v3 on
--identity_listen:--identity_port and the image API v2 on
--image_api_listen:--image_api_port and the network API v2.0 on
--network_api_listen:--network_api_port (a port of 0 leaves that one out).

The pipelines come from ``--api_paste_config`` (``etc/nova/api-paste.ini``).
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
    servers = [wsgi.Server("ec2", wsgi.load_paste_app("ec2", path), FLAGS.ec2_listen, FLAGS.ec2_port)]
    if FLAGS.osapi_port:
        servers.append(wsgi.Server("osapi_compute", wsgi.load_paste_app("osapi_compute", path),
                                   FLAGS.osapi_listen, FLAGS.osapi_port))
    if FLAGS.metadata_port:
        servers.append(wsgi.Server("metadata", wsgi.load_paste_app("metadata", path),
                                   FLAGS.metadata_listen, FLAGS.metadata_port))
    if FLAGS.identity_port:
        servers.append(wsgi.Server("identity", wsgi.load_paste_app("identity", path),
                                   FLAGS.identity_listen, FLAGS.identity_port))
    if FLAGS.image_api_port:
        servers.append(wsgi.Server("image", wsgi.load_paste_app("image", path),
                                   FLAGS.image_api_listen, FLAGS.image_api_port))
    if FLAGS.network_api_port:
        servers.append(wsgi.Server("network", wsgi.load_paste_app("network", path),
                                   FLAGS.network_api_listen, FLAGS.network_api_port))
    return servers


def main(argv: Sequence[str] | None = None) -> int:
    binary, _ = common.init(argv or sys.argv, "nova-api")
    common.check_ready(binary)
    return common.serve_wsgi(binary, build_servers, announce=True)
