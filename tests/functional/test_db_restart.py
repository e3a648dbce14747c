"""Daemons survive a restart of their database server."""

from tests.fixtures.daemons import Cloud, wait_for


def test_heartbeats_resume_after_postgresql_restart(tmp_path, pg_cluster, rabbit_vhost):
    cloud = Cloud(tmp_path, rabbit_vhost, sql_connection=pg_cluster.url)
    try:
        cloud.manage("db", "sync")
        compute = cloud.start("nova-compute", "--host=survivor")
        wait_for(lambda: cloud.service_states().get(("survivor", "nova-compute")) == ":-)", timeout=30,
                 what="compute :-)")
        pg_cluster.stop()
        wait_for(lambda: "Model server went away" in compute.log(), timeout=20, what="outage noticed")
        pg_cluster.start()
        wait_for(lambda: "Model server is back" in compute.log(), timeout=30, what="recovery logged")
        # Fresh heartbeats again: the same process, never restarted.
        wait_for(lambda: cloud.service_states().get(("survivor", "nova-compute")) == ":-)", timeout=30,
                 what="compute :-) after restart")
        assert compute.proc.poll() is None
        assert "Traceback" not in compute.log()
    finally:
        cloud.cleanup()
