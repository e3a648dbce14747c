"""The exchanges and queues of nova's RPC, in one place.

- topic exchange ``FLAGS.control_exchange`` (durable): queue ``T`` (shared by
  every server of topic T) and queue ``T.<host>``, each bound with its own
  name as routing key.  Both are durable, so casts wait there while no
  server runs, and survive a broker restart; with ``--rabbit_quorum_queues``
  (the default for a cluster) they are quorum queues, which survive the loss
  of a minority of the cluster's nodes.
- fanout exchange ``T_fanout``: one exclusive, auto-delete queue per server.
- replies: one exclusive queue per process, reached via the default exchange.

Publishers declare the topic queue they send to, so a cast sent before any
server of its topic ever started is kept.
"""

from __future__ import annotations

import functools
import re
import uuid

from kombu import Exchange, Queue

from nova.rpc import common

FLAGS = common.FLAGS


def topic_exchange() -> Exchange:
    return Exchange(FLAGS.control_exchange, type="topic", durable=True, auto_delete=False)


@functools.lru_cache(maxsize=1024)
def fanout_exchange(topic: str) -> Exchange:
    return Exchange(f"{topic}_fanout", type="fanout", durable=False, auto_delete=False)


def topic_queue(topic: str, quorum: bool = False) -> Queue:
    """The durable queue that holds messages sent to ``topic`` (``T`` or ``T.host``).

    With ``quorum`` it is a quorum queue: replicated over the cluster's nodes,
    so it and its messages outlive the node that holds its leader.
    """
    return _topic_queue(topic, quorum, FLAGS.control_exchange)


# Built once per topic: a kombu Queue costs more to build than a message costs to send.
# Not bound to a channel here; declaring binds a copy (``queue(channel)``).
@functools.lru_cache(maxsize=4096)
def _topic_queue(topic: str, quorum: bool, exchange: str) -> Queue:
    arguments = {"x-queue-type": "quorum"} if quorum else None
    return Queue(topic, Exchange(exchange, type="topic", durable=True, auto_delete=False), routing_key=topic,
                 durable=True, auto_delete=False, queue_arguments=arguments)


def explain(exc: BaseException, quorum: bool) -> str:
    """One line for a broker refusal; says what to do when a topic queue exists with the other type."""
    text = common.one_line(exc)
    match = re.search(r"inequivalent arg 'x-queue-type' for queue '([^']*)' in vhost '([^']*)'", text)
    if not match:
        return text
    queue, vhost = match.groups()
    have, want = ("classic", "quorum") if quorum else ("quorum", "classic")
    switch = "--norabbit_quorum_queues" if quorum else "--rabbit_quorum_queues"
    return (f"queue {queue!r} in vhost {vhost!r} already exists as a {have} queue but this process wants a "
            f"{want} queue: stop every nova service, drain and delete it (rabbitmqctl delete_queue -p {vhost} "
            f"{queue}), or run every service with {switch}")


def fanout_queue_name(topic: str) -> str:
    return f"{topic}_fanout_{uuid.uuid4().hex}"


def fanout_queue(topic: str, name: str) -> Queue:
    return Queue(name, fanout_exchange(topic), durable=False, exclusive=True, auto_delete=True)


def reply_queue_name() -> str:
    return f"reply_{uuid.uuid4().hex}"


def reply_queue(name: str) -> Queue:
    return Queue(name, routing_key=name, durable=False, exclusive=True, auto_delete=True)
