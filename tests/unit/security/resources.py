"""Project A's resources (made by alice through the APIs, as a user makes them) and a fingerprint of
everything the cloud holds, so a test can tell that another project's request changed nothing."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from typing import Any

import sqlalchemy

from nova import context
from nova.db import api as db
from nova.db.sqlalchemy import session
from nova.image import local as local_image
from tests.fixtures.rpc import wait_for
from tests.unit.security.conftest import Cloud

ADMIN = context.get_admin_context()
# What only alice's resources hold and no request of bob's names: none may ever appear in bob's answers.
SECRETS = ("alices-user-data", "alices-tag-value", "alices-meta-value", "alices-object-body", "alices-image",
           "alices-vm", "alices-group-description")
# Ids that exist nowhere: the same request with these must answer as with alice's.
GHOSTS = {"instance": "i-0fffffff", "uuid": "0fffffff-0000-4000-8000-000000000000", "volume": "vol-0fffffff",
          "attached_volume": "vol-0ffffffe", "snapshot": "snap-0fffffff", "image": "ami-0fffffff",
          "image_num": "268435455", "group": "sg-0fffffff", "group_num": "268435455",
          "group_name": "no-such-group", "rule_num": "268435455", "address": "192.0.2.250",
          "allocation": "eipalloc-0fffffff", "floating_num": "268435455", "key": "no-such-key",
          "volume_num": "268435455", "attached_num": "268435454", "snapshot_num": "268435455",
          "bucket": "no-such-bucket-x", "object": "no-such-object", "upload": "0fffffffffffffffffffffffffffffff"}


def ec2_ok(cloud: Cloud, action: str, user: str = "alice", **params: Any) -> str:
    reply = cloud.ec2(action, user=user, **params)
    assert reply.status == 200, reply.text
    return reply.text


def _between(text: str, tag: str) -> str:
    return text.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]


def _instance_state(cloud: Cloud, instance_id: str, user: str) -> str:
    return _between(_between(ec2_ok(cloud, "DescribeInstances", user, **{"InstanceId.1": instance_id}),
                             "instanceState"), "name")


def _volume_status(cloud: Cloud, volume_id: str, user: str) -> str:
    return _between(ec2_ok(cloud, "DescribeVolumes", user, **{"VolumeId.1": volume_id}), "status")


def make_project_resources(cloud: Cloud, user: str, prefix: str, floating: str) -> dict[str, str]:
    """An instance (key pair, group, user data, tag, metadata), an attached and a free volume, a snapshot,
    an associated floating address, a private image and a private bucket with an object and an upload."""
    ec2_ok(cloud, "CreateKeyPair", user, KeyName=f"{prefix}-key")
    group_text = ec2_ok(cloud, "CreateSecurityGroup", user, GroupName=f"{prefix}-group",
                        GroupDescription=f"{prefix}-group-description")
    group = _between(group_text, "groupId")
    ec2_ok(cloud, "AuthorizeSecurityGroupIngress", user, GroupId=group, **{
        "IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "22", "IpPermissions.1.ToPort": "22",
        "IpPermissions.1.IpRanges.1.CidrIp": "10.0.0.0/8"})
    run = ec2_ok(cloud, "RunInstances", user, ImageId=cloud.image_id, MinCount=1, MaxCount=1,
                 KeyName=f"{prefix}-key", **{"SecurityGroup.1": f"{prefix}-group",
                                             "UserData": base64.b64encode(f"{prefix}-user-data".encode()).decode()})
    instance = _between(run, "instanceId")
    wait_for(lambda: _instance_state(cloud, instance, user) == "running", timeout=20)
    row = db.instance_get(ADMIN, int(instance[2:], 16))
    db.instance_update(ADMIN, row["id"], {"display_name": f"{prefix}-vm"})
    meta = cloud.os("POST", f"/servers/{row['uuid']}/meta", user, prefix="/v1.1",
                    json={"metadata": {f"{prefix}-meta": f"{prefix}-meta-value"}})
    assert meta.status == 200, meta.text
    ec2_ok(cloud, "CreateTags", user, **{"ResourceId.1": instance, "Tag.1.Key": "owner",
                                         "Tag.1.Value": f"{prefix}-tag-value"})
    volumes = [_between(ec2_ok(cloud, "CreateVolume", user, Size=1, AvailabilityZone="nova"), "volumeId")
               for _ in range(2)]
    for volume in volumes:
        wait_for(lambda volume=volume: _volume_status(cloud, volume, user) == "available", timeout=10)
    ec2_ok(cloud, "AttachVolume", user, VolumeId=volumes[0], InstanceId=instance, Device="/dev/vdb")
    wait_for(lambda: _volume_status(cloud, volumes[0], user) == "in-use", timeout=10)
    snapshot = _between(ec2_ok(cloud, "CreateSnapshot", user, VolumeId=volumes[1]), "snapshotId")
    wait_for(lambda: "<status>completed</status>" in ec2_ok(cloud, "DescribeSnapshots", user,
                                                             **{"SnapshotId.1": snapshot}), timeout=10)
    db.floating_ip_create(ADMIN, {"address": floating, "host": "test-host"})
    allocated = ec2_ok(cloud, "AllocateAddress", user)
    address = _between(allocated, "publicIp")
    assert address == floating, allocated
    ec2_ok(cloud, "AssociateAddress", user, PublicIp=address, InstanceId=instance)
    floating_row = db.floating_ip_get_by_address(ADMIN, address)
    project = row["project_id"]
    ctxt = context.RequestContext(user, project)
    images = local_image.LocalImageService()
    image = images.create(ctxt, {"name": f"{prefix}-image", "is_public": False})
    images.store(ctxt, image["id"], io.BytesIO(b"a private disk"))
    bucket = f"{prefix}-bucket"
    assert cloud.s3("PUT", f"/{bucket}", user).status == 200
    assert cloud.s3("PUT", f"/{bucket}/secret", user, body=f"{prefix}-object-body".encode()).status == 200
    upload = cloud.s3("POST", f"/{bucket}/big?uploads", user)
    assert upload.status == 200, upload.text
    volume_rows = [db.volume_get(ADMIN, int(v[4:], 16)) for v in volumes]
    group_row = db.security_group_get(ADMIN, int(group[3:], 16))
    return {
        "instance": instance, "uuid": row["uuid"], "volume": volumes[1], "attached_volume": volumes[0],
        "attached_num": str(volume_rows[0]["id"]), "volume_num": str(volume_rows[1]["id"]),
        "snapshot": snapshot, "snapshot_num": str(int(snapshot[5:], 16)),
        "image": "ami-%08x" % image["id"], "image_num": str(image["id"]), "group": group,
        "group_num": str(group_row["id"]), "group_name": f"{prefix}-group",
        "rule_num": str(db.security_group_rule_get_by_security_group(ADMIN, group_row["id"])[0]["id"]),
        "address": address,
        "allocation": "eipalloc-%08x" % floating_row["id"], "floating_num": str(floating_row["id"]),
        "key": f"{prefix}-key", "bucket": bucket, "object": "secret", "upload": _between(upload.text, "UploadId"),
    }


def fingerprint(cloud: Cloud) -> dict[str, Any]:
    """Every row of every table (but the services' heartbeats), every file of the object store, and the
    domains of the fake virt driver: equal before and after means nothing was written."""
    engine = session.get_engine()
    rows: dict[str, Any] = {}
    with engine.connect() as connection:
        for table in _tables(engine):
            if table.name in ("services", "alembic_version"):
                continue
            deleted = list(table.columns.keys()).index("deleted") if "deleted" in table.columns else None
            rows[table.name] = (deleted, sorted(tuple(map(str, row)) for row in connection.execute(table.select())))
    return {"rows": rows, **files_and_domains(cloud)}


class Writes:
    """The SQL statements that write (INSERT, UPDATE, DELETE) while it is open, but the services'
    heartbeats: a request that must change nothing must write nothing."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        verb = statement.lstrip()[:6].upper()
        if verb in ("INSERT", "UPDATE", "DELETE") and "services" not in statement.split("(", 1)[0].split(" SET")[0]:
            self.statements.append(" ".join(statement.split())[:200])

    def __enter__(self) -> "Writes":
        sqlalchemy.event.listen(session.get_engine(), "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: Any) -> None:
        sqlalchemy.event.remove(session.get_engine(), "before_cursor_execute", self._seen)


def files_and_domains(cloud: Cloud) -> dict[str, Any]:
    """The cheap part of ``fingerprint``: the object store's files and the virt driver's domains."""
    return {"files": _files(cloud.buckets_path),
            "domains": sorted(cloud.services["compute"].manager.driver.list_instances())}


def _files(root: str) -> dict[str, str]:
    files = {}
    for top, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(top, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return files


_reflected: dict[Any, list[sqlalchemy.Table]] = {}


def _tables(engine: sqlalchemy.Engine) -> list[sqlalchemy.Table]:
    if engine not in _reflected:
        metadata = sqlalchemy.MetaData()
        metadata.reflect(engine)
        _reflected.clear()
        _reflected[engine] = list(metadata.sorted_tables)
    return _reflected[engine]


def difference(before: dict[str, Any], after: dict[str, Any], allow_new: bool = False) -> list[str]:
    """What changed between two fingerprints, one line per table, file or domain list.

    New rows that are already soft-deleted (a launch rolled back after its row was written) are no
    state anyone can see and are not counted; with ``allow_new`` no new row is (a request that made
    something of bob's own), but a changed or vanished row always is."""
    changed = []
    for table in sorted(set(before["rows"]) | set(after["rows"])):
        deleted, old_rows = before["rows"].get(table, (None, []))
        old, new = set(old_rows), set(after["rows"].get(table, (None, []))[1])
        added = {row for row in new - old if not allow_new and (deleted is None or row[deleted] in ("0", "False"))}
        if old - new or added:
            changed.append(f"{table}: -{sorted(old - new)[:3]} +{sorted(added)[:3]}")
    if before["files"] != after["files"]:
        changed.append(f"files: {set(before['files'].items()) ^ set(after['files'].items())}")
    if before["domains"] != after["domains"]:
        changed.append(f"domains: {before['domains']} -> {after['domains']}")
    return changed
