"""--rabbit_hosts and --rabbit_quorum_queues against the shared broker (one node, so no outage here).

A node that refuses connections comes first in the list: every connection
fails over to the live one.  The outage of a cluster node itself is shown by
tests/functional/test_rabbit_cluster.py on a private three-node cluster.
"""

from __future__ import annotations

import time

import amqp.exceptions
import kombu
import pytest

from nova import exception, rpc
from nova.rpc import common, topology
from tests.fixtures.daemons import free_port
from tests.fixtures.rpc import EchoManager

FLAGS = common.FLAGS


@pytest.fixture
def two_hosts(rabbit_rpc):
    """The shared broker listed second, after a port nothing listens on."""
    FLAGS.rabbit_hosts = [f"127.0.0.1:{free_port()}", f"{FLAGS.rabbit_host}:{FLAGS.rabbit_port}"]
    rpc.cleanup()
    return rabbit_rpc


def _queue_type_is(url: str, queue: str, kind: str) -> bool:
    """Redeclaring ``queue`` as ``kind`` is accepted only when it already is of that kind."""
    arguments = {"x-queue-type": "quorum"} if kind == "quorum" else None
    with kombu.Connection(url, connect_timeout=5) as conn:
        try:
            conn.channel().queue_declare(queue, durable=True, auto_delete=False, arguments=arguments)
        except amqp.exceptions.PreconditionFailed:
            return False
    return True


def test_calls_and_casts_fail_over_to_the_first_live_node_on_quorum_queues(two_hosts, ctxt):
    topic = two_hosts.topic()
    manager = EchoManager()
    two_hosts.server(topic, manager)
    assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": "hi"}}, timeout=10) == "hi"
    rpc.cast(ctxt, topic, {"method": "record", "args": {"value": "cast"}})
    deadline = time.monotonic() + 10
    while manager.received != ["cast"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert manager.received == ["cast"]
    # Two hosts listed: the topic queues are quorum queues; fan-out and reply queues are not.
    assert _queue_type_is(two_hosts.broker_url, topic, "quorum")
    assert _queue_type_is(two_hosts.broker_url, f"{topic}.test-host", "quorum")


def test_a_classic_queue_of_the_same_name_stops_a_quorum_server_with_what_to_do(rabbit_rpc, ctxt):
    topic = rabbit_rpc.topic()
    with kombu.Connection(rabbit_rpc.broker_url, connect_timeout=5) as conn:
        topology.topic_queue(topic)(conn.channel()).declare()
    FLAGS.rabbit_quorum_queues = True
    start = time.monotonic()
    with pytest.raises(exception.BrokerRefusedQueues) as info:
        rabbit_rpc.server(topic)
    message = str(info.value)
    assert time.monotonic() - start < 10, "a refusal is not worth retrying until the timeout"
    assert f"queue '{topic}'" in message and "classic queue" in message
    assert "--norabbit_quorum_queues" in message and "rabbitmqctl delete_queue" in message
    with pytest.raises(rpc.PublishError) as info:
        rpc.cast(ctxt, topic, {"method": "record", "args": {"value": "x"}})
    assert "classic queue" in str(info.value)
