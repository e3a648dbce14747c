"""The back-end daemons' instance reads and writes (nova/db/sqlalchemy/api/instance_hosting.py) and their
address allocation and release (fixed_ips.py): one statement where the general functions take several,
the same scoping, compare-and-set where a concurrent change must win."""

import pytest
import sqlalchemy.exc

from nova import context, exception
from nova.db import api as db
from tests.fixtures.sql import counting_statements, statements_in_transactions


@pytest.fixture
def admin():
    return context.get_admin_context()


@pytest.fixture
def alice():
    return context.RequestContext("alice", "proj-a")


def make_instance(ctxt, **values):
    small = db.instance_type_get_by_name(ctxt, "m1.small")
    defaults = {"project_id": "proj-a", "user_id": "alice", "instance_type_id": small["id"],
                "vm_state": "building", "vcpus": 1, "memory_mb": 512, "metadata": {"role": "web"}}
    return db.instance_create(ctxt, dict(defaults, **values))


def in_group(admin, instance, name="default"):
    group = db.security_group_create(admin, {"name": name, "description": name, "project_id": "proj-a",
                                             "user_id": "alice"})
    db.instance_add_security_group(admin, instance["id"], group["id"])
    return group


def test_get_for_host_reads_row_flavor_and_groups_in_one_statement(db_url, admin):
    instance = make_instance(admin)
    group = in_group(admin, instance)
    with counting_statements() as statements:
        row = db.instance_get_for_host(admin, instance["id"], security_groups=True)
    assert len(statements) == 1
    assert (row["name"], row["vcpus"], row.instance_type["name"]) == (instance["name"], 1, "m1.small")
    assert [g["id"] for g in row.security_groups] == [group["id"]]
    with pytest.raises(sqlalchemy.exc.SQLAlchemyError):  # not loaded: loud, never silently empty
        row.metadata_items
    with pytest.raises(sqlalchemy.exc.SQLAlchemyError):
        row.security_groups[0].rules
    row.update({"task_state": "spawning"})  # what nova-compute does with the row in hand
    assert row["task_state"] == "spawning" and row["name"] == instance["name"]
    with counting_statements() as statements:
        bare = db.instance_get_for_host(admin, instance["id"])
    assert len(statements) == 1 and bare["id"] == instance["id"]


def test_get_for_host_is_scoped_and_skips_deleted(db_url, admin, alice):
    mine, theirs = make_instance(alice), make_instance(admin, project_id="proj-b")
    assert db.instance_get_for_host(alice, mine["id"])["id"] == mine["id"]
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get_for_host(alice, theirs["id"])
    db.instance_destroy(admin, mine["id"])
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get_for_host(admin, mine["id"])


def test_get_placement_is_one_statement_of_plain_values_scoped_like_get(db_url, admin, alice):
    mine, theirs = make_instance(alice, vcpus=2, memory_mb=1024), make_instance(admin, project_id="proj-b")
    with counting_statements() as statements:
        row = db.instance_get_placement(alice, mine["id"])
    assert len(statements) == 1
    assert row == {"id": mine["id"], "project_id": "proj-a", "vm_state": "building", "task_state": None,
                   "host": None, "vcpus": 2, "memory_mb": 1024, "local_gb": mine["local_gb"],
                   "availability_zone": mine["availability_zone"]}
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get_placement(alice, theirs["id"])
    db.instance_destroy(admin, mine["id"])
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get_placement(admin, mine["id"])


def test_get_with_volume_flag_tells_whether_a_live_volume_names_the_instance(db_url, admin, alice):
    instance, other = make_instance(admin), make_instance(admin)
    group = in_group(admin, instance)
    with counting_statements() as statements:
        row, has_volumes = db.instance_get_with_volume_flag(admin, instance["id"])
    assert len(statements) == 1 and has_volumes is False
    assert row["id"] == instance["id"] and [g["id"] for g in row.security_groups] == [group["id"]]
    volume = db.volume_create(admin, {"size": 1, "project_id": "proj-a", "instance_id": instance["id"],
                                      "status": "available"})
    db.volume_create(admin, {"size": 1, "project_id": "proj-a", "instance_id": other["id"], "deleted": True})
    assert db.instance_get_with_volume_flag(alice, instance["id"])[1] is True
    assert db.instance_get_with_volume_flag(admin, other["id"])[1] is False  # a deleted volume does not count
    db.volume_update(admin, volume["id"], {"instance_id": None})
    assert db.instance_get_with_volume_flag(admin, instance["id"])[1] is False
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get_with_volume_flag(context.RequestContext("bob", "proj-b"), instance["id"])


