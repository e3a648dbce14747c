"""The image service: visibility per project, atomic store, checked download."""

import hashlib
import io
import os

import pytest

from nova import context, exception, flags
from nova.db import api as db
from nova.image import get_default_image_service

FLAGS = flags.FLAGS
ADMIN = context.get_admin_context()


def ctx(project: str) -> context.RequestContext:
    return context.RequestContext("user-" + project, project)


@pytest.fixture
def images(db_url):
    return get_default_image_service()


def test_store_then_download_round_trip(images, tmp_path):
    a = ctx("proj-a")
    image = images.create(a, {"name": "cirros", "properties": {"arch": "x86_64"}})
    assert image["state"] == "pending" and image["owner"] == "proj-a"
    assert image["disk_format"] == "ami" and image["properties"] == {"arch": "x86_64"}
    data = os.urandom(3 * 1024 * 1024 + 17)
    stored = images.store(a, image["id"], io.BytesIO(data))
    assert stored["state"] == "available" and stored["size"] == len(data)
    assert stored["checksum"] == hashlib.md5(data).hexdigest()
    assert stored["location"].startswith(str(tmp_path / "images"))
    assert sorted(os.listdir(tmp_path / "images")) == ["%08x" % image["id"]]
    dest = tmp_path / "copy" / "disk"
    images.download(a, image["id"], str(dest))
    assert dest.read_bytes() == data


def test_a_corrupted_file_is_refused_and_leaves_nothing(images, tmp_path):
    a = ctx("proj-a")
    image = images.store(a, images.create(a, {"name": "x"})["id"], io.BytesIO(b"original bytes"))
    with open(image["location"], "r+b") as handle:
        handle.write(b"X")
    dest = tmp_path / "out" / "disk"
    with pytest.raises(exception.ImageChecksumMismatch):
        images.download(a, image["id"], str(dest))
    assert os.listdir(tmp_path / "out") == []


def test_a_failed_upload_leaves_no_file_and_the_record_pending(images, tmp_path):
    a = ctx("proj-a")
    image = images.create(a, {"name": "x"})

    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 0:
                raise IOError("connection reset")
            return super().read(4)

    with pytest.raises(IOError):
        images.store(a, image["id"], Broken(b"abcdefgh"))
    assert os.listdir(tmp_path / "images") == []
    assert images.show(a, image["id"])["state"] == "pending"
    with pytest.raises(exception.ImageNotActive):
        images.download(a, image["id"], str(tmp_path / "d"))


def test_visibility_owner_public_and_launch_permission(images):
    a, b = ctx("proj-a"), ctx("proj-b")
    private = images.create(a, {"name": "private"})
    public = images.create(a, {"name": "public", "is_public": True})
    shared = images.create(a, {"name": "shared"})
    db.image_launch_permission_add(a, shared["id"], "proj-b")
    assert {i["name"] for i in images.index(b)} == {"public", "shared"}
    assert {i["name"] for i in images.index(a)} == {"private", "public", "shared"}
    with pytest.raises(exception.ImageNotFound):
        images.show(b, private["id"])
    with pytest.raises(exception.NotAuthorized):
        images.update(b, public["id"], {"name": "mine now"})
    with pytest.raises(exception.NotAuthorized):
        images.delete(b, shared["id"])
    assert db.image_launch_permission_get_all(a, shared["id"]) == ["proj-b"]
    db.image_launch_permission_remove(a, shared["id"], "proj-b")
    with pytest.raises(exception.ImageNotFound):
        images.show(b, shared["id"])
    assert len(images.index(ADMIN)) == 3


def test_bad_metadata_is_refused(images):
    a = ctx("proj-a")
    with pytest.raises(exception.InvalidInput, match="image type"):
        images.create(a, {"name": "x", "type": "floppy"})
    with pytest.raises(exception.InvalidInput, match="unknown image attribute"):
        images.create(a, {"name": "x", "colour": "red"})
    with pytest.raises(exception.ImageNotFound):
        images.show(a, "ami-zzz")


def test_delete_removes_record_and_file(images, tmp_path):
    a = ctx("proj-a")
    image = images.store(a, images.create(a, {"name": "x", "type": "kernel"})["id"], io.BytesIO(b"k"))
    assert image["disk_format"] == "aki"
    images.delete(a, image["id"])
    assert not os.path.exists(image["location"])
    with pytest.raises(exception.ImageNotFound):
        images.show(a, image["id"])
