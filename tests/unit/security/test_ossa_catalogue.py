"""The vulnerability classes published for the first Nova's years (2011-2013), one regression test each.

Every test sends what an attacker sent, through the real WSGI pipelines of the module's cloud (see
conftest.py), and checks that the attack fails with the API's own error and leaves nothing behind.
Where a CVE or OSSA number is cited it was checked against its public record; otherwise the class is
described without a number.
"""

from __future__ import annotations

import base64
import datetime
import hmac
import logging
import os
import urllib.parse

import eventlet
import pytest
import webob

from nova import flags
from nova.auth import signer
from nova.db import api as db
from nova.network import linux_net
from tests.unit.security import resources
from tests.unit.security.conftest import EC2_HOST
from tests.unit.security.resources import ADMIN

FLAGS = flags.FLAGS
RULE = {"IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "22", "IpPermissions.1.ToPort": "22",
        "IpPermissions.1.IpRanges.1.CidrIp": "10.0.0.0/8"}


@pytest.fixture(scope="module")
def alices(cloud):
    return resources.make_project_resources(cloud, "alice", "alices", "192.0.2.1")


@pytest.fixture
def nothing_written(cloud):
    """The test's requests must write no row and no object (the services' heartbeats aside)."""
    before = resources.files_and_domains(cloud)
    with resources.Writes() as writes:
        yield writes
    assert writes.statements == []
    assert resources.files_and_domains(cloud) == before


def code_of(reply):
    return reply.status, reply.code


def _rules(cloud, group_id, user="alice"):
    text = resources.ec2_ok(cloud, "DescribeSecurityGroups", user, **{"GroupId.1": group_id})
    return text.split("<ipPermissions>", 1)[1].split("</ipPermissions>", 1)[0]


# -- metadata --------------------------------------------------------------------------------------------

def _metadata(cloud, path, remote, headers=None):
    req = webob.Request.blank(path, headers=headers or {})
    req.environ["REMOTE_ADDR"] = remote
    response = req.get_response(cloud.ec2_app)
    return response.status_int, response.text


def test_metadata_is_served_only_to_the_owning_instance_address(cloud, alices):
    """The metadata service answers an instance by its source address only: another address, a spoofed
    ``X-Forwarded-For`` (not trusted unless --use_forwarded_for) or a floating address gets nothing of
    it (the first Nova's metadata was looked up by the requester's address; spoofing it was the attack)."""
    instance = db.instance_get(ADMIN, int(alices["instance"][2:], 16))
    fixed = db.fixed_ip_get_all_by_instance(ADMIN, instance["id"])[0]["address"]
    status, text = _metadata(cloud, "/latest/meta-data/instance-id", fixed)
    assert (status, text) == (200, alices["instance"])
    assert "alices-user-data" == _metadata(cloud, "/latest/user-data", fixed)[1]
    for remote, headers in (("10.99.99.99", {}), ("10.99.99.99", {"X-Forwarded-For": fixed}),
                            (alices["address"], {}), ("127.0.0.1", {"X-Forwarded-For": fixed})):
        status, text = _metadata(cloud, "/latest/meta-data/instance-id", remote, headers)
        assert status == 404 and alices["instance"] not in text, (remote, headers)
        assert "alices-user-data" not in _metadata(cloud, "/latest/user-data", remote, headers)[1]


# -- security groups -------------------------------------------------------------------------------------

