"""EC2 image actions against an in-process nova-api and nova-objectstore."""

import os

import boto3
import pytest
from botocore.exceptions import ClientError

from nova import flags
from nova.image import bundle
from nova.objectstore.server import create_server
from tests.fixtures.daemons import wait_for
from tests.unit.api.conftest import error_of, project_pair

FLAGS = flags.FLAGS


@pytest.fixture
def env(ec2_env, tmp_path):
    server = create_server("127.0.0.1", 0, str(tmp_path / "buckets"))
    server.start()
    FLAGS.s3_host, FLAGS.s3_port = "127.0.0.1", server.port
    access, secret = project_pair("AK-ALICE", "SK-ALICE", "proj-a")  # alice's pair, as her novarc has it
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{server.port}", region_name="nova",
                      aws_access_key_id=access, aws_secret_access_key=secret)
    s3.create_bucket(Bucket="alice-images")
    yield ec2_env, s3
    server.stop()


def _bundle(s3, tmp_path, data: bytes, name="disk.img", **kwargs) -> str:
    image = tmp_path / name
    image.write_bytes(data)
    out = tmp_path / f"out-{name}"
    manifest = bundle.make_bundle(str(image), str(out), part_size=300_000, **kwargs)
    for filename in os.listdir(out):
        s3.upload_file(str(out / filename), "alice-images", filename)
    return "alice-images/" + os.path.basename(manifest)


def _state(client, image_id):
    return client.describe_images(ImageIds=[image_id])["Images"][0]


def test_register_bundle_describe_and_deregister(env, tmp_path):
    ec2_env, s3 = env
    client = ec2_env.client()
    location = _bundle(s3, tmp_path, os.urandom(700_000))
    image_id = client.register_image(ImageLocation=location, Name="my-bundle")["ImageId"]
    assert image_id.startswith("ami-")
    image = wait_for(lambda: (i := _state(client, image_id))["State"] != "pending" and i, 30, what="registration")
    assert image["State"] == "available", image
    assert image["ImageLocation"] == location and image["OwnerId"] == "proj-a" and not image["Public"]
    assert image["Name"] == "my-bundle" and image["ImageType"] == "machine"
    mine = client.describe_images(Owners=["self"])["Images"]
    assert [i["ImageId"] for i in mine] == [image_id]
    assert client.describe_images(Filters=[{"Name": "state", "Values": ["available"]},
                                           {"Name": "image-id", "Values": [image_id]}])["Images"]
    # Another project neither sees nor deregisters it.
    bob = ec2_env.client("AK-BOB", "SK-BOB")
    assert image_id not in [i["ImageId"] for i in bob.describe_images()["Images"]]
    with pytest.raises(ClientError) as excinfo:
        bob.deregister_image(ImageId=image_id)
    assert error_of(excinfo)[0] == "InvalidAMIID.NotFound"
    client.deregister_image(ImageId=image_id)
    with pytest.raises(ClientError) as excinfo:
        client.describe_images(ImageIds=[image_id])
    assert error_of(excinfo) == ("InvalidAMIID.NotFound", 400)


def test_kernel_bundle_and_launch_permissions(env, tmp_path):
    ec2_env, s3 = env
    client = ec2_env.client()
    aki = client.register_image(ImageLocation=_bundle(s3, tmp_path, b"kernel", "vmlinuz", image_type="kernel"),
                                Name="kernel")["ImageId"]
    assert aki.startswith("aki-")
    wait_for(lambda: _state(client, aki)["State"] == "available", 30, what="kernel")
    ami = client.register_image(ImageLocation=_bundle(s3, tmp_path, b"disk"), Name="with-kernel",
                                KernelId=aki)["ImageId"]
    wait_for(lambda: _state(client, ami)["State"] == "available", 30, what="machine image")
    assert _state(client, ami)["KernelId"] == aki
    bob = ec2_env.client("AK-BOB", "SK-BOB")
    assert ami not in [i["ImageId"] for i in bob.describe_images(ExecutableUsers=["all"])["Images"]]
    client.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"Group": "all"}]})
    assert client.describe_image_attribute(ImageId=ami, Attribute="launchPermission")["LaunchPermissions"] == [
        {"Group": "all"}]
    assert ami in [i["ImageId"] for i in bob.describe_images(ExecutableUsers=["all"])["Images"]]
    with pytest.raises(ClientError) as excinfo:
        bob.modify_image_attribute(ImageId=ami, LaunchPermission={"Remove": [{"Group": "all"}]})
    assert error_of(excinfo) == ("AuthFailure", 403)
    client.modify_image_attribute(ImageId=ami, Attribute="launchPermission", OperationType="remove",
                                  UserGroups=["all"])
    assert ami not in [i["ImageId"] for i in bob.describe_images()["Images"]]
    client.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"UserId": "proj-b"}]})
    assert ami in [i["ImageId"] for i in bob.describe_images(ExecutableUsers=["self"])["Images"]]
    assert {"UserId": "proj-b"} in client.describe_image_attribute(
        ImageId=ami, Attribute="launchPermission")["LaunchPermissions"]


