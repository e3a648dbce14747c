"""compute.API.create and friends: validation, quotas, rows written, messages sent."""

import pytest

from nova import context, exception, quota
from nova.compute import api as compute_api
from nova.compute import states
from nova.db import api as db
from tests.fixtures.database import registered_long_ago
from tests.fixtures.rpc import wait_for
from tests.unit.compute.fakes import make_image, serve_recording_scheduler, user_context


@pytest.fixture
def scheduler(sqlite_db, memory_rpc):
    return serve_recording_scheduler(memory_rpc)


@pytest.fixture
def api():
    return compute_api.API()


def test_create_writes_building_rows_and_asks_the_scheduler(scheduler, api):
    ctxt = user_context()
    image = make_image(ctxt)
    reservation_id, instances = api.create(ctxt, "m1.tiny", image["id"], min_count=2, max_count=3,
                                           user_data="aGVsbG8=", display_name="web")
    assert reservation_id.startswith("r-") and len(reservation_id) == 10
    assert [i["launch_index"] for i in instances] == [0, 1, 2]
    for instance in instances:
        assert (instance["vm_state"], instance["task_state"]) == (states.BUILDING, states.SCHEDULING)
        assert (instance["vcpus"], instance["memory_mb"], instance["local_gb"]) == (1, 512, 0)
        assert instance["image_id"] == str(image["id"]) and instance["user_data"] == "aGVsbG8="
        assert instance["project_id"] == "proj-a" and instance["user_id"] == "alice"
        assert [g["name"] for g in instance.security_groups] == ["default"]
        assert instance["hostname"] == "i-%08x" % instance["id"]
    wait_for(lambda: len(scheduler.requests) == 3)
    assert {r["instance_id"] for r in scheduler.requests} == {i["id"] for i in instances}
    assert all(r["topic"] == "compute" and r["project_id"] == "proj-a" for r in scheduler.requests)
    assert all((r["vcpus"], r["memory_mb"]) == (1, 512) for r in scheduler.requests)  # no read needed to place


def test_default_flavor_and_unknown_flavor(scheduler, api):
    ctxt = user_context()
    image = make_image(ctxt)
    _, [instance] = api.create(ctxt, None, image["id"])
    assert instance.instance_type["name"] == "m1.small"
    with pytest.raises(exception.InstanceTypeNotFound):
        api.create(ctxt, "m1.huge", image["id"])


def test_image_must_exist_be_visible_and_be_a_machine_image(scheduler, api):
    ctxt, other = user_context(), user_context("proj-b", "bob")
    theirs = make_image(other)
    kernel = make_image(ctxt, type="kernel")
    with pytest.raises(exception.ImageNotFound):
        api.create(ctxt, "m1.tiny", theirs["id"])
    with pytest.raises(exception.ImageNotFound):
        api.create(ctxt, "m1.tiny", 9999)
    with pytest.raises(exception.InvalidImage):
        api.create(ctxt, "m1.tiny", kernel["id"])
    from nova.image import get_default_image_service
    pending = get_default_image_service().create(ctxt, {"name": "pending"})
    with pytest.raises(exception.ImageNotActive):
        api.create(ctxt, "m1.tiny", pending["id"])
    assert db.instance_get_all(context.get_admin_context()) == []


def test_kernel_and_ramdisk_come_from_the_image(scheduler, api):
    ctxt = user_context()
    kernel = make_image(ctxt, type="kernel")
    ramdisk = make_image(ctxt, type="ramdisk")
    image = make_image(ctxt, kernel_id=kernel["id"], ramdisk_id=ramdisk["id"])
    _, [instance] = api.create(ctxt, "m1.tiny", image["id"])
    assert (instance["kernel_id"], instance["ramdisk_id"]) == (str(kernel["id"]), str(ramdisk["id"]))
    with pytest.raises(exception.InvalidImage):
        api.create(ctxt, "m1.tiny", image["id"], kernel_id=ramdisk["id"])


def test_unknown_key_pair_and_security_group(scheduler, api):
    ctxt = user_context()
    image = make_image(ctxt)
    with pytest.raises(exception.KeypairNotFound):
        api.create(ctxt, "m1.tiny", image["id"], key_name="nope")
    with pytest.raises(exception.SecurityGroupNotFound):
        api.create(ctxt, "m1.tiny", image["id"], security_groups=["web"])
    db.security_group_create(ctxt, {"name": "web"})
    _, [instance] = api.create(ctxt, "m1.tiny", image["id"], security_groups=["web", "default"])
    assert sorted(g["name"] for g in instance.security_groups) == ["default", "web"]


