"""The publisher pool: which connection a send goes over (no broker: the send itself is replaced)."""

from __future__ import annotations

import time

import eventlet
import pytest

from nova.rpc import common, connection, publisher

SETTINGS = connection.BrokerSettings(memory=False, hosts=(("127.0.0.1", 1),))


@pytest.fixture
def sends(monkeypatch):
    """(greenthread name, sender) of every send, in the order they went out; a body's "hold" keeps the sender."""
    log: list[tuple[str, object]] = []

    def fake_send(self, sender, body, exchange, routing_key, declare, deadline, target, properties):
        eventlet.sleep(body.get("hold", 0))
        log.append((body["who"], sender))

    monkeypatch.setattr(publisher.Publisher, "_send", fake_send)
    return log


def send(pub: publisher.Publisher, who: str, hold: float = 0, timeout: float = 5) -> None:
    pub.publish({"who": who, "hold": hold}, exchange="", routing_key="t", declare=(),
                deadline=time.monotonic() + timeout, target="topic t")


def test_an_unconfirmed_greenthread_waits_for_its_connection_so_its_messages_keep_their_order(sends):
    pub = publisher.Publisher(SETTINGS, confirm=False, size=4)
    send(pub, "a")
    first = sends[0][1]
    # Another greenthread takes the connection "a" used and holds it for a while.
    other = eventlet.spawn(send, pub, "b", 0.05)
    eventlet.sleep(0)
    send(pub, "a")
    other.wait()
    assert [who for who, _ in sends] == ["a", "b", "a"]
    assert all(sender is first for _, sender in sends), "a's second message must not overtake on another connection"


def test_a_confirmed_greenthread_takes_any_free_connection(sends):
    pub = publisher.Publisher(SETTINGS, confirm=True, size=4)
    send(pub, "a")
    other = eventlet.spawn(send, pub, "b", 0.05)
    eventlet.sleep(0)
    send(pub, "a")
    other.wait()
    assert [who for who, _ in sends] == ["a", "a", "b"]
    assert sends[0][1] is sends[2][1] and sends[1][1] is not sends[0][1]


def test_a_greenthread_keeps_its_connection_while_others_send(sends):
    pub = publisher.Publisher(SETTINGS, confirm=False, size=3)

    def burst(who: str) -> None:
        for _ in range(20):
            send(pub, who, hold=0.001)

    threads = [eventlet.spawn(burst, who) for who in "abc"]
    for thread in threads:
        thread.wait()
    by_thread = {who: {id(sender) for w, sender in sends if w == who} for who in "abc"}
    assert all(len(used) == 1 for used in by_thread.values()), by_thread


def test_a_send_that_cannot_get_its_connection_in_time_gives_up_and_frees_its_slot(sends):
    pub = publisher.Publisher(SETTINGS, confirm=False, size=2)
    send(pub, "a")
    holder = eventlet.spawn(send, pub, "b", 0.3)
    eventlet.sleep(0)
    with pytest.raises(common.BrokerUnavailable):
        send(pub, "a", timeout=0.05)
    holder.wait()
    # Both slots are free again: two sends can hold connections at once.
    threads = [eventlet.spawn(send, pub, who, 0.05) for who in "cd"]
    started = time.monotonic()
    for thread in threads:
        thread.wait()
    assert time.monotonic() - started < 0.09
    assert not pub._idle[0].waiters and not pub._idle[0].busy


def test_calls_and_replies_take_any_free_connection_and_leave_no_trace(sends):
    pub = publisher.Publisher(SETTINGS, confirm=False, size=2)
    holder = eventlet.spawn(send, pub, "b", 0.05)
    eventlet.sleep(0)
    pub.publish({"who": "reply"}, exchange="", routing_key="r", declare=(), deadline=time.monotonic() + 5,
                target="reply queue r", keep_order=False)
    holder.wait()
    assert [who for who, _ in sends] == ["reply", "b"]
    assert sends[0][1] is not sends[1][1], "a reply does not wait for a busy connection"
    assert len(pub._last) == 1  # only "b", which keeps order, is remembered
