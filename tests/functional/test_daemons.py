"""Daemons started as processes from one flagfile see each other.

They heartbeat into the services table (``nova-manage service list`` shows
``:-)`` then ``XXX`` once killed), answer RPC from another process, survive a
RabbitMQ restart (of a private node: the shared broker is never stopped), and
stop cleanly on SIGTERM.
"""

import time

import pytest

from nova import context, exception, flags, rpc
from tests.fixtures import services
from tests.fixtures.daemons import Cloud, wait_for

FLAGS = flags.FLAGS


def _point_rpc_at(url):
    rpc.cleanup()
    flags.reset_for_tests(**services.rabbit_flags(url), rpc_response_timeout=10, rabbit_max_retries=3)


def _capabilities(host=None):
    args = {} if host is None else {"host": host}
    return rpc.call(context.get_admin_context(), "scheduler",
                    {"method": "get_service_capabilities", "args": args}, timeout=10)


@pytest.fixture
def synced(cloud):
    cloud.sync_db()
    return cloud


def test_services_heartbeat_then_go_down_when_killed(synced):
    compute = synced.start("nova-compute", "--host=alpha")
    network = synced.start("nova-network", "--host=alpha")
    # Two report intervals (1 s each), plus process start-up.
    states = wait_for(lambda: (s := synced.service_states()).get(("alpha", "nova-compute")) == ":-)"
                      and s.get(("alpha", "nova-network")) == ":-)" and s, timeout=30,
                      what="both services :-)")
    assert states[("alpha", "nova-compute")] == ":-)"
    compute.kill()
    network.kill()
    wait_for(lambda: (s := synced.service_states())[("alpha", "nova-compute")] == "XXX"
             and s[("alpha", "nova-network")] == "XXX", timeout=30, what="both services XXX")


def test_rpc_between_processes_and_remote_errors(synced, rabbit_vhost):
    synced.start("nova-scheduler", "--host=sched1")
    synced.start("nova-compute", "--host=alpha")
    _point_rpc_at(rabbit_vhost)
    try:
        # The compute process fanout-casts its capabilities; the scheduler process keeps them.
        seen = wait_for(lambda: _try(_capabilities).get("alpha"), timeout=40, what="compute capabilities")
        assert seen["compute"]["vcpus"] >= 1
        with pytest.raises(exception.HostNotFound) as info:
            _capabilities(host="no-such-host")
        assert "no-such-host" in str(info.value)
        with pytest.raises(rpc.UnknownMethod) as info:
            rpc.call(context.get_admin_context(), "scheduler", {"method": "no_such_method", "args": {}}, timeout=10)
        assert "no_such_method" in str(info.value)
    finally:
        rpc.cleanup()


@pytest.fixture
def private_broker_cloud(tmp_path, rabbit_node):
    """Daemons whose flagfile points at a RabbitMQ node of this test's own, which it may stop."""
    c = Cloud(tmp_path, rabbit_node.url)
    c.sync_db()
    yield c
    c.cleanup()


def test_daemons_answer_again_after_rabbitmq_restart(private_broker_cloud, rabbit_node):
    cloud = private_broker_cloud
    scheduler = cloud.start("nova-scheduler", "--host=sched1")
    cloud.start("nova-compute", "--host=alpha")
    _point_rpc_at(rabbit_node.url)
    try:
        wait_for(lambda: _try(_capabilities).get("alpha"), timeout=40, what="capabilities before restart")
        rpc.cleanup()
        rabbit_node.stop_app()
        time.sleep(2)  # long enough for every daemon to lose its connections
        rabbit_node.start_app()
        _point_rpc_at(rabbit_node.url)
        # Same processes, no restart: the scheduler answers and fresh capabilities arrive again.
        before = _try(_capabilities) or {}
        stamp = before.get("alpha", {}).get("compute", {}).get("timestamp", 0)
        wait_for(lambda: _try(_capabilities).get("alpha", {}).get("compute", {}).get("timestamp", 0) > stamp,
                 timeout=60, what="capabilities after restart")
        assert scheduler.proc.poll() is None
    finally:
        rpc.cleanup()


def test_sigterm_stops_gracefully_with_status_zero(synced):
    daemon = synced.start("nova-scheduler", "--host=beta")
    wait_for(lambda: synced.service_states().get(("beta", "nova-scheduler")) == ":-)", timeout=30,
             what="scheduler service up")
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.log()


def _try(func):
    try:
        return func() or {}
    except (exception.NovaException, rpc.Timeout):
        return {}
