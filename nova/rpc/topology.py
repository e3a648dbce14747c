"""The exchanges and queues of nova's RPC, in one place.

- topic exchange ``FLAGS.control_exchange`` (durable): queue ``T`` (shared by
  every server of topic T) and queue ``T.<host>``, each bound with its own
  name as routing key.  Both are durable, so casts wait there while no
  server runs, and survive a broker restart.
- fanout exchange ``T_fanout``: one exclusive, auto-delete queue per server.
- replies: one exclusive queue per process, reached via the default exchange.

Publishers declare the topic queue they send to, so a cast sent before any
server of its topic ever started is kept.
"""

from __future__ import annotations

import uuid

from kombu import Exchange, Queue

from nova.rpc import common

FLAGS = common.FLAGS


def topic_exchange() -> Exchange:
    return Exchange(FLAGS.control_exchange, type="topic", durable=True, auto_delete=False)


def fanout_exchange(topic: str) -> Exchange:
    return Exchange(f"{topic}_fanout", type="fanout", durable=False, auto_delete=False)


def topic_queue(topic: str) -> Queue:
    """The durable queue that holds messages sent to ``topic`` (``T`` or ``T.host``)."""
    return Queue(topic, topic_exchange(), routing_key=topic, durable=True, auto_delete=False)


def fanout_queue_name(topic: str) -> str:
    return f"{topic}_fanout_{uuid.uuid4().hex}"


def fanout_queue(topic: str, name: str) -> Queue:
    return Queue(name, fanout_exchange(topic), durable=False, exclusive=True, auto_delete=True)


def reply_queue_name() -> str:
    return f"reply_{uuid.uuid4().hex}"


def reply_queue(name: str) -> Queue:
    return Queue(name, routing_key=name, durable=False, exclusive=True, auto_delete=True)
