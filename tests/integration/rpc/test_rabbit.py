"""RPC against the real RabbitMQ: the memory-transport behaviours, plus durability and restarts."""

from __future__ import annotations

import time

import eventlet
import kombu
import pytest

from nova import rpc
from nova.rpc import common, topology
from tests.fixtures.rpc import EchoManager, wait_for
from tests.unit.rpc.test_behaviour import RpcBehaviour

FLAGS = common.FLAGS


class TestRabbitTransport(RpcBehaviour):
    @pytest.fixture
    def env(self, rabbit_rpc):
        return rabbit_rpc


def test_check_connection_passes(rabbit_rpc):
    rpc.check_connection()


def test_a_handler_that_dies_mid_message_gets_it_delivered_again(rabbit_rpc, ctxt):
    topic = rabbit_rpc.topic()
    first = EchoManager()
    server = rabbit_rpc.server(topic, first)
    rpc.cast(ctxt, topic, {"method": "blocked", "args": {"value": "job"}})
    wait_for(lambda: first.started == ["job"])
    server.stop(timeout=0.1)
    second = EchoManager()
    second.gate.send(None)
    rabbit_rpc.server(topic, second)
    wait_for(lambda: second.finished == ["job"], timeout=10)
    assert first.finished == []


def test_survives_a_broker_restart(private_rabbit_rpc, rabbit_node, ctxt):
    """A server started before the restart answers again, and a cast sent while the broker was down arrives.

    The broker is a node of this test's own: stopping the shared one would break every other user of it.
    """
    FLAGS.rpc_response_timeout = 60
    topic = private_rabbit_rpc.topic()
    manager = EchoManager()
    private_rabbit_rpc.server(topic, manager)
    assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": "before"}}) == "before"

    rabbit_node.stop_app()
    try:
        sending = eventlet.spawn(rpc.cast, ctxt, topic, {"method": "record", "args": {"value": "during"}})
        eventlet.sleep(1.0)
        assert not sending.dead, "the cast should still be retrying while the broker is down"
    finally:
        rabbit_node.start_app()

    sending.wait()
    wait_for(lambda: manager.received == ["during"], timeout=30)
    assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": "after"}}, timeout=30) == "after"


def test_check_connection_gives_up_at_once_on_bad_credentials(rabbit_rpc):
    FLAGS.rabbit_password = "not-the-password"
    FLAGS.rabbit_retry_interval = 1
    with pytest.raises(rpc.BrokerUnavailable) as info:
        rpc.check_connection()
    assert "ACCESS_REFUSED" in str(info.value)
    assert "not-the-password" not in str(info.value)


def test_concurrent_casts_share_a_pool_of_at_most_rpc_conn_pool_size_connections(rabbit_rpc, ctxt):
    from nova.rpc import client

    FLAGS.rpc_conn_pool_size = 2
    topic = rabbit_rpc.topic()
    manager = EchoManager()
    rabbit_rpc.server(topic, manager)
    senders = eventlet.GreenPool(20)
    for value in range(20):
        senders.spawn(rpc.cast, ctxt, topic, {"method": "record", "args": {"value": value}})
    senders.waitall()
    wait_for(lambda: sorted(manager.received) == list(range(20)), timeout=10)
    assert 1 <= len(client._connections().casts._idle) <= 2


@pytest.mark.parametrize("confirmed", [True, False], ids=["confirmed", "unconfirmed"])
def test_casts_from_one_greenthread_arrive_in_the_order_sent(rabbit_rpc, ctxt, confirmed):
    """Three greenthreads each cast a numbered burst to one topic over a pool of three connections.

    Unconfirmed, the order rests on each greenthread keeping its connection
    (the broker orders messages per connection, not across them); the
    padding fills socket buffers, so sends block midway and others take
    the free connections meanwhile.
    """
    from nova.rpc import client

    FLAGS.rpc_conn_pool_size = 3
    topic = rabbit_rpc.topic()
    manager = EchoManager()
    rabbit_rpc.server(topic, manager)
    casts = client._connections().casts
    casts.confirm = confirmed
    casts._check_closed = not confirmed

    padding = "x" * 20_000

    def burst(who: str) -> None:
        for number in range(100):
            rpc.cast(ctxt, topic, {"method": "record", "args": {"value": [who, number, padding]}})

    senders = [eventlet.spawn(burst, who) for who in "abc"]
    for sender in senders:
        sender.wait()
    wait_for(lambda: len(manager.received) == 300, timeout=30)
    for who in "abc":
        assert [n for w, n, _ in manager.received if w == who] == list(range(100)), f"{who}'s casts were reordered"
    assert len(casts._idle) >= 2, "the bursts should have shared several connections"


