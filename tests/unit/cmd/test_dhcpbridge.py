"""nova-dhcpbridge turns dnsmasq's lease events into casts to this host's nova-network."""

from nova import flags
from nova.cmd import dhcpbridge
from nova.rpc import client

FLAGS = flags.FLAGS


def test_lease_events_are_casts_to_network_on_this_host(monkeypatch):
    sent = []
    monkeypatch.setattr(client, "cast", lambda ctxt, topic, msg: sent.append((topic, msg)))
    FLAGS.fake_rabbit = False
    FLAGS.host = "net-1"
    assert dhcpbridge.run(["add", "02:16:3e:00:00:01", "10.0.0.3", "i-00000001"]) == 0
    assert dhcpbridge.run(["del", "02:16:3e:00:00:01", "10.0.0.3"]) == 0
    args = {"address": "10.0.0.3", "mac_address": "02:16:3e:00:00:01"}
    assert sent == [("network.net-1", {"method": "lease_fixed_ip", "args": args}),
                    ("network.net-1", {"method": "release_fixed_ip", "args": args})]


def test_bad_usage_is_exit_status_2():
    assert dhcpbridge.run(["add", "02:16:3e:00:00:01"]) == 2
    assert dhcpbridge.run(["bogus"]) == 2
