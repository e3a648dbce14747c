"""Where the cloud's OpenStack endpoints are: the service catalog of identity tokens and the novarc.

Every service is reached at one URL for the public, internal and admin
interfaces, in region ``--region_name``: compute (the OpenStack API v2.1 on
``--osapi_host:--osapi_port``), image (``--image_api_host:--image_api_port``)
identity (``--identity_host:--identity_port``, at ``/v3``) and, unless
``--network_api_port`` is 0, network (``--network_api_host:--network_api_port``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from nova import flags

FLAGS = flags.FLAGS

flags.DEFINE_string("identity_host", "$my_ip", "Address clients use to reach the identity API (v3)")
flags.DEFINE_integer("identity_port", 5000, "Port of the identity API (0: nova-api does not serve it)",
                     lower_bound=0)
flags.DEFINE_string("image_api_host", "$my_ip", "Address clients use to reach the image API (v2)")
flags.DEFINE_integer("image_api_port", 9292, "Port of the image API (0: nova-api does not serve it)",
                     lower_bound=0)

flags.DEFINE_string("network_api_host", "$my_ip", "Address clients use to reach the network API (v2.0)")
flags.DEFINE_integer("network_api_port", 9696, "Port of the network API (0: nova-api does not serve it)",
                     lower_bound=0)

INTERFACES = ("public", "internal", "admin")


def compute_url() -> str:
    """The OpenStack compute API v2.1 (what ``NOVA_URL`` names)."""
    return f"http://{FLAGS.osapi_host}:{FLAGS.osapi_port}/v2.1"


def image_url() -> str:
    return f"http://{FLAGS.image_api_host}:{FLAGS.image_api_port}"


def network_url() -> str:
    return f"http://{FLAGS.network_api_host}:{FLAGS.network_api_port}"


def identity_url() -> str:
    """The identity API v3 (what ``OS_AUTH_URL`` names)."""
    return f"http://{FLAGS.identity_host}:{FLAGS.identity_port}/v3"


def _stable_id(*parts: str) -> str:
    return hashlib.md5("/".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def services() -> list[dict[str, Any]]:
    """``[{"id", "type", "name", "endpoints": [{"id", "interface", "region", "url"}]}]``.

    Ids are derived from the type, interface and URL, so they stay the same
    across restarts and daemons.
    """
    entries = (("compute", "nova", compute_url()), ("image", "glance", image_url()),
               ("identity", "keystone", identity_url()))
    if FLAGS.network_api_port:
        entries += (("network", "neutron", network_url()),)
    catalog = []
    for kind, name, url in entries:
        endpoints = [{"id": _stable_id(kind, interface, url), "interface": interface, "region": FLAGS.region_name,
                      "url": url} for interface in INTERFACES]
        catalog.append({"id": _stable_id(kind), "type": kind, "name": name, "endpoints": endpoints})
    return catalog