def test_a_forked_child_opens_connections_of_its_own_and_leaves_the_parents_alone(rabbit_rpc, ctxt):
    """A worker forked after the parent used RPC (nova-api workers) gets its own reply queue, and the
    parent's calls keep getting their replies while the child makes its own."""
    import os

    from eventlet import hubs

    from nova.rpc import client

    topic = rabbit_rpc.topic()
    rabbit_rpc.server(topic)
    assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": "before"}}) == "before"
    parent_queue = client._connections().listener().queue_name
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            old = hubs.get_hub()  # as nova.workers does: the inherited epoll set is the parent's
            old.poll.close()
            hubs.use_hub(type(old))
            fresh = client._process is None
            answers = [rpc.call(ctxt, topic, {"method": "echo", "args": {"value": n}}, timeout=10) for n in range(20)]
            mine = client._connections().listener().queue_name
            status = 0 if fresh and answers == list(range(20)) and mine != parent_queue else 2
        finally:
            os._exit(status)
    answers = [rpc.call(ctxt, topic, {"method": "echo", "args": {"value": n}}, timeout=10) for n in range(20)]
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done or time.monotonic() > deadline:
            break
        eventlet.sleep(0.05)
    assert done, "the child did not finish"
    assert os.waitstatus_to_exitcode(status) == 0
    assert answers == list(range(20))
    assert client._connections().listener().queue_name == parent_queue
    assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": "after"}}) == "after"


def test_a_reply_and_the_ack_of_its_request_go_out_in_one_write(rabbit_rpc, ctxt):
    topic = rabbit_rpc.topic()
    server = rabbit_rpc.server(topic)
    assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": 0}}) == 0
    transport = server._loop._conn.connection._transport
    writes = []
    real = transport._write
    transport._write = lambda data: (writes.append(bytes(data)), real(data))[1]
    try:
        for i in range(5):
            assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": i}}) == i
    finally:
        transport._write = real
    assert len(writes) == 5
    # Basic.Publish (60, 40) first, then Basic.Ack (60, 80), in each write.
    publish, ack = b"\x00\x3c\x00\x28", b"\x00\x3c\x00\x50"
    assert all(publish in w and ack in w and w.index(publish) < w.index(ack) for w in writes)


def test_a_call_looks_to_a_plain_kombu_server_as_kombu_would_send_it(rabbit_rpc, ctxt):
    """Requests and replies keep kombu's JSON properties, so peers written on kombu talk to nova unchanged."""
    topic = rabbit_rpc.topic()
    seen = []
    with kombu.Connection(rabbit_rpc.broker_url) as conn:
        queue = topology.topic_queue(topic)
        producer = kombu.Producer(conn.channel())

        def on_message(body, message):
            seen.append((body, dict(message.properties), message.content_type, message.content_encoding))
            producer.publish({"result": body["args"]["value"] * 2}, exchange="", serializer="json",
                             routing_key=message.properties["reply_to"],
                             correlation_id=message.properties["correlation_id"])
            message.ack()

        with conn.Consumer(queue, callbacks=[on_message]):
            caller = eventlet.spawn(rpc.call, ctxt, topic, {"method": "echo", "args": {"value": 21}}, 7)
            wait_for(lambda: conn.drain_events(timeout=5) or seen, timeout=10)
            assert caller.wait() == 42
    body, properties, content_type, content_encoding = seen[0]
    assert body["method"] == "echo" and body["_context"]["request_id"] == ctxt.request_id
    assert (content_type, content_encoding) == ("application/json", "utf-8")
    assert properties["delivery_mode"] == 1 and properties["expiration"] == "7000"
    assert len(properties["correlation_id"]) == 32
