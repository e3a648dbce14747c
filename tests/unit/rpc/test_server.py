"""Where a server's replies go: back over the channel the request came on, else through a publisher."""

from __future__ import annotations

from nova import rpc
from nova.rpc import client


def test_a_reply_goes_back_over_the_requests_channel(memory_rpc, ctxt, monkeypatch):
    topic = memory_rpc.topic()
    memory_rpc.server(topic)
    sent_by_publisher = []
    monkeypatch.setattr(client, "send_reply", lambda *args: sent_by_publisher.append(args))
    assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": 7}}, timeout=5) == 7
    assert sent_by_publisher == []


def test_a_reply_the_channel_cannot_take_goes_through_the_publisher(memory_rpc, ctxt):
    topic = memory_rpc.topic()
    server = memory_rpc.server(topic)
    server._loop._producer = None  # as after the consumer's connection broke
    assert rpc.call(ctxt, topic, {"method": "echo", "args": {"value": 8}}, timeout=5) == 8
    assert client._connections().calls._senders, "the reply went through the call publisher"