def test_failed_registration_has_a_reason(env, tmp_path):
    ec2_env, s3 = env
    client = ec2_env.client()
    location = _bundle(s3, tmp_path, os.urandom(400_000))
    part = [k["Key"] for k in s3.list_objects_v2(Bucket="alice-images")["Contents"] if ".part.00" in k["Key"]][0]
    s3.put_object(Bucket="alice-images", Key=part, Body=b"tampered" * 1000)
    image_id = client.register_image(ImageLocation=location, Name="tampered")["ImageId"]
    image = wait_for(lambda: (i := _state(client, image_id))["State"] != "pending" and i, 30, what="failure")
    assert image["State"] == "failed" and "digest" in image["StateReason"]["Message"]


@pytest.mark.parametrize("location,code", [
    ("alice-images/missing.manifest.xml", "InvalidManifest"),
    ("../../etc/passwd", "InvalidManifest"),
    ("no-such-bucket/x.manifest.xml", "InvalidManifest"),
])
def test_register_errors(env, location, code):
    ec2_env, _ = env
    with pytest.raises(ClientError) as excinfo:
        ec2_env.client().register_image(ImageLocation=location, Name="bad-one")
    assert error_of(excinfo) == (code, 400)


def test_register_from_another_tenants_bucket_is_refused(env, tmp_path):
    ec2_env, s3 = env
    location = _bundle(s3, tmp_path, b"private")
    with pytest.raises(ClientError) as excinfo:
        ec2_env.client("AK-BOB", "SK-BOB").register_image(ImageLocation=location, Name="stolen")
    assert error_of(excinfo) == ("AuthFailure", 401)


def test_describing_an_unsupported_image_attribute_is_an_invalid_request(ec2_env):
    client = ec2_env.client()
    for attribute in ("bootMode", "colour"):
        with pytest.raises(ClientError) as excinfo:
            client.describe_image_attribute(ImageId=ec2_env.image_id, Attribute=attribute)
        assert error_of(excinfo) == ("InvalidRequest", 400)


def test_copy_image_within_the_region(ec2_env):
    client = ec2_env.client()
    copy_id = client.copy_image(SourceImageId=ec2_env.image_id, SourceRegion="nova", Name="my-cirros",
                                Description="a copy", ClientToken="copy-1",
                                TagSpecifications=[{"ResourceType": "image",
                                                    "Tags": [{"Key": "role", "Value": "base"}]}])["ImageId"]
    assert copy_id != ec2_env.image_id and copy_id.startswith("ami-")
    image = _state(client, copy_id)
    assert image["OwnerId"] == "proj-a" and not image["Public"] and image["State"] == "available"
    assert image["Name"] == "my-cirros" and image["Tags"] == [{"Key": "role", "Value": "base"}]
    assert client.describe_image_attribute(ImageId=copy_id, Attribute="description")["Description"] == {
        "Value": "a copy"}
    again = client.copy_image(SourceImageId=ec2_env.image_id, SourceRegion="nova", Name="my-cirros",
                              ClientToken="copy-1")["ImageId"]
    assert again == copy_id
    refusals = [
        (dict(SourceImageId=ec2_env.image_id, SourceRegion="nova", Name="other", ClientToken="copy-1"),
         "IdempotentParameterMismatch"),
        (dict(SourceImageId="ami-0000abcd", SourceRegion="nova", Name="none"), "InvalidAMIID.NotFound"),
        (dict(SourceImageId="ami-xyz", SourceRegion="nova", Name="bad"), "InvalidAMIID.Malformed"),
        (dict(SourceImageId=ec2_env.image_id, SourceRegion="us-west-2", Name="far"), "InvalidParameterValue"),
    ]
    for kwargs, code in refusals:
        with pytest.raises(ClientError) as excinfo:
            client.copy_image(**kwargs)
        assert error_of(excinfo) == (code, 400), kwargs
    # Bob cannot copy Alice's private copy, but can once she shares it.
    bob = ec2_env.client("AK-BOB", "SK-BOB")
    with pytest.raises(ClientError) as excinfo:
        bob.copy_image(SourceImageId=copy_id, SourceRegion="nova", Name="bobs")
    assert error_of(excinfo) == ("InvalidAMIID.NotFound", 400)
    client.modify_image_attribute(ImageId=copy_id, LaunchPermission={"Add": [{"UserId": "proj-b"}]})
    bobs = bob.copy_image(SourceImageId=copy_id, SourceRegion="nova", Name="bobs")["ImageId"]
    assert _state(bob, bobs)["OwnerId"] == "proj-b"
