"""What call, cast, fanout_cast and Server promise, on the memory transport.

``RpcBehaviour`` is reused by tests/integration/rpc against RabbitMQ: a
subclass only provides the ``env`` fixture.
"""

from __future__ import annotations

import datetime
import time

import eventlet
import pytest

from nova import exception, rpc
from tests.fixtures.rpc import EchoManager, wait_for


class RpcBehaviour:
    def test_call_returns_the_result(self, env, ctxt):
        topic = env.topic()
        env.server(topic)
        assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": {"a": [1, "b"]}}}) == {"a": [1, "b"]}

    def test_datetimes_travel_both_ways_as_kombus_json_carries_them(self, env, ctxt):
        topic = env.topic()
        env.server(topic)
        when = datetime.datetime(2026, 12, 3, 13, 30, 0, 123456)
        assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": {"at": when}}}) == {"at": when}

    def test_a_result_json_cannot_carry_comes_back_as_an_error(self, env, ctxt):
        topic = env.topic()
        env.server(topic)
        with pytest.raises(rpc.RpcError, match="could not be encoded"):
            rpc.call(ctxt, topic, {"method": "unencodable", "args": {}}, timeout=10)
        assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": 1}}) == 1

    def test_the_context_travels_with_the_message(self, env, ctxt):
        topic = env.topic()
        env.server(topic)
        result = rpc.call(ctxt, topic, {"method": "whoami", "args": {}})
        assert result == {"host": "test-host", "user_id": "user1", "request_id": ctxt.request_id}

    def test_a_remote_nova_exception_is_raised_again_as_itself(self, env, ctxt):
        topic = env.topic()
        env.server(topic)
        with pytest.raises(exception.InstanceNotFound) as info:
            rpc.call(ctxt, topic, {"method": "fail", "args": {"instance_id": 5}})
        error = info.value
        assert str(error) == "Instance 5 could not be found."
        assert error.kwargs == {"instance_id": 5}
        assert error.remote is True
        assert error.code == 404

    def test_any_remote_exception_becomes_remote_error_without_traceback(self, env, ctxt):
        topic = env.topic()
        env.server(topic)
        with pytest.raises(rpc.RemoteError) as info:
            rpc.call(ctxt, topic, {"method": "crash", "args": {}})
        assert str(info.value) == "ValueError: boom"
        assert info.value.code == 500

    @pytest.mark.parametrize("method", ["nope", "hidden", "_private", "init_host", "periodic_tasks"])
    def test_unexposed_methods_are_unknown(self, env, ctxt, method):
        topic = env.topic()
        env.server(topic)
        with pytest.raises(rpc.UnknownMethod) as info:
            rpc.call(ctxt, topic, {"method": method, "args": {}})
        assert method in str(info.value)

    def test_wrong_arguments_are_reported(self, env, ctxt):
        topic = env.topic()
        env.server(topic)
        with pytest.raises(rpc.InvalidArguments) as info:
            rpc.call(ctxt, topic, {"method": "echo", "args": {"bogus": 1}})
        assert "bogus" in str(info.value)

    def test_call_times_out_in_about_the_given_time(self, env, ctxt):
        topic = env.topic()
        manager = EchoManager()
        env.server(topic, manager)
        start = time.monotonic()
        try:
            with pytest.raises(rpc.Timeout) as info:
                rpc.call(ctxt, topic, {"method": "blocked", "args": {"value": 1}}, timeout=0.5)
        finally:
            manager.gate.send(None)
        assert 0.45 <= time.monotonic() - start < 1.5
        assert "blocked" in str(info.value) and topic in str(info.value)

    def test_call_timeout_defaults_to_the_flag(self, env, ctxt):
        rpc.common.FLAGS.rpc_response_timeout = 0.3
        start = time.monotonic()
        with pytest.raises(rpc.Timeout):
            rpc.call(ctxt, env.topic("nobody"), {"method": "echo", "args": {}})
        assert 0.25 <= time.monotonic() - start < 1.5

    def test_cast_runs_the_method(self, env, ctxt):
        topic = env.topic()
        manager = EchoManager()
        env.server(topic, manager)
        assert rpc.cast(ctxt, topic, {"method": "record", "args": {"value": 7}}) is None
        wait_for(lambda: manager.received == [7])

    def test_a_cast_waits_for_a_server_started_later(self, env, ctxt):
        topic = env.topic()
        rpc.cast(ctxt, topic, {"method": "record", "args": {"value": "early"}})
        manager = EchoManager()
        env.server(topic, manager)
        wait_for(lambda: manager.received == ["early"])

    def test_fanout_reaches_every_server(self, env, ctxt):
        topic = env.topic()
        a, b = EchoManager("host-a"), EchoManager("host-b")
        env.server(topic, a, host="host-a")
        env.server(topic, b, host="host-b")
        rpc.fanout_cast(ctxt, topic, {"method": "record", "args": {"value": "all"}})
        wait_for(lambda: a.received == ["all"] and b.received == ["all"])

    def test_a_plain_cast_reaches_one_server(self, env, ctxt):
        topic = env.topic()
        a, b = EchoManager("host-a"), EchoManager("host-b")
        env.server(topic, a, host="host-a")
        env.server(topic, b, host="host-b")
        for value in range(10):
            rpc.cast(ctxt, topic, {"method": "record", "args": {"value": value}})
        wait_for(lambda: sorted(a.received + b.received) == list(range(10)))

    def test_topic_dot_host_reaches_only_that_host(self, env, ctxt):
        topic = env.topic()
        a, b = EchoManager("host-a"), EchoManager("host-b")
        env.server(topic, a, host="host-a")
        env.server(topic, b, host="host-b")
        for value in range(5):
            rpc.cast(ctxt, f"{topic}.host-b", {"method": "record", "args": {"value": value}})
        assert rpc.call(ctxt, f"{topic}.host-a", {"method": "whoami", "args": {}})["host"] == "host-a"
        wait_for(lambda: b.received == list(range(5)))
        assert a.received == []

    def test_concurrent_calls_each_get_their_own_answer(self, env, ctxt):
        topic = env.topic()
        env.server(topic)
        pool = eventlet.GreenPool(50)
        calls = [
            (i, {"method": "slow", "args": {"value": i, "seconds": (i % 5) * 0.01}}) for i in range(50)
        ]
        results = list(pool.imap(lambda item: (item[0], rpc.call(ctxt, topic, item[1], timeout=20)), calls))
        assert results == [(i, i) for i in range(50)]

    def test_graceful_stop_finishes_the_message_in_hand(self, env, ctxt):
        topic = env.topic()
        manager = EchoManager()
        server = env.server(topic, manager)
        pending = eventlet.spawn(rpc.call, ctxt, topic, {"method": "slow", "args": {"value": "x", "seconds": 0.3}})
        wait_for(lambda: manager.started == ["x"])
        server.stop(timeout=5)
        assert manager.finished == ["x"]
        assert pending.wait() == "x"

    def test_a_stopped_server_takes_no_more_messages(self, env, ctxt):
        topic = env.topic()
        manager = EchoManager()
        server = env.server(topic, manager)
        server.stop(timeout=1)
        rpc.cast(ctxt, topic, {"method": "record", "args": {"value": 1}})
        eventlet.sleep(0.3)
        assert manager.received == []
        later = EchoManager()
        env.server(topic, later)
        wait_for(lambda: later.received == [1])


class TestMemoryTransport(RpcBehaviour):
    @pytest.fixture
    def env(self, memory_rpc):
        return memory_rpc