def test_set_is_one_update_and_bumps_updated_at(db_url, admin):
    instance = make_instance(admin)
    with counting_statements() as statements:
        assert db.instance_set(admin, instance["id"], {"task_state": "spawning", "host": "c1"}) is True
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("UPDATE")
    row = db.instance_get(admin, instance["id"])
    assert (row["task_state"], row["host"]) == ("spawning", "c1") and row["updated_at"] is not None


def test_set_without_expectation_raises_when_the_instance_is_gone(db_url, admin, alice):
    instance, theirs = make_instance(admin), make_instance(admin, project_id="proj-b")
    with pytest.raises(exception.InstanceNotFound):
        db.instance_set(alice, theirs["id"], {"host": "c1"})
    db.instance_destroy(admin, instance["id"])
    with pytest.raises(exception.InstanceNotFound):
        db.instance_set(admin, instance["id"], {"host": "c1"})


def test_set_with_expectation_is_a_compare_and_set(db_url, admin):
    instance = make_instance(admin)
    assert db.instance_set(admin, instance["id"], {"host": "c1"}, expected={"vm_state": "building", "host": None})
    assert not db.instance_set(admin, instance["id"], {"host": "c2"}, expected={"host": None})
    assert db.instance_get(admin, instance["id"])["host"] == "c1"
    db.instance_destroy(admin, instance["id"])
    assert not db.instance_set(admin, instance["id"], {"host": "c2"}, expected={"host": "c1"})


@pytest.mark.parametrize("values", [{"no_such_column": 1}, {"project_id": "proj-b"}])
def test_set_refuses_unknown_columns_and_the_owner(db_url, admin, values):
    instance = make_instance(admin)
    with pytest.raises(exception.InvalidInput):
        db.instance_set(admin, instance["id"], values)


def test_set_deleted_writes_the_final_state_and_soft_deletes_what_hangs_on_it(db_url, admin):
    instance = make_instance(admin)
    group = in_group(admin, instance)
    with counting_statements() as statements:
        db.instance_set_deleted(admin, instance["id"], {"vm_state": "deleted", "task_state": None})
    assert len(statements) == (1 if db_url.startswith("postgresql") else 3)  # one, with WITH clauses
    assert _live_dependents(instance["id"]) == (0, 0)
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get(admin, instance["id"])
    gone = db.instance_get(context.get_admin_context(read_deleted=True), instance["id"])
    assert (gone["vm_state"], gone["deleted"], gone["deleted_at"] is not None) == ("deleted", True, True)
    assert db.security_group_hosts(admin, group["id"]) == []
    with pytest.raises(exception.InstanceNotFound):
        db.instance_set_deleted(admin, instance["id"], {"vm_state": "deleted"})


def _live_dependents(instance_id):
    """(live metadata items, live group links) of the instance, read directly."""
    import sqlalchemy

    from nova.db.sqlalchemy import models, session

    counts = []
    with session.get_connection() as connection:
        for model in (models.InstanceMetadata, models.SecurityGroupInstanceAssociation):
            table = model.__table__
            counts.append(connection.execute(
                sqlalchemy.select(sqlalchemy.func.count()).select_from(table)
                .where(table.c.instance_id == instance_id, table.c.deleted == sqlalchemy.false())).scalar())
    return tuple(counts)


def test_set_deleted_of_an_instance_out_of_reach_changes_nothing(db_url, admin, alice):
    theirs = make_instance(admin, project_id="proj-b")
    in_group(admin, theirs)
    assert _live_dependents(theirs["id"]) == (1, 1)
    with pytest.raises(exception.InstanceNotFound):
        db.instance_set_deleted(alice, theirs["id"], {"vm_state": "deleted"})
    assert _live_dependents(theirs["id"]) == (1, 1)
    assert db.instance_get(admin, theirs["id"])["vm_state"] == "building"


def _granting(admin):
    """Group "web" admits group "clients"; a web instance on host a, a clients instance (also in web) on b."""
    web = db.security_group_create(admin, {"name": "web", "description": "", "project_id": "proj-a",
                                           "user_id": "alice"})
    clients = db.security_group_create(admin, {"name": "clients", "description": "", "project_id": "proj-a",
                                               "user_id": "alice"})
    db.security_group_rule_create(admin, {"parent_group_id": web["id"], "group_id": clients["id"],
                                          "protocol": "tcp", "from_port": 80, "to_port": 80})
    server, client = make_instance(admin, host="a"), make_instance(admin, host="b")
    db.instance_add_security_group(admin, server["id"], web["id"])
    for group in (web, clients):
        db.instance_add_security_group(admin, client["id"], group["id"])
    return web, clients, server, client


