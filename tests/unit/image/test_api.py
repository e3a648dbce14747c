"""The image API: listing filters, owner checks, launch permissions, tags."""

import pytest

from nova import context, exception, flags
from nova.auth import manager
from nova.db import api as db
from nova.image import api as image_api
from nova.tag import api as tag_api

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()
ALICE = context.RequestContext("alice", "proj-a")
BOB = context.RequestContext("bob", "proj-b")


@pytest.fixture
def api(db_url, tmp_path):
    FLAGS.images_path = str(tmp_path / "images")
    auth = manager.AuthManager()
    auth.create_user("alice", "AK-A", "SK-A")
    auth.create_user("bob", "AK-B", "SK-B")
    auth.create_project("proj-a", "alice")
    auth.create_project("proj-b", "bob")
    return image_api.API()


def test_filters_and_launch_permissions(api):
    mine = api.service.create(ALICE, {"name": "mine"})
    shared = api.service.create(ALICE, {"name": "shared"})
    public = api.service.create(ADMIN, {"name": "public", "is_public": True, "owner": "admin-proj"})
    api.add_launch_permission(ALICE, shared["id"], "proj-b")
    assert api.get_launch_permissions(ALICE, shared["id"]) == ["proj-b"]
    assert [i["name"] for i in api.get_all(BOB)] == ["shared", "public"]
    assert [i["name"] for i in api.get_all(BOB, executable_by=["proj-b"])] == ["shared", "public"]
    assert [i["name"] for i in api.get_all(ALICE, executable_by=["all"])] == ["public"]
    assert [i["name"] for i in api.get_all(ALICE, owners=["proj-a"])] == ["mine", "shared"]
    assert [i["name"] for i in api.get_all(ALICE, ids=[shared["id"], mine["id"]])] == ["shared", "mine"]
    with pytest.raises(exception.ImageNotFound):
        api.get_all(BOB, ids=[mine["id"]])
    api.add_launch_permission(ALICE, mine["id"], "all")
    assert api.get_launch_permissions(ALICE, mine["id"]) == ["all"]
    api.remove_launch_permission(ALICE, mine["id"], "all")
    api.remove_launch_permission(ALICE, shared["id"], "proj-b")
    assert [i["name"] for i in api.get_all(BOB)] == ["public"]
    with pytest.raises(exception.ProjectNotFound):
        api.add_launch_permission(ALICE, mine["id"], "no-such-project")
    assert db.image_launch_permission_get_by_images(ALICE, [public["id"]]) == {}


def test_only_the_owner_changes_an_image(api):
    image = api.service.create(ALICE, {"name": "mine"})
    api.add_launch_permission(ALICE, image["id"], "proj-b")
    for change in (lambda: api.delete(BOB, image["id"]),
                   lambda: api.set_description(BOB, image["id"], "mine now"),
                   lambda: api.add_launch_permission(BOB, image["id"], "all"),
                   lambda: api.get_launch_permissions(BOB, image["id"])):
        with pytest.raises(exception.ImageNotOwned):
            change()
    api.set_description(ALICE, image["id"], "a description")
    assert api.show(ALICE, image["id"])["properties"]["description"] == "a description"


def test_images_are_taggable_and_lose_their_tags(api):
    image = api.service.create(ALICE, {"name": "mine"})
    tag_api.API().create(ALICE, [("image", image["id"])], {"Name": "web"})
    assert tag_api.API().get_by_resources(ALICE, "image", [image["id"]]) == {image["id"]: {"Name": "web"}}
    with pytest.raises(exception.ImageNotFound):
        tag_api.API().create(BOB, [("image", image["id"])], {"Name": "theirs"})
    api.delete(ALICE, image["id"])
    assert tag_api.API().get_by_resources(ALICE, "image", [image["id"]]) == {}


def _stored(ctxt, api, name, data=b"disk bytes", **values):
    import io
    image = api.service.create(ctxt, dict(values, name=name))
    return api.service.store(ctxt, image["id"], io.BytesIO(data))


def test_copy_makes_an_image_of_the_callers_project_with_its_own_file(api):
    public = _stored(ADMIN, api, "public", b"public disk", is_public=True, owner="admin-proj",
                     properties={"description": "theirs", "image_location": "b/m.xml"})
    private = _stored(ALICE, api, "private", b"alice disk")
    copy = api.copy(BOB, public["id"], "bobs-copy")
    assert copy["owner"] == "proj-b" and not copy["is_public"] and copy["state"] == "available"
    assert copy["name"] == "bobs-copy" and copy["properties"]["description"] == "theirs"
    assert "image_location" not in copy["properties"] and copy["checksum"] == public["checksum"]
    assert copy["location"] != public["location"]
    api.delete(ADMIN, public["id"])  # the copy keeps its own file
    _, handle = api.open_file(BOB, copy["id"])
    with handle:
        assert handle.read() == b"public disk"
    mine = api.copy(ALICE, private["id"], "again", description="second")
    assert mine["properties"]["description"] == "second" and mine["owner"] == "proj-a"
    with pytest.raises(exception.ImageNotFound):  # another project's private image
        api.copy(BOB, private["id"], "stolen")
    pending = api.service.create(ALICE, {"name": "pending"})
    with pytest.raises(exception.ImageNotActive):
        api.copy(ALICE, pending["id"], "too-early")


def test_copy_with_a_client_token_is_idempotent(api):
    source = _stored(ALICE, api, "source")
    first = api.copy(ALICE, source["id"], "copy", client_token="tok-1")
    assert api.copy(ALICE, source["id"], "copy", client_token="tok-1")["id"] == first["id"]
    with pytest.raises(exception.IdempotentParameterMismatch):
        api.copy(ALICE, source["id"], "other name", client_token="tok-1")
    with pytest.raises(exception.ImageNameInUse):  # a new token, a name the project's images already use
        api.copy(ALICE, source["id"], "copy", client_token="tok-2")
    assert api.copy(ALICE, source["id"], "copy 2", client_token="tok-2")["id"] != first["id"]
