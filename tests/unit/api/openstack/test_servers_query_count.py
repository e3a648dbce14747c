"""GET servers/detail makes as many SQL statements for 600 servers as for 10 and shows each one's
addresses, groups and flavor (the set-up is tests/unit/api/ec2/test_instances_query_count.py's)."""

from __future__ import annotations

import ipaddress

import urllib3

from nova.auth import manager
from tests.fixtures.sql import counting_statements
from tests.unit.api.ec2.test_instances_query_count import PROJECTS, crowded_env  # noqa: F401


def test_servers_detail_statements_do_not_grow_with_the_servers(crowded_env):
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(60))
    counts = {}
    for project, (user, _a, _s, count, cidr, _floating) in PROJECTS.items():
        headers = {"X-Auth-Token": manager.AuthManager().create_token(user, project)}

        def detail():
            return pool.request("GET", f"http://127.0.0.1:{crowded_env.osapi_port}/v2.1/servers/detail",
                                headers=headers)

        detail()
        with counting_statements() as statements:
            response = detail()
        counts[project] = len(statements)
        assert response.status == 200
        servers = response.json()["servers"]
        assert len(servers) == count and {s["tenant_id"] for s in servers} == {project}
        network = ipaddress.ip_network(cidr)
        for server in servers:
            [(label, addresses)] = server["addresses"].items()
            assert label == project
            kinds = {a["OS-EXT-IPS:type"]: a["addr"] for a in addresses}
            assert ipaddress.ip_address(kinds["fixed"]) in network and kinds["floating"].startswith("198.18.")
            assert sorted(g["name"] for g in server["security_groups"]) == ["group-1", "group-2"]
    assert counts["proj-a"] == counts["proj-b"], counts
