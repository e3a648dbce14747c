"""nova.rpc against bare kombu on a real RabbitMQ, measured in the same run.

    python bench/rpc_bench.py [--calls N] [--rabbit-url URL]

call: round-trip latency of sequential calls (median, p99).  bare kombu: the
client publishes with reply_to and correlation_id to a durable topic queue,
a server greenthread replies on the default exchange and acks, the client
drains its reply queue.  cast: sequential sends, timed until a server has
counted every arrival; the bare baseline sends like-for-like (persistent,
publisher confirms).  Target: nova's call median within 2x of bare kombu.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nova  # noqa: E402,F401  (quiets eventlet's deprecation notice)
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import uuid  # noqa: E402

import kombu  # noqa: E402

from nova import context, flags, rpc  # noqa: E402

FLAGS = flags.FLAGS
DEFAULT_URL = os.environ.get("NOVA_TEST_RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672//")


class BenchManager:
    def __init__(self) -> None:
        self.count = 0

    def echo(self, ctxt, value):
        return value

    def count_one(self, ctxt, value):
        self.count += 1


def point_flags_at(url: str) -> None:
    parsed = urllib.parse.urlparse(url)
    FLAGS([sys.argv[0]])
    FLAGS.fake_rabbit = False
    FLAGS.rabbit_host = parsed.hostname or "127.0.0.1"
    FLAGS.rabbit_port = parsed.port or 5672
    FLAGS.rabbit_userid = urllib.parse.unquote(parsed.username or "guest")
    FLAGS.rabbit_password = urllib.parse.unquote(parsed.password or "guest")
    vhost = urllib.parse.unquote(parsed.path[1:]) if parsed.path not in ("", "/") else "/"
    FLAGS.rabbit_virtual_host = vhost or "/"


def wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for the server")
        eventlet.sleep(0.001)


def nova_run(calls: int, casts: int, warmup: int) -> tuple[list[float], float, str]:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    manager = BenchManager()
    server = rpc.Server(topic, "bench-host", rpc.Dispatcher(manager, base=object))
    server.start()
    ctxt = context.get_admin_context()
    try:
        for i in range(warmup):
            rpc.call(ctxt, topic, {"method": "echo", "args": {"value": i}})
        latencies = []
        for i in range(calls):
            start = time.perf_counter()
            rpc.call(ctxt, topic, {"method": "echo", "args": {"value": i}})
            latencies.append(time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(casts):
            rpc.cast(ctxt, topic, {"method": "count_one", "args": {"value": i}})
        wait_until(lambda: manager.count >= casts, 120)
        cast_seconds = time.perf_counter() - start
    finally:
        server.stop(timeout=5)
        rpc.cleanup()
    return latencies, cast_seconds, topic


def bare_run(url: str, calls: int, casts: int, warmup: int) -> tuple[list[float], float, list[str]]:
    name = f"bench-bare-{uuid.uuid4().hex[:8]}"
    exchange = kombu.Exchange(name, type="topic", durable=True)
    request_queue = kombu.Queue(name, exchange, routing_key=name, durable=True)
    counted = {"casts": 0}
    stop = {"flag": False}
    ready = eventlet.event.Event()

    def server() -> None:
        with kombu.Connection(url) as conn:
            producer = kombu.Producer(conn.channel())

            def on_message(body, message):
                reply_to = message.properties.get("reply_to")
                if reply_to:
                    producer.publish(
                        {"result": body["args"]["value"]},
                        exchange="",
                        routing_key=reply_to,
                        correlation_id=message.properties["correlation_id"],
                        serializer="json",
                    )
                else:
                    counted["casts"] += 1
                message.ack()

            with conn.Consumer(request_queue, callbacks=[on_message], prefetch_count=64):
                ready.send(True)
                while not stop["flag"]:
                    try:
                        conn.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass

    thread = eventlet.spawn(server)
    ready.wait()
    reply_name = f"{name}-reply"
    reply_queue = kombu.Queue(reply_name, exclusive=True, auto_delete=True, routing_key=reply_name)
    replies: dict[str, object] = {}
    latencies = []
    try:
        with kombu.Connection(url) as conn:
            channel = conn.channel()
            producer = kombu.Producer(channel, exchange=exchange)

            def on_reply(body, message):
                replies[message.properties["correlation_id"]] = body

            with kombu.Consumer(conn.channel(), reply_queue, callbacks=[on_reply], no_ack=True):
                for i in range(warmup + calls):
                    correlation_id = uuid.uuid4().hex
                    start = time.perf_counter()
                    producer.publish(
                        {"method": "echo", "args": {"value": i}},
                        routing_key=name,
                        reply_to=reply_name,
                        correlation_id=correlation_id,
                        serializer="json",
                    )
                    while correlation_id not in replies:
                        conn.drain_events(timeout=10)
                    replies.pop(correlation_id)
                    if i >= warmup:
                        latencies.append(time.perf_counter() - start)
        with kombu.Connection(url, transport_options={"confirm_publish": True}) as conn:
            producer = kombu.Producer(conn.channel(), exchange=exchange)
            start = time.perf_counter()
            for i in range(casts):
                producer.publish(
                    {"method": "count_one", "args": {"value": i}},
                    routing_key=name,
                    delivery_mode=2,
                    serializer="json",
                )
            wait_until(lambda: counted["casts"] >= casts, 120)
            cast_seconds = time.perf_counter() - start
    finally:
        stop["flag"] = True
        thread.wait()
    return latencies, cast_seconds, [name]


def delete_entities(url: str, nova_topic: str, bare_names: list[str]) -> None:
    with kombu.Connection(url) as conn:
        channel = conn.channel()
        for queue in (nova_topic, f"{nova_topic}.bench-host", *bare_names):
            channel.queue_delete(queue)
        channel.exchange_delete(f"{nova_topic}_fanout")
        for name in bare_names:
            channel.exchange_delete(name)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls (and casts) to time")
    parser.add_argument("--rabbit-url", default=DEFAULT_URL, help="broker URL (default: %(default)s)")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    point_flags_at(options.rabbit_url)
    rpc.check_connection()
    warmup = min(100, options.calls)

    bare_lat, bare_cast, bare_names = bare_run(options.rabbit_url, options.calls, options.calls, warmup)
    nova_lat, nova_cast, nova_topic = nova_run(options.calls, options.calls, warmup)
    delete_entities(options.rabbit_url, nova_topic, bare_names)

    rows = [
        ("call median (ms)", statistics.median(nova_lat) * 1e3, statistics.median(bare_lat) * 1e3),
        ("call p99 (ms)", p99(nova_lat) * 1e3, p99(bare_lat) * 1e3),
        ("cast throughput (msg/s)", options.calls / nova_cast, options.calls / bare_cast),
    ]
    print(f"RabbitMQ {options.rabbit_url.split('@')[-1]}, {options.calls} calls and {options.calls} casts each")
    print(f"{'':26}{'nova.rpc':>12}{'bare kombu':>12}{'nova/bare':>11}")
    for label, nova, bare in rows:
        print(f"{label:26}{nova:12.3f}{bare:12.3f}{nova / bare:10.2f}x")
    verdict = "meets" if rows[0][1] <= 2 * rows[0][2] else "MISSES"
    print(f"call median {verdict} the target (within 2x of bare kombu)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
