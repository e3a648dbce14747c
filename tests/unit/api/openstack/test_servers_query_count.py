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


def test_a_page_of_servers_is_cut_in_sql_and_costs_the_same_statements(crowded_env):
    """?limit and ?marker page in the database: a page of 250 of 600 costs what a page of 5 of 10 does
    (plus the marker's lookup once a marker is given), and the pages walk the full listing's order."""
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(60))

    def detail(user, project, query=""):
        headers = {"X-Auth-Token": manager.AuthManager().create_token(user, project)}
        return pool.request("GET", f"http://127.0.0.1:{crowded_env.osapi_port}/v2.1/servers/detail{query}",
                            headers=headers)

    counts = {}
    for project, size in (("proj-a", 5), ("proj-b", 250)):
        user = PROJECTS[project][0]
        detail(user, project, f"?limit={size}")
        with counting_statements() as statements:
            response = detail(user, project, f"?limit={size}")
        assert len(response.json()["servers"]) == size
        counts[project] = len(statements)
        assert len([s for s in statements if "FROM instances" in s and "LIMIT" in s]) == 1, statements
    assert counts["proj-a"] == counts["proj-b"], counts
    everything = [s["id"] for s in detail("bob", "proj-b").json()["servers"]]
    seen, query, marker_counts = [], "?limit=250", set()
    while True:
        with counting_statements() as statements:
            body = detail("bob", "proj-b", query).json()
        if query != "?limit=250":
            marker_counts.add(len(statements))
        seen += [s["id"] for s in body["servers"]]
        links = body.get("servers_links")
        if not links:
            break
        query = "?" + links[0]["href"].partition("?")[2]
    assert seen == everything and len(set(seen)) == 600
    assert marker_counts == {counts["proj-b"] + 1}
    other = detail("alice", "proj-a").json()["servers"][0]["id"]
    assert detail("bob", "proj-b", f"?limit=5&marker={other}").status == 400  # another tenant's server
    assert detail("bob", "proj-b", "?limit=5&marker=nope").status == 400