def test_key_pair_data_is_copied_into_the_instance(scheduler, api):
    ctxt = user_context()
    image = make_image(ctxt)
    db.key_pair_create(ctxt, {"name": "mykey", "user_id": "alice", "fingerprint": "aa:bb",
                              "public_key": "ssh-rsa AAAA alice@example"})
    _, [instance] = api.create(ctxt, "m1.tiny", image["id"], key_name="mykey")
    assert (instance["key_name"], instance["key_data"]) == ("mykey", "ssh-rsa AAAA alice@example")


def test_quotas_limit_the_count_and_min_count_fails_cleanly(scheduler, api):
    ctxt = user_context()
    admin = context.get_admin_context()
    image = make_image(ctxt)
    quota.set_project_quota(admin, "proj-a", "instances", 3)
    _, launched = api.create(ctxt, "m1.tiny", image["id"], min_count=1, max_count=5)
    assert len(launched) == 3
    with pytest.raises(exception.QuotaError, match="instances quota is 3 and 3 is in use"):
        api.create(ctxt, "m1.tiny", image["id"])
    quota.set_project_quota(admin, "proj-a", "instances", 100)
    quota.set_project_quota(admin, "proj-a", "cores", 4)
    with pytest.raises(exception.QuotaError, match="cores"):
        api.create(ctxt, "m1.medium", image["id"], min_count=1)  # 3 used + 2 > 4
    assert len(db.instance_get_all(ctxt)) == 3


def test_bad_counts_are_refused(scheduler, api):
    ctxt = user_context()
    image = make_image(ctxt)
    for low, high in ((0, 1), (2, 1), ("x", 1)):
        with pytest.raises(exception.InvalidInput):
            api.create(ctxt, "m1.tiny", image["id"], min_count=low, max_count=high)


def test_client_token_makes_create_idempotent_per_project(scheduler, api):
    ctxt, other = user_context(), user_context("proj-b", "bob")
    image = make_image(ctxt, is_public=True)
    first = api.create(ctxt, "m1.tiny", image["id"], client_token="tok-1")
    again = api.create(ctxt, "m1.tiny", image["id"], client_token="tok-1")
    assert first[0] == again[0] and [i["id"] for i in first[1]] == [i["id"] for i in again[1]]
    theirs = api.create(other, "m1.tiny", image["id"], client_token="tok-1")
    assert theirs[0] != first[0]
    assert len(db.instance_get_all(context.get_admin_context())) == 2


def test_only_admins_may_force_a_host(scheduler, api):
    ctxt = user_context()
    image = make_image(ctxt, is_public=True)
    with pytest.raises(exception.NotAuthorized):
        api.create(ctxt, "m1.tiny", image["id"], availability_zone="nova:host-a")
    admin = context.RequestContext("root", "proj-a", is_admin=True)
    _, [instance] = api.create(admin, "m1.tiny", image["id"], availability_zone="nova:host-a")
    assert instance["availability_zone"] == "nova"
    wait_for(lambda: scheduler.requests)
    assert scheduler.requests[0]["forced_host"] == "host-a"


def test_get_and_get_all_are_scoped_and_filtered(scheduler, api):
    a, b = user_context(), user_context("proj-b", "bob")
    image = make_image(a, is_public=True)
    rid, mine = api.create(a, "m1.tiny", image["id"], max_count=2)
    _, [theirs] = api.create(b, "m1.tiny", image["id"])
    with pytest.raises(exception.InstanceNotFound):
        api.get(a, theirs["id"])
    assert [i["id"] for i in api.get_all(a)] == [i["id"] for i in mine]
    assert [i["id"] for i in api.get_all(a, {"instance_ids": [mine[1]["id"], theirs["id"]]})] == [mine[1]["id"]]
    assert len(api.get_all(a, {"reservation_id": rid})) == 2
    assert api.get_all(a, {"vm_state": "active"}) == []
    assert len(api.get_all(context.get_admin_context())) == 3
    with pytest.raises(exception.InvalidInput, match="unknown instance filter"):
        api.get_all(a, {"colour": "red"})


def test_actions_check_the_state_first(scheduler, api):
    ctxt = user_context()
    image = make_image(ctxt)
    _, [instance] = api.create(ctxt, "m1.tiny", image["id"])
    with pytest.raises(exception.InstanceInvalidState):
        api.start(ctxt, instance["id"])
    db.instance_update(ctxt, instance["id"], {"vm_state": states.ACTIVE, "task_state": None, "host": "host-a"})
    with pytest.raises(exception.InstanceInvalidState, match="stopped|active"):
        api.start(ctxt, instance["id"])
    with pytest.raises(exception.InstanceInvalidState):
        api.unpause(ctxt, instance["id"])
    api.stop(ctxt, instance["id"])
    assert api.get(ctxt, instance["id"])["task_state"] == states.STOPPING
    with pytest.raises(exception.InstanceInvalidState, match="busy"):
        api.reboot(ctxt, instance["id"])


