"""Security groups and their rules through the network API v2.0, and who sees what."""

import pytest

from tests.unit.api.network.conftest import neutron_error


def create_group(net, name="web", user="alice"):
    reply = net.post("/security-groups", {"security_group": {"name": name, "description": "web servers"}}, user=user)
    assert reply.status_code == 201, reply.text
    return reply.json()["security_group"]


def create_rule(net, group_id, **extra):
    body = {"security_group_id": group_id, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": 22, "port_range_max": 22, **extra}
    return net.post("/security-group-rules", {"security_group_rule": body})


def test_versions_need_no_token_and_resources_do(net):
    versions = net.get("/", user=None, prefix="").json()["versions"]
    assert [(v["id"], v["status"]) for v in versions] == [("v2.0", "CURRENT")]
    assert versions[0]["links"][0]["href"].endswith("/v2.0/")
    for headers in ({}, {"X-Auth-Token": "not-a-token"}):
        reply = net.get("/security-groups", user=None, headers=headers)
        assert reply.status_code == 401 and neutron_error(reply) == "Unauthorized"
    aliases = [e["alias"] for e in net.get("/extensions").json()["extensions"]]
    assert "security-group" in aliases and "external-net" in aliases
    assert net.get("/extensions/router").status_code == 404


def test_group_and_rule_lifecycle(net, osapi):
    group = create_group(net)
    assert (group["name"], group["description"], group["project_id"], group["security_group_rules"]) == (
        "web", "web servers", "proj-a", [])
    listed = net.get("/security-groups?name=web").json()["security_groups"]
    assert [g["id"] for g in listed] == [group["id"]]
    assert {g["name"] for g in net.get("/security-groups").json()["security_groups"]} == {"default", "web"}

    reply = create_rule(net, group["id"], remote_ip_prefix="0.0.0.0/0")
    assert reply.status_code == 201, reply.text
    rule = reply.json()["security_group_rule"]
    assert (rule["security_group_id"], rule["protocol"], rule["port_range_min"], rule["port_range_max"],
            rule["remote_ip_prefix"], rule["direction"], rule["ethertype"]) == (
        group["id"], "tcp", 22, 22, "0.0.0.0/0", "ingress", "IPv4")
    assert create_rule(net, group["id"]).status_code == 409
    icmp = create_rule(net, group["id"], protocol="icmp", port_range_min=None, port_range_max=None).json()
    assert icmp["security_group_rule"]["port_range_min"] is None
    shown = net.get(f"/security-groups/{group['id']}").json()["security_group"]
    assert sorted(r["id"] for r in shown["security_group_rules"]) == sorted(
        [rule["id"], icmp["security_group_rule"]["id"]])
    by_group = net.get(f"/security-group-rules?security_group_id={group['id']}&protocol=tcp").json()
    assert [r["id"] for r in by_group["security_group_rules"]] == [rule["id"]]
    assert net.get(f"/security-group-rules/{rule['id']}").json()["security_group_rule"] == rule
    # the compute API sees the same group and rule under the same ids
    compute = osapi.get(f"/os-security-groups/{group['id']}").json()["security_group"]
    assert [(r["id"], r["from_port"]) for r in compute["rules"] if r["ip_protocol"] == "tcp"] == [
        (int(rule["id"]), 22)]

    assert net.request("DELETE", f"/security-group-rules/{rule['id']}").status_code == 204
    assert net.get(f"/security-group-rules/{rule['id']}").status_code == 404
    assert net.request("DELETE", f"/security-groups/{group['id']}").status_code == 204
    reply = net.get(f"/security-groups/{group['id']}")
    assert reply.status_code == 404 and neutron_error(reply) == "SecurityGroupNotFound"
    default = net.get("/security-groups?name=default").json()["security_groups"][0]
    reply = net.request("DELETE", f"/security-groups/{default['id']}")
    assert reply.status_code == 409


@pytest.mark.parametrize("extra, status", [
    ({"direction": "egress"}, 400), ({"ethertype": "IPv6"}, 400), ({"protocol": None}, 400),
    ({"protocol": "gre"}, 400), ({"port_range_min": "x"}, 400), ({"port_range_min": 30, "port_range_max": 20}, 400),
    ({"port_range_min": None}, 400), ({"remote_ip_prefix": "not-a-cidr"}, 400),
    ({"remote_ip_prefix": "0.0.0.0/0", "remote_group_id": "1"}, 400), ({"security_group_id": "999"}, 404),
    ({"security_group_id": "abc"}, 404), ({"security_group_id": None}, 400), ({"remote_group_id": "999"}, 404),
])
def test_bad_rules(net, extra, status):
    group = create_group(net)
    reply = create_rule(net, group["id"], **extra)
    assert reply.status_code == status, reply.text
    neutron_error(reply)


@pytest.mark.parametrize("body", [None, [], {"security_group": "web"}, {"security_group": {}},
                                  {"security_group": {"name": 5}}, {"security_group": {"name": "x" * 256}},
                                  {"security_group": {"name": "web", "stateful": False}}])
def test_bad_group_bodies(net, body):
    reply = net.post("/security-groups", body, data=b"{oops" if body is None else None)
    assert reply.status_code == 400 and neutron_error(reply)


def test_duplicate_and_default_names_conflict(net):
    create_group(net)
    for name in ("web", "default"):
        reply = net.post("/security-groups", {"security_group": {"name": name}})
        assert reply.status_code == 409 and neutron_error(reply)


def test_another_projects_groups_and_rules_are_not_found(net):
    group = create_group(net)
    rule = create_rule(net, group["id"]).json()["security_group_rule"]
    for method, path in (("GET", f"/security-groups/{group['id']}"), ("DELETE", f"/security-groups/{group['id']}"),
                         ("GET", f"/security-group-rules/{rule['id']}"),
                         ("DELETE", f"/security-group-rules/{rule['id']}")):
        reply = net.request(method, path, user="bob")
        assert reply.status_code == 404, (method, path)
    reply = net.post("/security-group-rules", {"security_group_rule": {"security_group_id": group["id"],
                                                                       "protocol": "tcp"}}, user="bob")
    assert reply.status_code == 404
    assert [g["name"] for g in net.get("/security-groups", user="bob").json()["security_groups"]] == ["default"]
    assert net.get("/security-group-rules", user="bob").json()["security_group_rules"] == []
    assert net.get(f"/security-groups/{group['id']}").status_code == 200


def test_unknown_routes_and_methods(net):
    reply = net.get("/routers")
    assert reply.status_code == 404 and neutron_error(reply) == "HTTPNotFound"
    reply = net.request("PATCH", "/security-groups")
    assert reply.status_code == 405 and neutron_error(reply) == "HTTPMethodNotAllowed"
    assert net.request("POST", "/", user=None, prefix="").status_code == 405


def test_a_server_takes_a_group_by_the_id_the_network_api_shows(net, osapi):
    group = create_group(net)
    server = osapi.create_server(security_groups=[{"name": group["id"]}])
    shown = osapi.get(f"/servers/{server['id']}").json()["server"]
    assert [g["name"] for g in shown["security_groups"]] == ["web"]
    reply = osapi.post("/servers", {"server": {"name": "vm", "imageRef": osapi.image_id, "flavorRef": "1",
                                               "security_groups": [{"name": group["id"]}]}}, user="bob")
    assert reply.status_code in (400, 404), reply.text
