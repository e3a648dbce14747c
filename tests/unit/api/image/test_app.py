"""The image API v2 over HTTP: create, upload, download, list with pages, delete, and who sees what."""

import hashlib

import pytest

from nova import context
from nova.image import api as image_api


def create(images, name="cirros", **extra):
    reply = images.request("POST", "/v2/images", body={"name": name, "disk_format": "raw",
                                                       "container_format": "bare", **extra})
    assert reply.status == 201, reply.body
    return reply.json()


def test_versions_need_no_token(images):
    reply = images.http.request("GET", "/")
    assert reply.status == 300
    assert {v["status"] for v in reply.json()["versions"]} >= {"CURRENT"}
    assert images.http.request("GET", "/versions").status == 200


def test_a_token_is_required(images):
    for headers in ({}, {"X-Auth-Token": "not-a-token"}):
        reply = images.http.request("GET", "/v2/images", headers=headers)
        assert reply.status == 401 and reply.json()["error"]["code"] == 401


def test_upload_download_round_trip(images):
    image = create(images, min_disk=1, tags=["t1"], **{"owner_specified.openstack.md5": "abc"})
    assert (image["status"], image["visibility"], image["owner"], image["size"]) == ("queued", "private", "proj-a",
                                                                                      None)
    assert (image["min_disk"], image["min_ram"], image["protected"], image["tags"]) == (1, 0, False, ["t1"])
    assert image["owner_specified.openstack.md5"] == "abc"
    assert image["self"] == f"/v2/images/{image['id']}" and image["file"] == f"/v2/images/{image['id']}/file"
    assert images.request("GET", f"/v2/images/{image['id']}/file").status == 204
    data = bytes(range(256)) * 1000
    put = images.request("PUT", f"/v2/images/{image['id']}/file", raw=data,
                         headers={"Content-Type": "application/octet-stream"})
    assert put.status == 204
    shown = images.request("GET", f"/v2/images/{image['id']}").json()
    assert (shown["status"], shown["size"], shown["checksum"]) == ("active", len(data), hashlib.md5(data).hexdigest())
    got = images.request("GET", f"/v2/images/{image['id']}/file")
    assert got.status == 200 and got.body == data and got.headers["content-md5"] == shown["checksum"]
    again = images.request("PUT", f"/v2/images/{image['id']}/file", raw=b"x")
    assert again.status == 409
    # the compute API and the EC2 API see the same image under the same id
    ctxt = context.RequestContext("alice", "proj-a")
    assert image_api.API().show(ctxt, int(image["id"]))["state"] == "available"


def test_listing_pages_and_filters(images):
    ids = [create(images, name=f"img-{n}")["id"] for n in range(5)]
    page = images.request("GET", "/v2/images?limit=2").json()
    assert [i["id"] for i in page["images"]] == ids[::-1][:2]
    assert page["first"] == "/v2/images" and page["schema"] == "/v2/schemas/images"
    seen = [i["id"] for i in page["images"]]
    while "next" in page:
        page = images.request("GET", page["next"]).json()
        seen += [i["id"] for i in page["images"]]
    assert seen == ids[::-1]
    named = images.request("GET", "/v2/images?name=img-3").json()["images"]
    assert [i["id"] for i in named] == [ids[3]]
    assert images.request("GET", "/v2/images?status=active").json()["images"] == []
    assert len(images.request("GET", "/v2/images?status=queued&visibility=private").json()["images"]) == 5
    assert images.request("GET", "/v2/images?visibility=public").json()["images"] == []
    assert len(images.request("GET", "/v2/images?owner=proj-a").json()["images"]) == 5
    assert images.request("GET", "/v2/images?owner=proj-b").json()["images"] == []


def test_a_page_is_cut_in_sql_and_costs_the_same_at_three_times_the_images(images):
    from tests.fixtures.sql import counting_statements

    def page_statements() -> tuple[list[str], list[str]]:
        images.request("GET", "/v2/images?limit=2")
        with counting_statements() as statements:
            page = images.request("GET", "/v2/images?limit=2").json()
        return statements, [i["id"] for i in page["images"]]

    for n in range(5):
        create(images, name=f"img-{n}")
    small, _ = page_statements()
    ids = [create(images, name=f"img-{n}")["id"] for n in range(5, 15)]
    large, shown = page_statements()
    assert shown == ids[::-1][:2]
    assert len(small) == len(large)
    assert len([s for s in large if "FROM images" in s and "LIMIT" in s]) == 1, large


@pytest.mark.parametrize("query", ["limit=x", "limit=-1", "marker=999", "marker=abc", "status=bogus",
                                   "visibility=bogus"])
def test_bad_listing_parameters_are_400(images, query):
    create(images)
    reply = images.request("GET", f"/v2/images?{query}")
    assert reply.status == 400 and reply.json()["error"]["code"] == 400


@pytest.mark.parametrize("body, status", [
    ([], 400), ({"name": 5}, 400), ({"min_ram": -1}, 400), ({"visibility": "everyone"}, 400),
    ({"status": "active"}, 403), ({"id": "1"}, 403), ({"extra": {"nested": 1}}, 400), ({"disk_format": "exe"}, 400),
    ({"container_format": "x" * 40}, 400), ({"name": "x" * 256}, 400), ({"tags": ["a", 1]}, 400),
])
def test_bad_create_bodies(images, body, status):
    reply = images.request("POST", "/v2/images", body=body)
    assert reply.status == status and reply.json()["error"]["code"] == status


def test_invalid_json_is_400(images):
    assert images.request("POST", "/v2/images", raw=b"{oops").status == 400


def test_another_projects_private_image_is_not_found(images):
    image = create(images)
    bob = images.as_user("bob", "proj-b")
    for method, path in (("GET", ""), ("GET", "/file"), ("DELETE", ""), ("PUT", "/file")):
        reply = bob.request(method, f"/v2/images/{image['id']}{path}", raw=b"x" if method == "PUT" else None)
        assert reply.status == 404, (method, path)
    assert bob.request("GET", "/v2/images").json()["images"] == []
    assert images.request("GET", f"/v2/images/{image['id']}").status == 200


def test_a_public_image_is_seen_but_not_deleted_by_others(images):
    image = create(images, visibility="public")
    bob = images.as_user("bob", "proj-b")
    assert [i["id"] for i in bob.request("GET", "/v2/images").json()["images"]] == [image["id"]]
    assert bob.request("DELETE", f"/v2/images/{image['id']}").status == 403


def test_delete(images):
    image = create(images, protected=True)
    assert images.request("DELETE", f"/v2/images/{image['id']}").status == 403
    plain = create(images, name="plain")
    assert images.request("DELETE", f"/v2/images/{plain['id']}").status == 204
    assert images.request("GET", f"/v2/images/{plain['id']}").status == 404
    assert images.request("GET", "/v2/images/not-a-number").status == 404


def test_unknown_routes_and_methods(images):
    assert images.request("GET", "/v2/nothing").status == 404
    assert images.request("PATCH", "/v2/images/1", raw=b"[]").status == 405