def test_set_and_grantee_hosts_writes_and_answers_the_refresh_read(db_url, admin):
    web, clients, server, client = _granting(admin)
    with counting_statements() as statements:
        found = db.instance_set_and_grantee_hosts(admin, client["id"], {"task_state": "spawning"},
                                                  [clients["id"], web["id"]])
    assert len(statements) == (1 if db_url.startswith("postgresql") else 2)
    assert found == {clients["id"]: ["a", "b"], web["id"]: []}
    assert found == db.security_group_grantee_hosts(admin, [clients["id"], web["id"]])
    assert db.instance_get(admin, client["id"])["task_state"] == "spawning"
    db.instance_destroy(admin, server["id"])
    assert db.instance_set_and_grantee_hosts(admin, client["id"], {"task_state": None}, [clients["id"]]) == \
        {clients["id"]: ["b"]}
    with pytest.raises(exception.InstanceNotFound):
        db.instance_set_and_grantee_hosts(admin, server["id"], {"task_state": None}, [clients["id"]])
    with pytest.raises(exception.AdminRequired):
        db.instance_set_and_grantee_hosts(context.RequestContext("alice", "proj-a"), client["id"],
                                          {"task_state": None}, [clients["id"]])


def test_set_deleted_answers_the_grantee_hosts_as_after_the_delete(db_url, admin):
    web, clients, server, client = _granting(admin)
    with counting_statements() as statements:
        found = db.instance_set_deleted(admin, client["id"], {"vm_state": "deleted"},
                                        grantee_groups=[clients["id"]])
    assert len(statements) == (1 if db_url.startswith("postgresql") else 4)
    assert found == {clients["id"]: ["a"]} == db.security_group_grantee_hosts(admin, [clients["id"]])
    assert _live_dependents(client["id"]) == (0, 0)
    assert db.instance_set_deleted(admin, server["id"], {"vm_state": "deleted"}) is None
    with pytest.raises(exception.InstanceNotFound):
        db.instance_set_deleted(admin, client["id"], {"vm_state": "deleted"}, grantee_groups=[clients["id"]])


def service(admin, host, disabled=False, zone="nova", memory_mb=None):
    row = db.service_create(admin, {"host": host, "binary": "nova-compute", "topic": "compute",
                                    "disabled": disabled, "availability_zone": zone})
    db.service_heartbeat(admin, row["id"])
    if memory_mb is not None:
        db.compute_node_create(admin, {"service_id": row["id"], "vcpus": 16, "memory_mb": memory_mb,
                                       "local_gb": 10})
    return row


def test_compute_host_capacity_is_one_statement_of_enabled_hosts_with_their_use(db_url, admin):
    service(admin, "a", memory_mb=4096)
    service(admin, "b")
    service(admin, "off", disabled=True)
    make_instance(admin, host="a", vcpus=2, memory_mb=1024)
    make_instance(admin, host="a", vcpus=1, memory_mb=512)
    make_instance(admin, host="a", vcpus=8, memory_mb=8192, vm_state="error")  # holds nothing
    make_instance(admin, host="off", vcpus=4)
    with counting_statements() as statements:
        rows = db.compute_host_capacity(admin, "compute")
    assert len(statements) == 1
    assert [(r["host"], r["memory_mb"], r["instances"], r["vcpus"], r["used_memory_mb"]) for r in rows] == [
        ("a", 4096, 2, 3, 1536), ("b", None, 0, 0, 0)]
    assert rows[0]["availability_zone"] == "nova" and rows[0]["updated_at"] is not None
    # A scheduler leaves out the instances it counts itself.
    mine = make_instance(admin, host="a", vcpus=4, memory_mb=256)
    rows = db.compute_host_capacity(admin, "compute", leave_out=[mine["id"], 999999])
    assert (rows[0]["instances"], rows[0]["vcpus"], rows[0]["used_memory_mb"]) == (2, 3, 1536)
    assert db.compute_host_capacity(admin, "compute")[0]["instances"] == 3


def flat_network(admin, size=8):
    network = db.network_create_safe(admin, {"cidr": "10.9.0.0/29", "netmask": "255.255.255.248",
                                             "bridge": "br100", "label": "net", "host": "net"})
    db.fixed_ip_bulk_create(admin, [{"address": f"10.9.0.{i}", "network_id": network["id"], "reserved": i < 2}
                                    for i in range(size)])
    return network


def start_build(ctxt, instance):
    return db.instance_start_build(ctxt, instance["id"], "host-9", "networking", "building", "deleting", "zone-z")