def test_delete_of_an_unscheduled_instance_is_immediate(scheduler, api):
    ctxt = user_context()
    image = make_image(ctxt)
    _, [instance] = api.create(ctxt, "m1.tiny", image["id"])
    api.delete(ctxt, instance["id"])
    with pytest.raises(exception.InstanceNotFound):
        api.get(ctxt, instance["id"])
    with pytest.raises(exception.InstanceNotFound):
        api.delete(user_context("proj-b", "bob"), instance["id"])


def _settled(image):
    registered_long_ago(image["id"])
    return image


def test_remembered_images_are_never_launched_once_gone_changed_or_hidden(scheduler, api):
    """A launch does not read an image an earlier one read (unchanged for a while by then), yet one
    deleted, no longer available, changed or no longer visible is never launched from: the launch
    fails as it would have reading it, and writes nothing."""
    ctxt, bob, admin = user_context(), user_context("proj-b", "bob"), context.get_admin_context()
    compute_api._REMEMBERED.forget()  # (other tests' databases had images with the same ids)
    remembered = compute_api._REMEMBERED.images
    fresh = make_image(ctxt)
    api.create(ctxt, "m1.tiny", fresh["id"])
    assert not any(key[2] == fresh["id"] for key in remembered)  # changed just now: read every time
    mine, theirs, kernel = (_settled(make_image(ctxt)), _settled(make_image(bob, is_public=True)),
                            _settled(make_image(ctxt, type="kernel")))
    for image in (mine, theirs):
        api.create(ctxt, "m1.tiny", image["id"])
    assert {key[2] for key in remembered} >= {mine["id"], theirs["id"]}
    written = len(db.instance_get_all(admin))

    db.image_update(bob, theirs["id"], {"is_public": False})
    with pytest.raises(exception.ImageNotFound):
        api.create(ctxt, "m1.tiny", theirs["id"])
    api.create(ctxt, "m1.tiny", mine["id"])  # read again (everything was forgotten), remembered again
    db.image_update(ctxt, mine["id"], {"state": "pending"})
    with pytest.raises(exception.ImageNotActive):
        api.create(ctxt, "m1.tiny", mine["id"])
    db.image_update(ctxt, mine["id"], {"state": "available"})
    _settled(mine)
    api.create(ctxt, "m1.tiny", mine["id"])
    db.image_update(ctxt, mine["id"], {"kernel_id": kernel["id"]})
    _, [with_kernel] = api.create(ctxt, "m1.tiny", mine["id"])
    assert with_kernel["kernel_id"] == str(kernel["id"])  # the image as it is now, not as remembered
    db.image_destroy(ctxt, mine["id"])
    with pytest.raises(exception.ImageNotFound):
        api.create(ctxt, "m1.tiny", mine["id"])
    assert len(db.instance_get_all(admin)) == written + 3


def test_remembered_flavors_and_default_groups_never_outlive_their_rows(scheduler, api):
    """A launch reads neither the flavor nor the default group it read before, yet a flavor deleted (or
    deleted and made again with other values) or a default group gone is never launched with."""
    from nova.compute import instance_types
    from nova.db.sqlalchemy import session

    ctxt, admin = user_context(), context.get_admin_context()
    image = make_image(ctxt)
    _, [first] = api.create(ctxt, "m1.tiny", image["id"])
    instance_types.create(admin, "m1.mine", 256, 1, 0)
    api.create(ctxt, "m1.mine", image["id"])
    instance_types.destroy(admin, instance_types.get_instance_type_by_name("m1.mine")["flavorid"])
    with pytest.raises(exception.InstanceTypeNotFound):  # the flavor's error first, as when it is read
        api.create(ctxt, "m1.mine", image["id"] + 1000)
    with pytest.raises(exception.InstanceTypeNotFound):
        api.create(ctxt, "m1.mine", image["id"])
    instance_types.create(admin, "m1.mine", 1024, 2, 0)
    _, [second] = api.create(ctxt, "m1.mine", image["id"])
    assert (second["memory_mb"], second["vcpus"], second.instance_type["memory_mb"]) == (1024, 2, 1024)
    # The project's default group went (its project was removed and made again, say): a new one is made.
    with session.get_connection() as connection:
        connection.exec_driver_sql("UPDATE security_groups SET deleted = 1 WHERE project_id = 'proj-a'")
    _, [third] = api.create(ctxt, "m1.tiny", image["id"])
    [group] = third.security_groups
    assert group["name"] == "default" and group["id"] != first.security_groups[0]["id"]
    assert [g["id"] for g in db.instance_get(ctxt, third["id"]).security_groups] == [group["id"]]
