"""The metadata service answers for the instance whose fixed IP asks."""

import webob

from nova import context, wsgi
from nova.db import api as db


def _instance_with_ip(env):
    client = env.client()
    client.create_key_pair(KeyName="k")
    client.create_security_group(GroupName="web", Description="d")
    reservation = client.run_instances(ImageId=env.image_id, MinCount=1, MaxCount=1, KeyName="k",
                                       SecurityGroups=["web"], UserData="#cloud-config\n")
    instance_id = dict(reservation["Instances"][0], ReservationId=reservation["ReservationId"])
    admin = context.get_admin_context()
    network = db.network_create_safe(admin, {"label": "net", "cidr": "10.9.0.0/24", "bridge": "br9"})
    db.fixed_ip_bulk_create(admin, [{"address": "10.9.0.5", "network_id": network["id"]}])
    db_id = int(instance_id["InstanceId"][2:], 16)
    db.fixed_ip_associate_pool(admin, network["id"], db_id, "02:00:00:00:00:05")
    return instance_id, db_id


def _get(app, path, remote="10.9.0.5"):
    req = webob.Request.blank(path)
    req.remote_addr = remote
    return req.get_response(app)


def test_meta_data_tree_for_the_calling_instance(ec2_env):
    shown, db_id = _instance_with_ip(ec2_env)
    for app_name, prefix in (("ec2", ""), ("metadata", "")):
        app = wsgi.load_paste_app(app_name)
        listing = _get(app, f"{prefix}/latest/meta-data/").text.splitlines()
        assert {"ami-id", "instance-id", "hostname", "local-ipv4", "public-keys/", "placement/",
                "reservation-id", "security-groups", "instance-type"} <= set(listing)
        assert _get(app, "/latest/meta-data/instance-id").text == shown["InstanceId"]
        assert _get(app, "/latest/meta-data/ami-id").text == ec2_env.image_id
        assert _get(app, "/latest/meta-data/local-ipv4").text == "10.9.0.5"
        assert _get(app, "/latest/meta-data/placement/availability-zone").text == "nova"
        assert _get(app, "/latest/meta-data/security-groups").text == "web"
        assert _get(app, "/latest/meta-data/reservation-id").text == shown["ReservationId"]
        assert _get(app, "/latest/meta-data/public-keys/").text == "0=k"
        key = db.key_pair_get(context.get_admin_context(), "alice", "k")["public_key"]
        assert _get(app, "/latest/meta-data/public-keys/0/openssh-key").text == key
        assert _get(app, "/2009-04-04/user-data").body == b"#cloud-config\n"
        assert _get(app, "/latest/meta-data/nothing-here").status_int == 404


def test_other_addresses_get_404(ec2_env):
    _instance_with_ip(ec2_env)
    app = wsgi.load_paste_app("metadata")
    assert _get(app, "/latest/meta-data/instance-id", remote="10.9.0.99").status_int == 404
    assert _get(app, "/latest/meta-data/instance-id", remote="127.0.0.1").status_int == 404


def test_public_ipv4_is_the_floating_address(ec2_env):
    _shown, db_id = _instance_with_ip(ec2_env)
    app = wsgi.load_paste_app("metadata")
    assert _get(app, "/latest/meta-data/public-ipv4").text == ""
    admin = context.get_admin_context()
    db.floating_ip_bulk_create(admin, "h", ["192.0.2.50"])
    db.floating_ip_allocate_address(admin, "h", "proj-a")
    db.floating_ip_fixed_ip_associate(admin, "192.0.2.50", "10.9.0.5")
    assert _get(app, "/latest/meta-data/public-ipv4").text == "192.0.2.50"
    assert _get(app, "/latest/meta-data/local-ipv4").text == "10.9.0.5"