def test_security_group_protocol_case(cloud, alices):
    """CVE-2012-2654: a rule given with an upper-case protocol (``TCP``) was stored as given and then
    matched no firewall rule, so the group was not what its owner saw.  Either API must store ``tcp``
    (or refuse), and the duplicate of an existing rule must be refused, not stored twice."""
    group = alices["group"]
    reply = cloud.ec2("AuthorizeSecurityGroupIngress", GroupId=group, **dict(RULE, **{
        "IpPermissions.1.IpProtocol": "TCP", "IpPermissions.1.FromPort": "80", "IpPermissions.1.ToPort": "80"}))
    assert reply.status == 200, reply.text
    rules = _rules(cloud, group)
    assert "<ipProtocol>TCP</ipProtocol>" not in rules and rules.count("<fromPort>80</fromPort>") == 1
    again = cloud.ec2("AuthorizeSecurityGroupIngress", GroupId=group, **dict(RULE, **{
        "IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "80", "IpPermissions.1.ToPort": "80"}))
    assert code_of(again) == (400, "InvalidPermission.Duplicate"), again.text
    os_reply = cloud.os("POST", "/os-security-group-rules", json={"security_group_rule": {
        "parent_group_id": alices["group_num"], "ip_protocol": "UDP", "from_port": 53, "to_port": 53,
        "cidr": "10.0.0.0/8"}})
    assert os_reply.status in (200, 201, 400), os_reply.text
    if os_reply.status < 300:
        assert os_reply.json()["security_group_rule"]["ip_protocol"] == "udp"
    assert "<ipProtocol>UDP</ipProtocol>" not in _rules(cloud, group)
    resources.ec2_ok(cloud, "RevokeSecurityGroupIngress", GroupId=group, **dict(RULE, **{
        "IpPermissions.1.FromPort": "80", "IpPermissions.1.ToPort": "80"}))


@pytest.mark.parametrize("protocol, from_port, to_port", [
    ("tcp", "-1", "-1"), ("tcp", "0", "65536"), ("tcp", "100", "99"), ("udp", "-5", "10"), ("icmp", "256", "0"),
    ("icmp", "0", "256"), ("gre", "1", "2"), ("tcp", "1e3", "2000"), ("tcp", "", "22")])
def test_security_group_port_range_edges(cloud, alices, nothing_written, protocol, from_port, to_port):
    """The port-range edges of the first Nova's rule parser (-1 meaning "all" for ICMP only, 0..65535,
    from <= to, known protocols): every bad range is refused with EC2's own error and stores nothing."""
    reply = cloud.ec2("AuthorizeSecurityGroupIngress", GroupId=alices["group"], **dict(RULE, **{
        "IpPermissions.1.IpProtocol": protocol, "IpPermissions.1.FromPort": from_port,
        "IpPermissions.1.ToPort": to_port}))
    assert reply.status == 400 and reply.code in ("InvalidParameterValue", "InvalidPermission.Malformed",
                                                  "InvalidParameter"), reply.text


def test_security_group_rule_quota(cloud, alices, nothing_written):
    """CVE-2012-2101: the number of security-group rules was not limited, so one user could make the
    compute hosts build iptables chains without end.  Past --quota_security_group_rules a request is
    refused whole (none of its rules stored), also when it brings many rules at once."""
    many = {}
    for n in range(1, FLAGS.quota_security_group_rules + 2):
        many.update({f"IpPermissions.{n}.IpProtocol": "tcp", f"IpPermissions.{n}.FromPort": str(1000 + n),
                     f"IpPermissions.{n}.ToPort": str(1000 + n), f"IpPermissions.{n}.IpRanges.1.CidrIp": "10.0.0.0/8"})
    reply = cloud.ec2("AuthorizeSecurityGroupIngress", GroupId=alices["group"], **many)
    assert code_of(reply) == (400, "RulesPerSecurityGroupLimitExceeded"), reply.text


# -- images and the object store -------------------------------------------------------------------------

def _outside(cloud):
    """Files that appeared next to the object store's root (where an escaped name would land)."""
    parent = os.path.dirname(cloud.buckets_path)
    return {name for name in os.listdir(parent) if name != os.path.basename(cloud.buckets_path)}


def test_bundle_manifest_path_traversal(cloud, alices, nothing_written):
    """A bundle whose manifest names its parts ``../...`` (the first Nova joined the names to its image
    directory, as it untarred archives with ``../`` members): RegisterImage refuses it with
    InvalidManifest and registers nothing."""
    manifest = (b"<manifest><machine_configuration><architecture>x86_64</architecture></machine_configuration>"
                b"<image><name>evil</name><ec2_encrypted_key>00</ec2_encrypted_key><ec2_encrypted_iv>00"
                b"</ec2_encrypted_iv><parts count='1'><part index='0'><filename>../../../etc/passwd</filename>"
                b"<digest algorithm='SHA1'>00</digest></part></parts></image></manifest>")
    with resources.Writes() as setup_writes:
        assert cloud.s3("PUT", f"/{alices['bucket']}/evil.manifest.xml", body=manifest).status == 200
    nothing_written.statements.clear()
    before = _outside(cloud)
    reply = cloud.ec2("RegisterImage", ImageLocation=f"{alices['bucket']}/evil.manifest.xml")
    assert code_of(reply) == (400, "InvalidManifest"), reply.text
    assert _outside(cloud) == before
    assert setup_writes.statements == []
    assert cloud.s3("DELETE", f"/{alices['bucket']}/evil.manifest.xml").status == 204


@pytest.mark.parametrize("path", ["/..", "/../escaped", "/%2e%2e/escaped", "/alices-bucket/../../escaped",
                                  "/alices-bucket/%2e%2e%2f%2e%2e%2fescaped", "/alices-bucket/..",
                                  "/alices-bucket/a%00b", "/.", "/alices-bucket/./../x"])
def test_object_store_names_cannot_escape_the_store(cloud, alices, path):
    """Bucket and object names with ``..``, ``/`` or NUL (the first objectstore joined them to its
    directory): a write is refused with S3's own error or kept inside the store under its own name;
    nothing appears outside the store's root."""
    before = _outside(cloud)
    reply = cloud.s3("PUT", path, body=b"escaped")
    assert reply.status in (200, 400, 403, 404, 405, 409), reply.text
    if reply.status == 200:  # kept as an object of that name, readable back as such
        assert cloud.s3("GET", path).body == b"escaped"
        assert cloud.s3("DELETE", path).status == 204
    else:
        assert reply.code, reply.text
    assert _outside(cloud) == before


# -- signatures ------------------------------------------------------------------------------------------

def _signed(cloud, fields, secret=None):
    access, own_secret = cloud.pairs["alice"]
    fields = {"Action": "DescribeRegions", "Version": "2016-11-15", "AWSAccessKeyId": access,
              "SignatureMethod": "HmacSHA256", "SignatureVersion": "2", **fields}
    fields["Signature"] = signer.sigv2_query_signature(secret or own_secret, "POST", EC2_HOST, "/services/Cloud",
                                                       fields, "HmacSHA256")
    req = webob.Request.blank("/services/Cloud", method="POST", body=urllib.parse.urlencode(fields).encode(),
                              headers={"Host": EC2_HOST, "Content-Type": "application/x-www-form-urlencoded"})
    response = req.get_response(cloud.ec2_app)
    return response.status_int, response.text


def _stamp(delta):
    return (datetime.datetime.now(datetime.timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("fields", [
    {"Expires": _stamp(datetime.timedelta(minutes=-5))},           # expired
    {"Expires": "9999-12-31T23:59:59Z"},                           # replayable for ever
    {"Timestamp": _stamp(datetime.timedelta(hours=-2))},           # an old request replayed
    {"Timestamp": _stamp(datetime.timedelta(hours=+2))},           # signed for later
    {"Timestamp": "0000-01-01T00:00:00Z"},
    {},                                                            # neither Timestamp nor Expires
], ids=["expired", "expires-9999", "old", "future", "year-0", "no-time"])
def test_ec2_signature_replay_and_expiry(cloud, fields):
    """A signed EC2 request is good for a bounded time only: an expired one, one valid for ever, an old
    one replayed, one from the future are refused with AuthFailure (or EC2's own 400), never run."""
    status, text = _signed(cloud, fields)
    assert status in (400, 401, 403) and "<Code>" in text and "regionInfo" not in text, text


def test_signatures_are_compared_in_constant_time(cloud, monkeypatch):
    """A signature compared byte by byte with ``==`` leaks how much of a forgery was right through the
    response time; every check goes through ``hmac.compare_digest``."""
    calls = []

    def counting(a, b):
        calls.append(1)
        return real(a, b)

    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", counting)
    assert _signed(cloud, {"Timestamp": _stamp(datetime.timedelta())})[0] == 200
    good = len(calls)
    assert good >= 1
    status, _text = _signed(cloud, {"Timestamp": _stamp(datetime.timedelta())}, secret="not-the-secret")
    assert status in (401, 403) and len(calls) > good


def test_secrets_stay_out_of_logs_and_answers(cloud, caplog):
    """Secret keys, private keys and the expected signature never reach a log line or another answer
    (early Nova logged request parameters and whole RPC messages, credentials included)."""
    access, secret = cloud.pairs["alice"]
    with caplog.at_level(logging.DEBUG):
        created = cloud.ec2("CreateKeyPair", KeyName="logged-key")
        assert created.status == 200, created.text
        private = created.text.split("<keyMaterial>", 1)[1].split("</keyMaterial>", 1)[0]
        described = cloud.ec2("DescribeKeyPairs", **{"KeyName.1": "logged-key"})
        status, refused = _signed(cloud, {"Timestamp": _stamp(datetime.timedelta())}, secret="wrong")
    body = private.split("-----")[2].strip().splitlines()[1]
    assert status in (401, 403)
    expected = signer.sigv2_query_signature(secret, "POST", EC2_HOST, "/services/Cloud", {}, "HmacSHA256")
    for text in (caplog.text, described.text, refused):
        assert secret not in text and body not in text and "PRIVATE KEY" not in text
    assert expected not in refused
    resources.ec2_ok(cloud, "DeleteKeyPair", KeyName="logged-key")


# -- quotas ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("counts, code", [
    ({"MinCount": "-1", "MaxCount": "1"}, "InvalidParameterValue"),
    ({"MinCount": "0", "MaxCount": "0"}, "InvalidParameterValue"),
    ({"MinCount": "2", "MaxCount": "1"}, "InvalidParameterValue"),
    ({"MinCount": "1000", "MaxCount": "1000"}, "InstanceLimitExceeded"),
    ({"MinCount": "1", "MaxCount": "99999999999999999999"}, "InvalidParameterValue"),
])
def test_quota_cannot_be_bypassed_by_counts(cloud, alices, nothing_written, counts, code):
    """Negative, zero, inverted or huge instance counts (the first Nova's count checks had holes):
    refused before any row is written."""
    reply = cloud.ec2("RunInstances", ImageId=cloud.image_id, **counts)
    assert reply.status == 400 and reply.code in (code, "ResourceLimitExceeded", "InvalidParameterValue"), reply.text


def test_quota_holds_under_concurrent_launches(cloud, alices):
    """Requests racing past the quota check (read count, then write) each saw room: ten launches at once
    for the last free slot start one instance at most."""
    running = len(db.instance_get_all_by_filters(ADMIN, {"project_id": "proj-a"}))
    saved = FLAGS.quota_instances
    FLAGS.quota_instances = running + 1
    try:
        pool = eventlet.GreenPool()
        replies = list(pool.imap(lambda _n: cloud.ec2("RunInstances", ImageId=cloud.image_id, MinCount=1,
                                                      MaxCount=1), range(10)))
    finally:
        FLAGS.quota_instances = saved
    started = [r for r in replies if r.status == 200]
    assert len(started) <= 1, [r.text for r in started]
    assert all(r.code in ("InstanceLimitExceeded", "ResourceLimitExceeded") for r in replies if r.status != 200)
    for reply in started:
        instance = reply.text.split("<instanceId>", 1)[1].split("</instanceId>", 1)[0]
        resources.ec2_ok(cloud, "TerminateInstances", **{"InstanceId.1": instance})
    live = db.instance_get_all_by_filters(ADMIN, {"project_id": "proj-a"})
    assert len(live) <= running + 1


def test_fixed_ip_exhaustion(cloud, alices):
    """RHSA-2013:0709 (Folsom): nothing limited the fixed addresses one tenant could take, so one
    user could take a whole network.  A project's instances, and so its fixed addresses, stop at its
    quota, far below the size of the network, and the refused launch takes none."""
    free_before = len([ip for ip in db.fixed_ip_get_all(ADMIN) if not ip["instance_id"]])
    reply = cloud.ec2("RunInstances", ImageId=cloud.image_id, MinCount=FLAGS.network_size,
                      MaxCount=FLAGS.network_size)
    assert code_of(reply)[0] == 400 and reply.code in ("InstanceLimitExceeded", "ResourceLimitExceeded"), reply.text
    assert len([ip for ip in db.fixed_ip_get_all(ADMIN) if not ip["instance_id"]]) == free_before


# -- injection -------------------------------------------------------------------------------------------

HOSTILE_NAME = "x\"/><devices><disk/></devices>$(reboot);`id`\n--dhcp-script=/tmp/evil'&"


def test_hostile_names_do_not_reach_xml_or_shell(cloud, alices):
    """A server name with XML and shell metacharacters (names once went into libvirt XML, dnsmasq host
    files and iptables comments): the hostname the network and hypervisor use is nova's own
    ``i-xxxxxxxx``, and the name is shown back as given, escaped in XML answers."""
    reply = cloud.os("POST", "/servers", json={"server": {"name": HOSTILE_NAME, "imageRef": "1",
                                                          "flavorRef": "1"}})
    if reply.status == 400:  # refused as a name: equally safe
        return
    assert reply.status == 202, reply.text
    server = reply.json()["server"]
    row = db.instance_get_all_by_filters(ADMIN, {"uuid": server["id"]})[0]
    assert row["hostname"] == "i-%08x" % row["id"]
    line = linux_net.hosts_line("02:00:00:00:00:01", row["hostname"], "10.0.0.9")
    assert "\n" not in line and "$" not in line and "--" not in line
    described = cloud.ec2("DescribeInstances", **{"InstanceId.1": "i-%08x" % row["id"]})
    assert described.status == 200 and "<devices>" not in described.text
    xml11 = cloud.os("GET", f"/servers/{server['id']}", prefix="/v1.1", headers={"Accept": "application/xml"})
    assert xml11.status == 200 and "<devices><disk/>" not in xml11.text
    assert cloud.os("DELETE", f"/servers/{server['id']}").status == 204


def test_file_injection_paths_are_refused(cloud, alices):
    """OSSA 2012-008 (CVE-2012-3360, CVE-2012-3361): files injected into an image at paths with ``..``
    or through symlinks overwrote the host's files.  This cloud injects no files: v1.0/v1.1 refuse a
    personality with 501; v2.1 refuses it or makes the server without it, keeping nothing of it."""
    for path in ("../../../etc/shadow", "/etc/../../root/.ssh/authorized_keys"):
        contents = base64.b64encode(b"owned-by-injection").decode()
        reply = cloud.os("POST", "/servers", json={"server": {
            "name": "inject", "imageRef": "1", "flavorRef": "1",
            "personality": [{"path": path, "contents": contents}]}})
        assert reply.status in (202, 400), reply.text
        if reply.status == 202:
            rows = resources.fingerprint(cloud)["rows"]
            assert not any(path in str(table) or contents in str(table) for table in rows.values())
            assert cloud.os("DELETE", f"/servers/{reply.json()['server']['id']}").status == 204
        else:
            assert reply.code == "badRequest"
        with resources.Writes() as writes:
            old = cloud.os("POST", "/servers", prefix="/v1.1", json={"server": {
                "name": "inject", "imageRef": "1", "flavorRef": "1",
                "personality": [{"path": path, "contents": contents}]}})
        assert old.status == 501 and old.code == "notImplemented", old.text  # v1.x: a clear fault
        assert writes.statements == []


# -- another project's things ----------------------------------------------------------------------------

def test_console_output_of_another_project(cloud, alices, nothing_written):
    """Console output of another tenant's instance (an instance id was all it took): not found."""
    assert code_of(cloud.ec2("GetConsoleOutput", "bob", InstanceId=alices["instance"])) == \
        (400, "InvalidInstanceID.NotFound")
    reply = cloud.os("POST", f"/servers/{alices['uuid']}/action", "bob", json={"os-getConsoleOutput": {}})
    assert code_of(reply) == (404, "itemNotFound")


def test_snapshot_or_image_of_another_project(cloud, alices, nothing_written):
    """Snapshotting another tenant's instance, launching or copying its private image, or making a
    volume of its snapshot: each as if it did not exist."""
    assert cloud.ec2("CreateImage", "bob", InstanceId=alices["instance"], Name="mine").code == \
        "InvalidInstanceID.NotFound"
    assert cloud.ec2("RunInstances", "bob", ImageId=alices["image"], MinCount=1, MaxCount=1).code == \
        "InvalidAMIID.NotFound"
    assert cloud.ec2("CopyImage", "bob", SourceImageId=alices["image"], SourceRegion="nova", Name="copied").code == \
        "InvalidAMIID.NotFound"
    assert cloud.ec2("CreateVolume", "bob", SnapshotId=alices["snapshot"], AvailabilityZone="nova").code == \
        "InvalidSnapshot.NotFound"
    assert code_of(cloud.os("POST", f"/servers/{alices['uuid']}/action", "bob",
                            json={"createImage": {"name": "mine"}})) == (404, "itemNotFound")
    launch = cloud.ec2("RunInstances", "bob", ImageId=cloud.image_id, MinCount=1, MaxCount=1,
                       **{"BlockDeviceMapping.1.DeviceName": "/dev/vdb",
                          "BlockDeviceMapping.1.Ebs.SnapshotId": alices["snapshot"]})
    assert launch.code == "InvalidSnapshot.NotFound", launch.text  # and no instance row, not even a deleted one


def test_volume_of_another_project(cloud, alices, nothing_written):
    """Boot from volume reaching any volume by id (a Folsom-era flaw) and attaching another tenant's volume:
    bob can neither attach alice's volume nor boot from it; the volume stays hers and free."""
    before = db.volume_get(ADMIN, int(alices["volume_num"]))
    reply = cloud.os("POST", "/servers", "bob", json={"server": {
        "name": "thief", "flavorRef": "1", "block_device_mapping_v2": [{
            "boot_index": 0, "uuid": alices["volume_num"], "source_type": "volume", "destination_type": "volume"}]}})
    assert reply.status in (400, 404), reply.text
    reply = cloud.os("POST", "/servers", "bob", json={"server": {
        "name": "thief", "imageRef": "1", "flavorRef": "1",
        "block_device_mapping": [{"device_name": "vdb", "volume_id": alices["volume_num"]}]}})
    assert reply.status in (400, 404), reply.text
    attach = cloud.ec2("AttachVolume", "bob", VolumeId=alices["volume"], InstanceId=alices["instance"],
                       Device="/dev/vdc")
    assert attach.code in ("InvalidVolume.NotFound", "InvalidInstanceID.NotFound"), attach.text
    after = db.volume_get(ADMIN, int(alices["volume_num"]))
    assert (after["status"], after["instance_id"]) == (before["status"], before["instance_id"]) == ("available", None)
    stray = [i for i in db.instance_get_all_by_filters(ADMIN, {"project_id": "proj-b"})
             if (i["display_name"] or "") == "thief"]
    assert stray == []


def test_floating_ip_to_another_projects_instance(cloud, alices, nothing_written):
    """Associating an address with another tenant's instance (or another tenant's address with one's own
    instance) by id: not found, nothing moves."""
    reply = cloud.ec2("AssociateAddress", "bob", PublicIp=alices["address"], InstanceId=alices["instance"])
    assert reply.code in ("InvalidAddress.NotFound", "InvalidInstanceID.NotFound"), reply.text
    reply = cloud.os("POST", f"/servers/{alices['uuid']}/action", "bob",
                     json={"addFloatingIp": {"address": alices["address"]}})
    assert code_of(reply) == (404, "itemNotFound")


# -- sizes: denial of service ----------------------------------------------------------------------------

def test_huge_user_data_key_names_and_bodies(cloud, alices, nothing_written):
    """Huge user data, key names, group names and descriptions, server names and request bodies (long
    server names once filled nova-api's logs): each refused with the API's own 4xx, nothing stored."""
    too_much = base64.b64encode(b"x" * (64 * 1024)).decode()
    checks = [
        cloud.ec2("RunInstances", ImageId=cloud.image_id, MinCount=1, MaxCount=1, UserData=too_much),
        cloud.ec2("CreateKeyPair", KeyName="k" * 256),
        cloud.ec2("CreateSecurityGroup", GroupName="g" * 256, GroupDescription="d"),
        cloud.ec2("CreateSecurityGroup", GroupName="g", GroupDescription="d" * 256),
        cloud.ec2("CreateTags", **{"ResourceId.1": alices["instance"], "Tag.1.Key": "k" * 128, "Tag.1.Value": "v"}),
        cloud.ec2("DescribeRegions", Padding="p" * (FLAGS.ec2_max_request_bytes + 1)),
        cloud.os("POST", "/servers", json={"server": {"name": "n" * 1000, "imageRef": "1", "flavorRef": "1"}}),
        cloud.os("POST", "/os-keypairs", json={"keypair": {"name": "k" * 1000}}),
        cloud.os("POST", "/os-security-groups", json={"security_group": {"name": "g" * 1000, "description": "d"}}),
        cloud.os("POST", "/servers", body=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                 headers={"Content-Type": "application/json"}),
    ]
    for reply in checks:
        assert 400 <= reply.status < 500 and reply.code, reply.text[:300]


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                             for n in range(1, 10))
                  + b"]>")
EXTERNAL = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize("prolog", [BILLION_LAUGHS, EXTERNAL], ids=["entity-expansion", "external-entity"])
def test_xml_entities_in_every_xml_body(cloud, alices, nothing_written, prolog):
    """XML entity expansion and external entities in request bodies (the XML API of Nova and its
    neighbours expanded them: memory exhaustion, local file disclosure): the v1.0/v1.1 API and every
    S3 XML body refuse a DTD with their own 400."""
    ref = b"&lol9;" if prolog is BILLION_LAUGHS else b"&e;"
    os_reply = cloud.os("POST", "/servers", prefix="/v1.1", body=prolog + b'<server name="' + ref +
                        b'" imageId="1" flavorId="1" xmlns="http://docs.openstack.org/compute/api/v1.1"/>',
                        headers={"Content-Type": "application/xml"})
    assert os_reply.status == 400, os_reply.text[:300]
    assert "root:" not in os_reply.text
    bucket = alices["bucket"]
    for method, path in (("PUT", f"/{bucket}?tagging"), ("PUT", f"/{bucket}?cors"), ("POST", f"/{bucket}?delete"),
                         ("PUT", f"/{bucket}?versioning"), ("PUT", f"/{bucket}?acl"),
                         ("POST", f"/{bucket}/big?uploadId={alices['upload']}")):
        body = prolog + b"<Tagging><TagSet><Tag><Key>k</Key><Value>" + ref + b"</Value></Tag></TagSet></Tagging>"
        reply = cloud.s3(method, path, body=body)
        assert reply.status == 400 and reply.code, (path, reply.text[:300])
        assert "root:" not in reply.text


def test_unbounded_listing(cloud, alices):
    """A listing's page size is bounded: EC2 MaxResults outside 5..1000 is refused, S3 max-keys is
    capped at 1000, an OpenStack ``limit`` past the maximum is refused or capped."""
    assert cloud.ec2("DescribeInstances", MaxResults="100000").code == "InvalidParameterValue"
    listing = cloud.s3("GET", f"/{alices['bucket']}?max-keys=100000000")
    assert listing.status == 200 and "<MaxKeys>1000</MaxKeys>" in listing.text, listing.text
    reply = cloud.os("GET", "/servers?limit=100000000")
    assert reply.status in (200, 400), reply.text


# -- roles -----------------------------------------------------------------------------------------------

def test_ec2_role_checks_per_action(cloud, alices):
    """The first Nova's Authorizer gave each EC2 action its roles: a project member without roles
    (carol in proj-a) is refused every action that needs one, with UnauthorizedOperation, and changes
    nothing.  Each action is sent with the parameters of its first row in the cross-tenant matrix."""
    from nova.api.ec2.cloud import CloudController
    from tests.unit.security.test_cross_tenant_matrix import EC2_ROWS, fill

    ids = {**{f"b_{key}": value for key, value in resources.GHOSTS.items()}, **alices,
           "public_image": cloud.image_id, "public_key": "c3NoLWVkMjU1MTkgQUFBQQ==", "b_group": "sg-0fffffff"}
    first = {}
    for row in EC2_ROWS:
        first.setdefault(row.name, row.args)
    refused = []
    with resources.Writes() as writes:
        for name, action in sorted(CloudController().actions.items()):
            if "all" in action.roles:
                continue
            reply = cloud.ec2(name, "carol", **fill(first[name], ids))
            assert code_of(reply) == (403, "UnauthorizedOperation"), (name, reply.text)
            refused.append(name)
    assert writes.statements == []
    assert "RunInstances" in refused and "AuthorizeSecurityGroupIngress" in refused


def test_anonymous_requests_get_no_private_bucket(cloud, alices, nothing_written):
    """The first objectstore served buckets to whoever named them (S3 requests without a signature):
    an unsigned request to a private bucket or object is refused with AccessDenied and writes nothing."""
    for method, path, body in (("GET", f"/{alices['bucket']}", b""), ("GET", f"/{alices['bucket']}/secret", b""),
                               ("PUT", f"/{alices['bucket']}/anon", b"x"),
                               ("DELETE", f"/{alices['bucket']}/secret", b""),
                               ("GET", f"/{alices['bucket']}?acl", b""), ("GET", "/", b"")):
        req = webob.Request.blank(path, method=method, headers={"Host": "127.0.0.1:3333"})
        req.environ["RAW_PATH_INFO"], _, req.environ["QUERY_STRING"] = path.partition("?")
        if body:
            req.body = body
        response = req.get_response(cloud.s3_app)
        assert response.status_int == 403 and b"<Code>AccessDenied</Code>" in response.body, (path, response.text)
        assert b"alices-object-body" not in response.body
