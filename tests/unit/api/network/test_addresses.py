"""Networks, ports and floating IPs through the network API v2.0, with servers really built in process."""

import eventlet

from tests.unit.api.network.conftest import neutron_error, wait_status


def pool_id(net, user="alice"):
    networks = net.get("/networks?name=nova", user=user).json()["networks"]
    assert [(n["name"], n["router:external"]) for n in networks] == [("nova", True)]
    return networks[0]["id"]


def wait_for(predicate, what):
    for _ in range(200):
        if predicate():
            return
        eventlet.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_networks(cloud, net):
    networks = net.get("/networks").json()["networks"]
    assert [n["router:external"] for n in networks] == [True] + [False] * (len(networks) - 1) and len(networks) > 1
    assert net.get(f"/networks/{networks[0]['id']}").json()["network"]["name"] == "nova"
    assert [n["name"] for n in net.get("/networks?router:external=true").json()["networks"]] == ["nova"]
    assert net.get("/networks/nova-net").status_code == 404
    assert pool_id(net, "bob") == networks[0]["id"]


def test_floating_ip_on_a_server(cloud, net):
    server = cloud.create_server()
    wait_status(cloud, server["id"], "ACTIVE")
    reply = net.post("/floatingips", {"floatingip": {"floating_network_id": pool_id(net)}})
    assert reply.status_code == 201, reply.text
    floating = reply.json()["floatingip"]
    assert (floating["status"], floating["port_id"], floating["project_id"]) == ("DOWN", None, "proj-a")
    assert floating["floating_ip_address"].startswith("192.0.2.")

    ports = net.get(f"/ports?device_id={server['id']}").json()["ports"]
    assert len(ports) == 1 and ports[0]["device_id"] == server["id"] and ports[0]["mac_address"]
    fixed = ports[0]["fixed_ips"][0]["ip_address"]
    assert net.get(f"/ports/{ports[0]['id']}").json()["port"] == ports[0]
    assert net.get(f"/ports?device_id={server['id']}", user="bob").json()["ports"] == []
    assert net.get(f"/ports/{ports[0]['id']}", user="bob").status_code == 404
    assert net.request("PUT", f"/floatingips/{floating['id']}", json={"floatingip": {"port_id": ports[0]["id"]}},
                       user="bob").status_code == 404

    reply = net.request("PUT", f"/floatingips/{floating['id']}", json={"floatingip": {"port_id": ports[0]["id"]}})
    assert reply.status_code == 200, reply.text
    address = floating["floating_ip_address"]
    wait_for(lambda: address in str(cloud.get(f"/servers/{server['id']}").json()["server"]["addresses"]),
             "the floating address on the server")
    shown = net.get(f"/floatingips/{floating['id']}").json()["floatingip"]
    assert (shown["port_id"], shown["fixed_ip_address"], shown["status"]) == (ports[0]["id"], fixed, "ACTIVE")
    listed = net.get(f"/floatingips?floating_ip_address={address}").json()["floatingips"]
    assert [f["id"] for f in listed] == [floating["id"]]
    assert net.get(f"/floatingips/{address}").status_code == 404

    reply = net.request("PUT", f"/floatingips/{floating['id']}", json={"floatingip": {"port_id": None}})
    assert reply.status_code == 200
    wait_for(lambda: address not in str(cloud.get(f"/servers/{server['id']}").json()["server"]["addresses"]),
             "the floating address off the server")
    assert net.request("DELETE", f"/floatingips/{floating['id']}").status_code == 204
    reply = net.get(f"/floatingips/{floating['id']}")
    assert reply.status_code == 404 and neutron_error(reply) == "FloatingIPNotFound"


def test_another_projects_floating_ip_is_not_found(cloud, net):
    floating = net.post("/floatingips", {"floatingip": {"floating_network_id": pool_id(net)}}).json()["floatingip"]
    for method, body in (("GET", None), ("PUT", {"floatingip": {"port_id": None}}), ("DELETE", None)):
        reply = net.request(method, f"/floatingips/{floating['id']}", json=body, user="bob")
        assert reply.status_code == 404 and neutron_error(reply) == "FloatingIPNotFound", method
    assert net.get("/floatingips", user="bob").json()["floatingips"] == []
    assert [f["id"] for f in net.get("/floatingips").json()["floatingips"]] == [floating["id"]]


def test_bad_floating_ip_requests(cloud, net):
    pool = pool_id(net)
    for body, status in (({"floatingip": {}}, 400), ({"floatingip": {"floating_network_id": "other"}}, 404),
                         ({"floatingip": {"floating_network_id": pool, "floating_ip_address": "192.0.2.9"}}, 400),
                         ({"floatingip": {"floating_network_id": pool, "port_id": "nope"}}, 404),
                         ({"floating": {}}, 400)):
        reply = net.post("/floatingips", body)
        assert reply.status_code == status and neutron_error(reply), body
    assert net.get("/floatingips").json()["floatingips"] == []
    assert net.get("/ports").status_code == 400
    floating = net.post("/floatingips", {"floatingip": {"floating_network_id": pool}}).json()["floatingip"]
    for body in ({"floatingip": {}}, {"floatingip": {"port_id": 5}}, []):
        assert net.request("PUT", f"/floatingips/{floating['id']}", json=body).status_code == 400, body
    reply = net.request("PUT", f"/floatingips/{floating['id']}", json={"floatingip": {"port_id": "x_10.0.0.9"}})
    assert reply.status_code == 404 and neutron_error(reply) == "PortNotFound"
