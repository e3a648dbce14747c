"""Broker settings, the start-up check, and giving up when the broker stays away."""

from __future__ import annotations

import socket
import time

import pytest

from nova import context, rpc
from nova.rpc import client, common, connection

FLAGS = common.FLAGS


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dead_broker():
    port = _closed_port()
    FLAGS.fake_rabbit = False
    FLAGS.rabbit_host = "127.0.0.1"
    FLAGS.rabbit_port = port
    FLAGS.rabbit_password = "s3cret-pw"
    FLAGS.rabbit_retry_interval = 0.05
    FLAGS.rabbit_retry_backoff_max = 0.1
    yield port
    rpc.cleanup()


def test_check_connection_gives_one_line_naming_the_broker(dead_broker):
    FLAGS.rabbit_max_retries = 3
    start = time.monotonic()
    with pytest.raises(rpc.BrokerUnavailable) as info:
        rpc.check_connection()
    message = str(info.value)
    assert "\n" not in message
    assert f"amqp://guest@127.0.0.1:{dead_broker}//" in message
    assert "s3cret-pw" not in message
    assert "refused" in message.lower()
    assert "3 attempts" in message
    assert time.monotonic() - start < 3


def test_check_connection_is_a_no_op_on_the_memory_transport():
    rpc.check_connection()


def test_a_cast_gives_up_after_the_response_timeout(dead_broker):
    FLAGS.rpc_response_timeout = 0.5
    start = time.monotonic()
    with pytest.raises(rpc.BrokerUnavailable) as info:
        rpc.cast(context.get_admin_context(), "compute", {"method": "x", "args": {}})
    assert 0.4 <= time.monotonic() - start < 2.5
    assert "compute" in str(info.value) and "s3cret-pw" not in str(info.value)


def test_a_call_gives_up_within_its_timeout(dead_broker):
    start = time.monotonic()
    with pytest.raises(rpc.BrokerUnavailable):
        rpc.call(context.get_admin_context(), "compute", {"method": "x", "args": {}}, timeout=0.5)
    assert time.monotonic() - start < 2.5


def test_settings_hide_the_password():
    FLAGS.fake_rabbit = False
    FLAGS.rabbit_password = "s3cret-pw"
    FLAGS.rabbit_virtual_host = "nova/vh"
    settings = connection.current_settings()
    assert "s3cret-pw" not in repr(settings)
    assert settings.display_url == "amqp://guest@127.0.0.1:5672/nova%2Fvh"


def test_changed_flags_rebuild_the_process_connections(memory_rpc):
    topic = memory_rpc.topic()
    memory_rpc.server(topic)
    ctxt = context.get_admin_context()
    assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": 1}}) == 1
    before = client._connections()
    FLAGS.rpc_memory_polling_interval = 0.001
    after = client._connections()
    assert after is not before and after.settings.polling_interval == 0.001


def test_cleanup_empties_the_memory_broker_and_stops_forgotten_servers(memory_rpc):
    topic = memory_rpc.topic()
    ctxt = context.get_admin_context()
    forgotten = rpc.Server(topic + "-other", "test-host", rpc.Dispatcher(object(), base=object))
    forgotten.start()
    rpc.cast(ctxt, topic, {"method": "record", "args": {"value": "stale"}})
    rpc.cleanup()
    assert forgotten.queue_names and forgotten._loop is None
    from tests.fixtures.rpc import EchoManager

    manager = EchoManager()
    memory_rpc.server(topic, manager)
    time.sleep(0.2)
    assert manager.received == []


def test_rabbit_hosts_list_every_node_and_default_to_quorum_queues():
    FLAGS.fake_rabbit = False
    FLAGS.rabbit_port = 5679
    FLAGS.rabbit_hosts = ["10.0.0.1:5672", "rabbit2", "[fd00::3]:5673"]
    settings = connection.current_settings()
    assert settings.hosts == (("10.0.0.1", 5672), ("rabbit2", 5679), ("fd00::3", 5673))
    assert settings.display_url == "amqp://guest@10.0.0.1:5672,rabbit2:5679,[fd00::3]:5673//"
    assert settings.quorum is True
    FLAGS.rabbit_quorum_queues = False
    assert connection.current_settings().quorum is False


def test_rabbit_host_and_port_still_work_alone_with_classic_queues():
    FLAGS.fake_rabbit = False
    FLAGS.rabbit_host = "broker.example"
    FLAGS.rabbit_port = 5673
    settings = connection.current_settings()
    assert settings.hosts == (("broker.example", 5673),) and settings.quorum is False
    FLAGS.rabbit_quorum_queues = True
    assert connection.current_settings().quorum is True


@pytest.mark.parametrize("entry", ["host:port", "host:0", "[::1", "host:99999", "host:"])
def test_a_bad_rabbit_hosts_entry_stops_start_up_with_one_line(entry):
    FLAGS.fake_rabbit = False
    FLAGS.rabbit_hosts = ["127.0.0.1:5672", entry]
    with pytest.raises(rpc.BrokerUnavailable) as info:
        rpc.check_connection()
    assert entry in str(info.value) and "\n" not in str(info.value)


def test_check_connection_names_every_unreachable_node(dead_broker):
    other = _closed_port()
    FLAGS.rabbit_hosts = [f"127.0.0.1:{dead_broker}", f"127.0.0.1:{other}"]
    FLAGS.rabbit_max_retries = 1
    with pytest.raises(rpc.BrokerUnavailable) as info:
        rpc.check_connection()
    message = str(info.value)
    assert f"127.0.0.1:{dead_broker}: " in message and f"127.0.0.1:{other}: " in message
    assert "s3cret-pw" not in message


def test_settings_follow_flags_changed_in_place(memory_rpc):
    FLAGS.fake_rabbit = False
    FLAGS.rabbit_hosts = ["10.0.0.1:5672"]
    assert connection.cached_settings().hosts == (("10.0.0.1", 5672),)
    FLAGS.rabbit_hosts.append("10.0.0.2:5673")
    assert connection.cached_settings().hosts == (("10.0.0.1", 5672), ("10.0.0.2", 5673))
    FLAGS.rabbit_quorum_queues = False
    assert connection.cached_settings().quorum is False


def test_topic_queues_follow_the_control_exchange(memory_rpc):
    from nova.rpc import topology

    FLAGS.control_exchange = "other-exchange"
    assert topology.topic_queue("compute").exchange.name == "other-exchange"
