"""A cloud whose PostgreSQL restarts under load: 503s, never 500s, and no instance left half-built.

One private cluster (tests/fixtures/pgcluster.py) under a fake-driver cloud of processes; 200 bounded
RunInstances/DescribeInstances requests run while the cluster is stopped and started again.  The same
cloud then checks the clean shutdown of every daemon on SIGTERM (one cloud start-up for both).
"""

import concurrent.futures
import signal
import threading
import time

import botocore.exceptions
import pytest
import sqlalchemy

from tests.fixtures.daemons import Cloud, wait_for
from tests.functional.test_ec2 import Ec2Cloud

REQUESTS = 200
BUILD_TIMEOUT = 10
GRACEFUL = 20  # --graceful_shutdown_timeout of tests.fixtures.daemons.Cloud


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
        handle.write("\n".join([f"--instance_build_timeout={BUILD_TIMEOUT}", "--sql_connect_retry_seconds=1",
                                "--quota_instances=-1", "--quota_cores=-1", "--quota_ram=-1",
                                "--fake_spawn_delay=2"]) + "\n")
    engine = None
    try:
        ec2 = Ec2Cloud(cloud, tmp_path)
        compute = next(d for d in cloud.daemons if d.binary == "nova-compute")
        client = ec2.client("alice")
        done = []

        def call(index: int) -> str:
            result = _call(client, index, ec2.image_id)
            done.append(result)
            return result

        def outage() -> None:
            # Down for longer than the API's own retry, while requests are flowing.
            wait_for(lambda: len(done) >= 30, timeout=300, what="30 requests answered")
            pg_cluster.stop()
            time.sleep(6)
            pg_cluster.start()

        restart = threading.Thread(target=outage)
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(call, i) for i in range(REQUESTS)]
            restart.start()
            results = [f.result(timeout=300) for f in futures]
        restart.join()
        assert results.count("ok") > REQUESTS // 2, results
        assert "Unavailable" in results, "no request met the outage:\n" + ec2.api.log()[-3000:]

        # Every accepted instance ends active or error within a minute; none stays in between.
        engine = sqlalchemy.create_engine(pg_cluster.url.replace("postgresql://", "postgresql+psycopg2://"))

        def unsettled():
            with engine.connect() as connection:
                rows = connection.exec_driver_sql(
                    "SELECT id, vm_state, task_state, host, created_at, updated_at, scheduled_at, now() "
                    "AT TIME ZONE 'UTC' AS now FROM instances WHERE NOT deleted").all()
            assert rows
            return [r for r in rows if r.vm_state not in ("active", "error") or r.task_state is not None]

        try:
            wait_for(lambda: not unsettled(), timeout=60, interval=1, what="every instance active or error")
        except AssertionError:
            logs = "\n".join(f"--- {d.binary}\n{d.log()[-3000:]}" for d in cloud.daemons)
            raise AssertionError(f"unsettled: {unsettled()}\n{logs}") from None

        # The daemons lived through it: heartbeats resumed in the same processes.
        wait_for(lambda: "Model server is back" in compute.log(), timeout=30, what="recovery logged")
        wait_for(lambda: cloud.service_states().get(("c1", "nova-compute")) == ":-)", timeout=30,
                 what="compute :-) after the restart")
        for daemon in cloud.daemons:
            assert daemon.proc.poll() is None, f"{daemon.binary} died:\n{daemon.log()[-2000:]}"
        api_log = ec2.api.log()
        assert "Traceback" not in api_log and " 500 " not in api_log, api_log[-3000:]

        # Clean shutdown: SIGTERM to every daemon while nova-compute spawns a burst of instances (each
        # takes --fake_spawn_delay): the idle daemons exit 0 at once, nova-compute once its spawns are
        # done, within --graceful_shutdown_timeout, leaving every instance active.
        burst = [client.run_instances(ImageId=ec2.image_id, MinCount=1, MaxCount=1,
                                      InstanceType="m1.tiny")["Instances"][0]["InstanceId"] for _ in range(3)]
        ids = [int(i.split("-")[1], 16) for i in burst]

        def tasks():
            with engine.connect() as connection:
                return [r.task_state for r in connection.exec_driver_sql(
                    f"SELECT task_state FROM instances WHERE id IN ({','.join(map(str, ids))})")]

        wait_for(lambda: tasks() == ["spawning"] * len(ids), timeout=30, interval=0.1, what="spawning")
        stopping = time.monotonic()
        for daemon in cloud.daemons:
            daemon.signal(signal.SIGTERM)
        took = {}
        for daemon in cloud.daemons:
            assert daemon.proc.wait(timeout=GRACEFUL + 10) == 0, daemon.log()[-2000:]
            took[daemon.binary] = time.monotonic() - stopping
        assert took["nova-compute"] < GRACEFUL, took
        assert all(seconds < 3 for binary, seconds in took.items() if binary != "nova-compute"), took
        assert tasks() == [None] * len(ids)
        with engine.connect() as connection:
            assert {r.vm_state for r in connection.exec_driver_sql(
                f"SELECT vm_state FROM instances WHERE id IN ({','.join(map(str, ids))})")} == {"active"}
    finally:
        if engine is not None:
            engine.dispose()
        cloud.cleanup()
