"""DescribeAddresses makes as many SQL statements for 600 associated floating IPs as for 10
(the set-up is test_instances_query_count.py's: each instance has one)."""

from __future__ import annotations

import ipaddress

from tests.unit.api.ec2.test_instances_query_count import PROJECTS, count_for, crowded_env  # noqa: F401


def test_describe_addresses_statements_do_not_grow_with_the_addresses(crowded_env):
    counts = {}
    for project, (_user, _a, _s, count, cidr, _floating) in PROJECTS.items():
        counts[project], response = count_for(crowded_env, project, lambda c: c.describe_addresses())
        addresses = response["Addresses"]
        assert len(addresses) == count
        network = ipaddress.ip_network(cidr)
        assert all(ipaddress.ip_address(a["PrivateIpAddress"]) in network and a["InstanceId"].startswith("i-")
                   for a in addresses)
    assert counts["proj-a"] == counts["proj-b"], counts
