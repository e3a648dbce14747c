"""A cloud whose PostgreSQL restarts under load: 503s, never 500s, and no instance left half-built.

One private cluster (tests/fixtures/pgcluster.py) under a fake-driver cloud of processes; 200 bounded
RunInstances/DescribeInstances requests run while the cluster is stopped and started again.
"""

import concurrent.futures
import threading
import time

import botocore.exceptions
import pytest
import sqlalchemy

from tests.fixtures.daemons import Cloud, wait_for
from tests.functional.test_ec2 import Ec2Cloud

REQUESTS = 200
BUILD_TIMEOUT = 10


def _call(client, index: int, image_id: str) -> str:
    """'ok', or the error code of a 503; anything else fails the test."""
    try:
        if index % 4:
            client.describe_instances()
        else:
            client.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, InstanceType="m1.tiny")
        return "ok"
    except botocore.exceptions.ClientError as exc:
        status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        code = exc.response["Error"]["Code"]
        assert status == 503 and code == "Unavailable", f"request {index}: {status} {code}: {exc}"
        assert exc.response["ResponseMetadata"]["HTTPHeaders"].get("retry-after") == "1"
        return code


@pytest.mark.timeout(600)
def test_postgresql_restart_under_load(tmp_path, pg_cluster, rabbit_vhost):
    cloud = Cloud(tmp_path, rabbit_vhost, sql_connection=pg_cluster.url)
    with open(cloud.flagfile, "a") as handle:
        handle.write("\n".join([f"--instance_build_timeout={BUILD_TIMEOUT}", "--sql_connect_retry_seconds=2",
                                "--quota_instances=-1", "--quota_cores=-1", "--quota_ram=-1"]) + "\n")
    try:
        t0 = time.monotonic()
        ec2 = Ec2Cloud(cloud, tmp_path)
        print("TIMING cloud up", time.monotonic() - t0)
        compute = next(d for d in cloud.daemons if d.binary == "nova-compute")
        client = ec2.client("alice")
        outage = threading.Thread(target=lambda: (time.sleep(2), pg_cluster.stop(), time.sleep(3),
                                                  pg_cluster.start()))
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(_call, client, i, ec2.image_id) for i in range(REQUESTS)]
            outage.start()
            results = [f.result(timeout=120) for f in futures]
        outage.join()
        print("TIMING requests", time.monotonic() - started, results.count("ok"))
        assert time.monotonic() - started < 150
        assert results.count("ok") > REQUESTS // 2, results
        assert "Unavailable" in results, "no request met the outage"

        # Every accepted instance ends active or error within a minute; none stays in between.
        engine = sqlalchemy.create_engine(pg_cluster.url.replace("postgresql://", "postgresql+psycopg2://"))
        try:
            def unsettled():
                with engine.connect() as connection:
                    rows = connection.exec_driver_sql(
                        "SELECT id, vm_state, task_state FROM instances WHERE NOT deleted").all()
                assert rows
                return [r for r in rows if r.vm_state not in ("active", "error") or r.task_state is not None]

            wait_for(lambda: not unsettled(), timeout=60, interval=1, what="every instance active or error")
        finally:
            engine.dispose()

        print("TIMING settled", time.monotonic() - started)
        # The daemons lived through it: heartbeats resumed in the same processes.
        wait_for(lambda: "Model server is back" in compute.log(), timeout=30, what="recovery logged")
        wait_for(lambda: cloud.service_states().get(("c1", "nova-compute")) == ":-)", timeout=30,
                 what="compute :-) after the restart")
        for daemon in cloud.daemons:
            assert daemon.proc.poll() is None, f"{daemon.binary} died:\n{daemon.log()[-2000:]}"
        api_log = ec2.api.log()
        assert "Traceback" not in api_log and " 500 " not in api_log, api_log[-3000:]
    finally:
        cloud.cleanup()
