"""nova-objectstore killed with SIGKILL at each step of CompleteMultipartUpload, then restarted.

The crash points are named in ``--objectstore_crash_file`` (nova/objectstore/store.py): the daemon kills
itself there, as ``kill -9`` would.  After each restart the object is whole or absent, the upload
completable or gone, no request answers 500 and no temporary or orphaned file is left.
"""

import json
import os
import signal

import boto3
import botocore.config
import botocore.exceptions
import pytest

from tests.fixtures.daemons import Cloud, free_port, listening, wait_for

pytestmark = pytest.mark.timeout(300)

# In the order CompleteMultipartUpload reaches them.
CRASH_POINTS = ("writer.appended", "writer.finished", "commit.data_renamed", "commit.record_written",
                "retire.renamed", "retire.removing")
PARTS = (b"a" * 1000, b"b" * 10)


class Objectstore:
    def __init__(self, cloud: Cloud, crash_file: str) -> None:
        self.cloud, self.crash_file = cloud, crash_file

    def start(self):
        self.port = free_port()
        self.daemon = self.cloud.start("nova-objectstore", f"--s3_port={self.port}", "--s3_listen=127.0.0.1",
                                       f"--objectstore_crash_file={self.crash_file}", "--s3_min_part_size=0")
        wait_for(lambda: listening(self.port) or self.daemon.proc.poll() is not None, 30, what="listening")
        assert self.daemon.proc.poll() is None, self.daemon.log()
        return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.port}", region_name="nova",
                            aws_access_key_id="AK-alice-proj", aws_secret_access_key="SK-alice-proj",
                            config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=30,
                                                          s3={"addressing_style": "path"}))


def _upload(s3, key: str) -> tuple[str, list[dict]]:
    upload_id = s3.create_multipart_upload(Bucket="crash", Key=key)["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket="crash", Key=key, UploadId=upload_id, PartNumber=n,
                                                        Body=body)["ETag"]}
             for n, body in enumerate(PARTS, 1)]
    return upload_id, parts


def _object(s3, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket="crash", Key=key)["Body"].read()
    except botocore.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchKey", exc.response
        return None


def _unreferenced(bucket_dir: str) -> list[str]:
    """Files no metadata names, and anything in tmp/ or a finished upload's directory."""
    found = [os.path.join("tmp", name) for name in os.listdir(os.path.join(bucket_dir, "tmp"))]
    found += [os.path.join("uploads", name) for name in os.listdir(os.path.join(bucket_dir, "uploads"))]
    objects = os.path.join(bucket_dir, "objects")
    for sub in os.listdir(objects):
        files = os.listdir(os.path.join(objects, sub))
        named = set()
        for name in files:
            if name.endswith(".json"):
                with open(os.path.join(objects, sub, name)) as handle:
                    named.add(json.load(handle)["data"])
        found += [name for name in files if not name.endswith(".json") and name not in named]
    return found


def test_sigkill_at_each_step_of_complete_multipart_upload(tmp_path):
    cloud = Cloud(tmp_path, rabbit_url=None)
    crash_file = str(tmp_path / "crash-points")
    try:
        cloud.sync_db()
        cloud.create_users(("alice", "proj"))
        store = Objectstore(cloud, crash_file)
        s3 = store.start()
        s3.create_bucket(Bucket="crash")
        s3.put_object(Bucket="crash", Key="replaced", Body=b"old bytes")
        for point in CRASH_POINTS:
            key = "replaced" if point == "commit.record_written" else f"obj-{point}"
            upload_id, parts = _upload(s3, key)
            with open(crash_file, "w") as handle:
                handle.write(point)
            with pytest.raises((botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)):
                s3.complete_multipart_upload(Bucket="crash", Key=key, UploadId=upload_id,
                                             MultipartUpload={"Parts": parts})
            assert store.daemon.proc.wait(timeout=30) == -signal.SIGKILL, point
            os.unlink(crash_file)

            s3 = store.start()
            before = _object(s3, key)
            assert before in (None, b"".join(PARTS), b"old bytes" if key == "replaced" else None), point
            try:
                s3.complete_multipart_upload(Bucket="crash", Key=key, UploadId=upload_id,
                                             MultipartUpload={"Parts": parts})
            except botocore.exceptions.ClientError as exc:
                assert exc.response["Error"]["Code"] == "NoSuchUpload", (point, exc.response)
                assert before == b"".join(PARTS), f"{point}: the upload is gone but the object is not whole"
            assert _object(s3, key) == b"".join(PARTS), point
            assert _unreferenced(str(tmp_path / "buckets" / "crash")) == [], point
        logs = "".join(d.log() for d in cloud.daemons)
        assert "Traceback" not in logs and "-> 500" not in logs, logs[-3000:]
    finally:
        cloud.cleanup()
