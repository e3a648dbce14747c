"""nova.network.netns_link: the veth's names and addresses, and a route it refuses to take over."""

from __future__ import annotations

import pytest

from nova import exception, utils
from nova.network import netns_link


def test_the_link_range_gives_the_near_and_far_addresses():
    assert netns_link.addresses("198.19.77.0/30") == ("198.19.77.1", "198.19.77.2", 30)
    with pytest.raises(ValueError):
        netns_link.addresses("198.19.77.1/32")


def test_the_near_device_name_fits_the_kernels_limit():
    assert netns_link.near_device("nova") == "nova-link"
    assert len(netns_link.near_device("a-namespace-with-a-long-name")) <= 15


def test_a_range_this_machine_already_routes_elsewhere_is_refused(monkeypatch):
    calls = []

    def execute(*cmd, **kwargs):
        calls.append(cmd)
        if cmd[:5] == ("ip", "-4", "route", "show", "exact"):
            return "10.99.0.0/24 dev eth0 proto kernel scope link\n", ""
        return "", ""

    monkeypatch.setattr(utils, "execute", execute)
    monkeypatch.setattr(netns_link, "exists", lambda netns: True)
    with pytest.raises(exception.CombinedNetnsError) as excinfo:
        netns_link.ensure("ns1", "198.19.77.0/30", ["10.99.0.0/24"])
    assert "already routes 10.99.0.0/24" in str(excinfo.value)
    assert not any(cmd[:3] == ("ip", "route", "replace") for cmd in calls)


def test_routes_go_through_the_far_end(monkeypatch):
    calls = []
    monkeypatch.setattr(utils, "execute", lambda *cmd, **kwargs: (calls.append(cmd), ("", ""))[1])
    monkeypatch.setattr(netns_link, "exists", lambda netns: True)
    link = netns_link.ensure("ns1", "198.19.77.0/30", ["10.99.0.0/24"])
    assert (link.near_ip, link.far_ip) == ("198.19.77.1", "198.19.77.2")
    assert ("ip", "route", "replace", "10.99.0.0/24", "via", "198.19.77.2", "dev", "ns1-link") in calls
    assert ("ip", "netns", "exec", "ns1", "ip", "addr", "replace", "198.19.77.2/30", "dev", "link0") in calls