def test_start_build_reads_and_starts_a_building_instance_in_one_statement(db_url, admin):
    instance = make_instance(admin, task_state="scheduling")
    group = in_group(admin, instance)
    db.volume_create(admin, {"size": 1, "instance_id": instance["id"], "status": "reserved"})
    with counting_statements() as statements, statements_in_transactions() as transactions:
        row, has_volumes, started = start_build(admin, instance)
    if db_url.startswith("postgresql"):
        assert len(statements) == 1 and [inside for _statement, inside in transactions] == [False]
    assert started and has_volumes and [g["name"] for g in row.security_groups] == [group["name"]]
    assert row.instance_type["name"] == "m1.small"
    for seen in (row, db.instance_get(admin, instance["id"])):
        assert (seen["host"], seen["launched_on"], seen["task_state"], seen["availability_zone"]) == (
            "host-9", "host-9", "networking", "zone-z")


def test_reads_for_host_give_each_live_group_once_and_none_for_an_instance_in_none(db_url, admin):
    """One row per group in the statement: the instance and its flavor come out once, its groups each once,
    a group deleted (or a link deleted) not at all, whichever read nova-compute makes."""
    instance, lone = make_instance(admin, task_state="scheduling"), make_instance(admin)
    web, db_group, gone = (in_group(admin, instance, name) for name in ("web", "db", "gone"))
    db.security_group_destroy(admin, gone["id"])
    expected = sorted([web["id"], db_group["id"]])
    reads = (lambda i: db.instance_get_for_host(admin, i["id"], security_groups=True),
             lambda i: db.instance_get_with_volume_flag(admin, i["id"])[0],
             lambda i: start_build(admin, i)[0])
    for read in reads:
        assert sorted(g["id"] for g in read(instance).security_groups) == expected
        assert read(lone).security_groups == []
    assert start_build(admin, lone)[0].instance_type["name"] == "m1.small"


def test_start_build_keeps_the_zone_given_at_launch(db_url, admin):
    instance = make_instance(admin, availability_zone="zone-a")
    row, has_volumes, started = start_build(admin, instance)
    assert started and not has_volumes and row["availability_zone"] == "zone-a"
    assert db.instance_get(admin, instance["id"])["availability_zone"] == "zone-a"


def test_start_build_leaves_an_instance_not_building_or_being_deleted_alone(db_url, admin, alice):
    active = make_instance(admin, vm_state="active")
    deleting = make_instance(admin, task_state="deleting")
    for instance in (active, deleting):
        row, _has_volumes, started = start_build(admin, instance)
        assert not started and row["host"] is None
        assert db.instance_get(admin, instance["id"])["host"] is None
    gone = make_instance(admin)
    db.instance_destroy(admin, gone["id"])
    theirs = make_instance(admin, project_id="proj-b")
    with pytest.raises(exception.InstanceNotFound):
        start_build(admin, gone)
    with pytest.raises(exception.InstanceNotFound):
        start_build(alice, theirs)
    assert db.instance_get(admin, theirs["id"])["host"] is None


def test_allocate_claims_a_free_address_and_sets_the_mac_in_one_transaction(db_url, admin):
    network = flat_network(admin)
    instance = make_instance(admin)
    with counting_statements() as statements, statements_in_transactions() as transactions:
        fixed, held = db.fixed_ip_allocate_for_instance(admin, network["id"], instance["id"], "02:16:3e:00:00:01")
    assert len(statements) == (1 if db_url.startswith("postgresql") else 4) and held is False  # WITH clauses
    if db_url.startswith("postgresql"):  # and in autocommit: no BEGIN and COMMIT round trips around it
        assert [inside for _statement, inside in transactions] == [False]
    assert fixed == {"address": "10.9.0.2", "mac_address": "02:16:3e:00:00:01", "network_id": network["id"]}
    row = db.fixed_ip_get_by_address(admin, "10.9.0.2")
    assert (row["instance_id"], row["allocated"], row["mac_address"]) == (instance["id"], True, "02:16:3e:00:00:01")
    assert db.instance_get(admin, instance["id"])["mac_address"] == "02:16:3e:00:00:01"


def test_allocate_again_answers_the_address_held_in_one_statement(db_url, admin):
    network = flat_network(admin)
    instance = make_instance(admin)
    first, _ = db.fixed_ip_allocate_for_instance(admin, network["id"], instance["id"], "02:16:3e:00:00:01")
    with counting_statements() as statements:
        again, held = db.fixed_ip_allocate_for_instance(admin, network["id"], instance["id"], "02:16:3e:00:00:02")
    assert len(statements) == 1 and held is True and again == first
    assert db.instance_get(admin, instance["id"])["mac_address"] == "02:16:3e:00:00:01"


