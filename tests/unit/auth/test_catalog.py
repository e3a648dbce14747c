"""The service catalog: one URL per service for every interface, from the host and port flags."""

from nova import flags
from nova.auth import catalog

FLAGS = flags.FLAGS


def test_urls_follow_the_flags():
    FLAGS.my_ip = "192.0.2.7"
    FLAGS.image_api_port = 19292
    assert catalog.compute_url() == "http://192.0.2.7:8774/v2.1"
    assert catalog.image_url() == "http://192.0.2.7:19292"
    assert catalog.identity_url() == "http://192.0.2.7:5000/v3"
    assert catalog.network_url() == "http://192.0.2.7:9696"


def test_services_have_stable_ids_and_every_interface():
    first, second = catalog.services(), catalog.services()
    assert first == second
    assert [s["type"] for s in first] == ["compute", "image", "identity", "network"]
    for service in first:
        assert sorted(e["interface"] for e in service["endpoints"]) == ["admin", "internal", "public"]
        assert len({e["id"] for e in service["endpoints"]}) == 3


def test_no_network_entry_when_its_port_is_0():
    FLAGS.network_api_port = 0
    assert [s["type"] for s in catalog.services()] == ["compute", "image", "identity"]