def test_allocate_keeps_the_instance_mac_it_has(db_url, admin):
    network = flat_network(admin)
    instance = make_instance(admin, mac_address="02:16:3e:aa:aa:aa")
    db.fixed_ip_allocate_for_instance(admin, network["id"], instance["id"], "02:16:3e:00:00:01")
    assert db.instance_get(admin, instance["id"])["mac_address"] == "02:16:3e:aa:aa:aa"


def test_allocate_refuses_a_mac_in_use_and_claims_nothing(db_url, admin):
    network = flat_network(admin)
    db.fixed_ip_allocate_for_instance(admin, network["id"], make_instance(admin)["id"], "02:16:3e:00:00:01")
    other = make_instance(admin)
    with pytest.raises(exception.MacAddressInUse):
        db.fixed_ip_allocate_for_instance(admin, network["id"], other["id"], "02:16:3e:00:00:01")
    assert db.fixed_ip_get_all_by_instance(admin, other["id"]) == []


def test_allocate_for_a_deleted_instance_claims_nothing(db_url, admin):
    network = flat_network(admin)
    instance = make_instance(admin)
    db.instance_destroy(admin, instance["id"])
    with pytest.raises(exception.InstanceNotFound):
        db.fixed_ip_allocate_for_instance(admin, network["id"], instance["id"], "02:16:3e:00:00:01")
    assert all(row["instance_id"] is None for row in db.fixed_ip_get_all_by_network(admin, network["id"]))


def test_allocate_when_none_is_left(db_url, admin):
    network = flat_network(admin, size=3)
    db.fixed_ip_allocate_for_instance(admin, network["id"], make_instance(admin)["id"], "02:16:3e:00:00:01")
    with pytest.raises(exception.NoMoreFixedIps):
        db.fixed_ip_allocate_for_instance(admin, network["id"], make_instance(admin)["id"], "02:16:3e:00:00:02")


def test_releases_name_address_network_host_and_floating_ips_in_one_statement(db_url, admin):
    network = flat_network(admin)
    instance = make_instance(admin)
    fixed, _ = db.fixed_ip_allocate_for_instance(admin, network["id"], instance["id"], "02:16:3e:00:00:01")
    db.floating_ip_create(admin, {"address": "4.4.4.4", "host": "fl-host", "project_id": "proj-a"})
    db.floating_ip_fixed_ip_associate(admin, "4.4.4.4", fixed["address"])
    db.instance_destroy(admin, instance["id"])  # a terminated instance's addresses are released after
    with counting_statements() as statements:
        releases = db.fixed_ip_get_releases_by_instance(admin, instance["id"])
    assert len(statements) == 1
    assert releases == [{"address": fixed["address"], "network_id": network["id"], "network_host": "net",
                         "floating": [("4.4.4.4", "fl-host")]}]


def test_disassociate_is_one_update_and_reports_an_unknown_address(db_url, admin):
    network = flat_network(admin)
    instance = make_instance(admin)
    fixed, _ = db.fixed_ip_allocate_for_instance(admin, network["id"], instance["id"], "02:16:3e:00:00:01")
    with counting_statements() as statements:
        db.fixed_ip_disassociate(admin, fixed["address"])
    assert len(statements) == 1
    row = db.fixed_ip_get_by_address(admin, fixed["address"])
    assert (row["instance_id"], row["allocated"], row["mac_address"]) == (None, False, None)
    with pytest.raises(exception.FixedIpNotFound):
        db.fixed_ip_disassociate(admin, "10.99.0.1")


def test_periodic_listing_is_one_statement_of_live_rows_of_the_host(db_url, admin):
    on_a = make_instance(admin, host="a")
    building_a = make_instance(admin, host="a", vm_state="building")
    db.instance_set(admin, on_a["id"], {"vm_state": "active"})
    make_instance(admin, host="b")
    gone = make_instance(admin, host="a")
    db.instance_destroy(admin, gone["id"])
    unplaced = make_instance(admin)
    with counting_statements() as statements:
        rows = db.instance_get_all_for_host(admin, "a")
    assert len(statements) == 1
    assert [r["id"] for r in rows] == [on_a["id"], building_a["id"]]
    assert rows[0].instance_type["name"] == "m1.small"
    assert [r["id"] for r in db.instance_get_all_for_host(admin, "a", "building")] == [building_a["id"]]
    assert [r["id"] for r in db.instance_get_all_for_host(admin, None, "building")] == [unplaced["id"]]
    with pytest.raises(exception.AdminRequired):
        db.instance_get_all_for_host(context.RequestContext("alice", "proj-a"), "a")
