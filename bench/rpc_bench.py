"""nova.rpc against bare kombu, on the same broker in the same run.

    python bench/rpc_bench.py [--calls N] [--concurrent-calls N] [--callers K] [--rounds R]
                              [--rabbit-url URL] [--transports rabbit,memory] [--only nova|bare]
                              [--server-in-process]

Both sides run the same way against the same broker (RabbitMQ, then kombu's
memory transport for information), with the same bodies: the bare baseline
sends nova's own envelope (method, args and a serialised request context),
so both put the same bytes on the wire.  The callers run in this
eventlet-patched process; on RabbitMQ each side's server runs in a child
process of its own (forked, as a nova daemon is a process of its own), so
the caller's and the server's CPU per call are measured apart.  With
``--server-in-process`` (and always on memory://) the servers run in this
process too and the CPU figure covers both.

- call p50/p95: sequential calls.  Bare kombu: the caller publishes to a
  durable topic queue (transient, reply_to, correlation_id, expiration) and
  drains its own reply queue in its own greenthread (no hand-off: the
  fastest a single caller can go).  The server greenthread replies on the
  default exchange and acks.
- cast throughput: sequential persistent casts with publisher confirms on
  RabbitMQ (what makes an accepted cast survive a broker restart), timed
  until the server has counted every one; on both sides, since nova confirms
  every cast.  For information, bare kombu's unconfirmed casts are printed
  below the table (not a target).
- calls/s at 1 and at K concurrent callers (greenthreads): bare kombu shares
  one publishing connection and one reply consumer that wakes callers by
  correlation id (the way a kombu program serves concurrent callers); nova
  uses ``rpc.call``.

Also printed: CPU microseconds per call of the calling process and of the
server's, steadier than wall-clock rates on a busy machine.  Each
figure is the median over R rounds, nova and bare kombu taking turns to go
first.  Targets (issue 16, RabbitMQ only): call p50 and cast throughput within
1.5x of bare kombu, calls/s at K callers at least bare kombu's; the exit
status is 1 when one is missed.  Queues and exchanges have unique names and
are deleted afterwards.  See doc/benchmarks.rst.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nova  # noqa: E402,F401  (quiets eventlet's deprecation notice)
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import uuid  # noqa: E402

import kombu  # noqa: E402
from eventlet import event, hubs, semaphore  # noqa: E402

from nova import context, flags, rpc  # noqa: E402
from nova.rpc import common  # noqa: E402

FLAGS = flags.FLAGS
DEFAULT_URL = os.environ.get("NOVA_TEST_RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672//")
HOST = "bench-host"
CALL_TIMEOUT = 60.0


class BenchManager:
    def __init__(self) -> None:
        self.count = 0

    def echo(self, ctxt, value):
        return value

    def count_one(self, ctxt, value):
        self.count += 1


def point_flags_at(url: str, memory: bool, exchange: str) -> None:
    parsed = urllib.parse.urlparse(url)
    FLAGS.fake_rabbit = memory
    FLAGS.control_exchange = exchange
    FLAGS.rabbit_hosts = []
    FLAGS.rabbit_host = parsed.hostname or "127.0.0.1"
    FLAGS.rabbit_port = parsed.port or 5672
    FLAGS.rabbit_userid = urllib.parse.unquote(parsed.username or "guest")
    FLAGS.rabbit_password = urllib.parse.unquote(parsed.password or "guest")
    vhost = urllib.parse.unquote(parsed.path[1:]) if parsed.path not in ("", "/") else "/"
    FLAGS.rabbit_virtual_host = vhost or "/"


def poll_until(predicate, timeout: float, interval: float = 0.001) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        eventlet.sleep(interval)
    return True


def wait_until(predicate, timeout: float) -> None:
    if not poll_until(predicate, timeout):
        raise RuntimeError("timed out waiting for the server")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def fresh_hub() -> None:
    """In a forked child: a hub of its own.  The parent's epoll instance is shared across fork(), so the
    child would otherwise take events meant for the parent and the parent the child's."""
    old = hubs.get_hub()
    del hubs._threadlocal.hub
    poll = getattr(old, "poll", None)
    if poll is not None and hasattr(poll, "close"):
        poll.close()


class ServerProcess:
    """A bench server in a child process of its own (RabbitMQ), or in this process (memory://, or asked).

    ``serve()`` starts the server and returns (a function counting the casts
    it handled, a function stopping it).  ``stats()`` gives that count and
    the server process's CPU seconds (NaN in this process: not separable).
    The child answers over a pipe, one short request at a time.
    """

    def __init__(self, serve, separate: bool) -> None:
        self.separate = separate
        if not separate:
            self._count, self._stop = serve()
            return
        requests_r, requests_w = os.pipe()
        answers_r, answers_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                fresh_hub()
                os.close(requests_w)
                os.close(answers_r)
                count, stop = serve()
                os.write(answers_w, b"ready")
                while True:
                    command = os.read(requests_r, 64).split()
                    if command == [b"stats"]:
                        os.write(answers_w, f"{count()} {time.process_time()!r}".encode())
                    elif command[:1] == [b"wait"]:
                        reached = poll_until(lambda: count() >= int(command[1]), 120, 0.002)
                        os.write(answers_w, b"ok" if reached else b"timeout")
                    else:
                        break
                stop()
                code = 0
            finally:
                os._exit(code)
        os.close(requests_r)
        os.close(answers_w)
        self._pid, self._requests, self._answers = pid, requests_w, answers_r
        if os.read(answers_r, 64) != b"ready":
            self.stop()
            raise RuntimeError("the bench server process did not start")

    def stats(self) -> tuple[int, float]:
        if not self.separate:
            return self._count(), float("nan")
        os.write(self._requests, b"stats")
        count, cpu = os.read(self._answers, 64).split()
        return int(count), float(cpu)

    def wait_casts(self, total: int) -> None:
        """Return once the server has handled ``total`` casts; the child polls its own counter."""
        if not self.separate:
            wait_until(lambda: self._count() >= total, 120)
            return
        os.write(self._requests, f"wait {total}".encode())
        if os.read(self._answers, 64) != b"ok":
            raise RuntimeError("timed out waiting for the server")

    def casts(self) -> int:
        return self.stats()[0]

    def cpu(self) -> float:
        return self.stats()[1]

    def stop(self) -> None:
        if not self.separate:
            self._stop()
            return
        os.write(self._requests, b"stop")
        os.close(self._requests)
        os.close(self._answers)
        os.waitpid(self._pid, 0)


def concurrently(callers: int, total: int, one_call, server: ServerProcess) -> tuple[float, float, float]:
    """Calls/s of ``callers`` greenthreads making ``total`` calls between them, and CPU us per call
    of this (the calling) process and of the server's.

    With the server in this process the first figure covers both sides and
    the second is NaN.  On a busy machine CPU time moves less than
    wall-clock rates.
    """
    per_caller = max(total // callers, 1)

    def caller(base: int) -> None:
        for i in range(per_caller):
            one_call(base + i)

    server_cpu = server.cpu()
    start, cpu = time.perf_counter(), time.process_time()
    pool = eventlet.GreenPool(callers)
    for n in range(callers):
        pool.spawn(caller, n * per_caller)
    pool.waitall()
    done = per_caller * callers
    rate, cpu = done / (time.perf_counter() - start), (time.process_time() - cpu) / done * 1e6
    return rate, cpu, (server.cpu() - server_cpu) / done * 1e6


class Results:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.cast_per_s = 0.0
        # Bare kombu only, for information: the same casts without publisher confirms.
        self.unconfirmed_cast_per_s = 0.0
        self.calls_per_s: dict[int, float] = {}
        self.cpu_us: dict[int, float] = {}
        self.server_cpu_us: dict[int, float] = {}
        # CPU us per confirmed cast, of the sending process and of the server's.
        self.cast_cpu_us = self.cast_server_cpu_us = 0.0

    def time_casts(self, total: int, send_all, server: ServerProcess) -> None:
        """Casts/s and CPU per cast of ``send_all()`` sending ``total`` casts, until the server counted them."""
        before = server.casts()
        server_cpu, start, cpu = server.cpu(), time.perf_counter(), time.process_time()
        send_all()
        cpu = time.process_time() - cpu
        server.wait_casts(before + total)
        self.cast_per_s = total / (time.perf_counter() - start)
        self.cast_cpu_us, self.cast_server_cpu_us = cpu / total * 1e6, (server.cpu() - server_cpu) / total * 1e6

    def run_concurrently(self, callers: int, total: int, one_call, server: ServerProcess) -> None:
        self.calls_per_s[callers], self.cpu_us[callers], self.server_cpu_us[callers] = concurrently(
            callers, total, one_call, server)


def nova_run(options, ctxt, separate: bool = False) -> tuple[Results, str]:
    topic = f"bench-{uuid.uuid4().hex[:8]}"

    def serve():
        manager = BenchManager()
        server = rpc.Server(topic, HOST, rpc.Dispatcher(manager, base=object))
        server.start()

        def stop() -> None:
            server.stop(timeout=5)
            rpc.cleanup()

        return (lambda: manager.count), stop

    server = ServerProcess(serve, separate)
    results = Results()

    def one_call(i: int) -> None:
        rpc.call(ctxt, topic, {"method": "echo", "args": {"value": i}}, timeout=CALL_TIMEOUT)

    try:
        for i in range(options.warmup):
            one_call(i)
        for i in range(options.calls):
            start = time.perf_counter()
            one_call(i)
            results.latencies.append(time.perf_counter() - start)

        def send_all() -> None:
            for i in range(options.calls):
                rpc.cast(ctxt, topic, {"method": "count_one", "args": {"value": i}})

        results.time_casts(options.calls, send_all, server)
        for callers, total in ((1, options.calls), (options.callers, options.concurrent_calls)):
            results.run_concurrently(callers, total, one_call, server)
    finally:
        server.stop()
        rpc.cleanup()
    return results, topic


def drain_until(conn: kombu.Connection, ready: event.Event, stopped) -> None:
    """Say ``ready``, then hand arriving messages to the consumers' callbacks until ``stopped()``."""
    ready.send(True)
    while not stopped():
        try:
            conn.drain_events(timeout=0.2)
        except socket.timeout:
            pass


class BareServer:
    """A kombu request/reply server: replies inline on the default exchange, then acks."""

    def __init__(self, url: str, transport_options: dict, queue: kombu.Queue) -> None:
        self.url = url
        self.transport_options = transport_options
        self.queue = queue
        self.casts = 0
        self._stop = False
        self._ready = event.Event()
        self._thread = eventlet.spawn(self._run)
        self._ready.wait()

    def _run(self) -> None:
        with kombu.Connection(self.url, transport_options=self.transport_options) as conn:
            producer = kombu.Producer(conn.channel())

            def on_message(body, message):
                reply_to = message.properties.get("reply_to")
                if reply_to:
                    producer.publish(
                        {"result": body["args"]["value"]},
                        exchange="",
                        routing_key=reply_to,
                        correlation_id=message.properties["correlation_id"],
                        delivery_mode=1,
                        serializer="json",
                    )
                else:
                    self.casts += 1
                message.ack()

            with conn.Consumer(self.queue, callbacks=[on_message], prefetch_count=64):
                drain_until(conn, self._ready, lambda: self._stop)

    def stop(self) -> None:
        self._stop = True
        self._thread.wait()


class BareClient:
    """Concurrent callers over one publishing connection and one reply consumer greenthread."""

    def __init__(self, url: str, transport_options: dict, exchange: kombu.Exchange, routing_key: str) -> None:
        self.routing_key = routing_key
        self.reply_name = f"{routing_key}-reply"
        self._pub_conn = kombu.Connection(url, transport_options=transport_options)
        self._producer = kombu.Producer(self._pub_conn.channel(), exchange=exchange)
        self._lock = semaphore.Semaphore()
        self._waiters: dict[str, event.Event] = {}
        self._stop = False
        self._ready = event.Event()
        self._reply_conn = kombu.Connection(url, transport_options=transport_options)
        self._thread = eventlet.spawn(self._consume)
        self._ready.wait()

    def _consume(self) -> None:
        conn = self._reply_conn
        queue = kombu.Queue(self.reply_name, exclusive=True, auto_delete=True, routing_key=self.reply_name)

        def on_reply(body, message):
            waiter = self._waiters.pop(message.properties["correlation_id"], None)
            if waiter is not None:
                waiter.send(body)

        with kombu.Consumer(conn.channel(), queue, callbacks=[on_reply], no_ack=True):
            drain_until(conn, self._ready, lambda: self._stop)

    def call(self, body: dict) -> object:
        correlation_id = uuid.uuid4().hex
        waiter = self._waiters[correlation_id] = event.Event()
        with self._lock:
            self._producer.publish(body, routing_key=self.routing_key, reply_to=self.reply_name,
                                   correlation_id=correlation_id, delivery_mode=1, expiration=CALL_TIMEOUT,
                                   serializer="json")
        return waiter.wait(CALL_TIMEOUT)

    def close(self) -> None:
        self._stop = True
        self._thread.wait()
        self._reply_conn.release()
        self._pub_conn.release()


def bare_run(options, ctxt, url: str, memory: bool, separate: bool = False) -> tuple[Results, str]:
    name = f"bench-bare-{uuid.uuid4().hex[:8]}"
    if memory:
        url = "memory://"
        transport = {"polling_interval": FLAGS.rpc_memory_polling_interval}
        confirmed = {"polling_interval": FLAGS.rpc_memory_polling_interval}
    else:
        transport, confirmed = {}, {"confirm_publish": True}
    exchange = kombu.Exchange(name, type="topic", durable=True)
    request_queue = kombu.Queue(name, exchange, routing_key=name, durable=True)
    context_dict = ctxt.to_dict()

    def body(method: str, value: int) -> dict:
        return {"method": method, "args": {"value": value}, "_context": context_dict}

    def serve():
        bare = BareServer(url, transport, request_queue)
        return (lambda: bare.casts), bare.stop

    server = ServerProcess(serve, separate)
    results = Results()
    try:
        # Sequential calls: the caller drains its own reply queue.
        reply_name = f"{name}-seq-reply"
        reply_queue = kombu.Queue(reply_name, exclusive=True, auto_delete=True, routing_key=reply_name)
        replies: dict[str, object] = {}
        with kombu.Connection(url, transport_options=transport) as conn:
            producer = kombu.Producer(conn.channel(), exchange=exchange)

            def on_reply(reply, message):
                replies[message.properties["correlation_id"]] = reply

            with kombu.Consumer(conn.channel(), reply_queue, callbacks=[on_reply], no_ack=True):
                for i in range(options.warmup + options.calls):
                    correlation_id = uuid.uuid4().hex
                    start = time.perf_counter()
                    producer.publish(body("echo", i), routing_key=name, reply_to=reply_name,
                                     correlation_id=correlation_id, delivery_mode=1, expiration=CALL_TIMEOUT,
                                     serializer="json")
                    while correlation_id not in replies:
                        conn.drain_events(timeout=10)
                    replies.pop(correlation_id)
                    if i >= options.warmup:
                        results.latencies.append(time.perf_counter() - start)
        with kombu.Connection(url, transport_options=confirmed) as conn:
            producer = kombu.Producer(conn.channel(), exchange=exchange)

            def send_all() -> None:
                for i in range(options.calls):
                    producer.publish(body("count_one", i), routing_key=name, delivery_mode=2, serializer="json")

            results.time_casts(options.calls, send_all, server)
        if not memory:
            # For information only: what publisher confirms cost.  nova confirms every cast (an accepted
            # cast survives a broker restart), so the comparison above, confirmed against confirmed, is
            # the issue's.
            with kombu.Connection(url, transport_options=transport) as conn:
                producer = kombu.Producer(conn.channel(), exchange=exchange)
                before = server.casts()
                start = time.perf_counter()
                for i in range(options.calls):
                    producer.publish(body("count_one", i), routing_key=name, delivery_mode=2, serializer="json")
                server.wait_casts(before + options.calls)
                results.unconfirmed_cast_per_s = options.calls / (time.perf_counter() - start)
        client = BareClient(url, transport, exchange, name)
        try:
            for callers, total in ((1, options.calls), (options.callers, options.concurrent_calls)):
                results.run_concurrently(callers, total, lambda i: client.call(body("echo", i)), server)
        finally:
            client.close()
    finally:
        server.stop()
    return results, name


def delete_entities(url: str, exchange: str, nova_topic: str, bare_name: str) -> None:
    with kombu.Connection(url) as conn:
        channel = conn.channel()
        for queue in (nova_topic, nova_topic and f"{nova_topic}.{HOST}", bare_name):
            if queue:
                channel.queue_delete(queue)
        for name in (exchange, nova_topic and f"{nova_topic}_fanout", bare_name):
            if name:
                channel.exchange_delete(name)


def metrics(results: Results, k: int) -> list[float]:
    return [
        statistics.median(results.latencies) * 1e3,
        percentile(results.latencies, 0.95) * 1e3,
        results.cast_per_s,
        results.calls_per_s[1],
        results.calls_per_s[k],
        results.cpu_us[1],
        results.cpu_us[k],
        results.cast_cpu_us,
        results.server_cpu_us[1],
        results.server_cpu_us[k],
        results.cast_server_cpu_us,
    ]


def cpu_labels(k: int, separate: bool) -> list[str]:
    if not separate:
        return ["CPU us/call, 1 caller", f"CPU us/call, {k} callers", "CPU us/cast (sending)"]
    return ["caller CPU us/call, 1", f"caller CPU us/call, {k}", "caller CPU us/cast", "server CPU us/call, 1",
            f"server CPU us/call, {k}", "server CPU us/cast"]


def report(transport: str, options, nova: list[Results], bare: list[Results]) -> list[str]:
    """Prints the table (each figure the median over the rounds); returns the targets missed."""
    k = options.callers
    separate = separate_server(options, transport)
    labels = ["call p50 (ms)", "call p95 (ms)", "cast throughput (msg/s)", "calls/s, 1 caller",
              f"calls/s, {k} callers"] + cpu_labels(k, separate)
    mine = [statistics.median(column) for column in zip(*(metrics(r, k) for r in nova))]
    theirs = [statistics.median(column) for column in zip(*(metrics(r, k) for r in bare))]
    print(f"\n{transport}: {options.rounds} rounds (nova and bare taking turns to go first), each "
          f"{options.calls} sequential calls and casts, {options.concurrent_calls} calls by {options.callers} "
          f"callers; servers {'in a process of their own' if separate else 'in this process'}; "
          "medians over the rounds")
    print(f"{'':26}{'nova.rpc':>12}{'bare kombu':>12}{'nova/bare':>11}")
    for label, a, b in zip(labels, mine, theirs):
        print(f"{label:26}{a:12.3f}{b:12.3f}{a / b:10.2f}x")
    unconfirmed = statistics.median(r.unconfirmed_cast_per_s for r in bare)
    if unconfirmed:
        print(f"(for information: bare kombu's casts without publisher confirms: {unconfirmed:.1f} msg/s, "
              f"{mine[2] / unconfirmed:.2f}x; nova confirms every cast, so the row above is the comparison)")
    missed = []
    if mine[0] > 1.5 * theirs[0]:
        missed.append("call p50 within 1.5x")
    if mine[2] * 1.5 < theirs[2]:
        missed.append("cast throughput within 1.5x")
    if mine[4] < theirs[4]:
        missed.append(f"calls/s at {k} callers >= bare")
    if transport == "memory":
        print("(memory transport: for information; the targets are RabbitMQ's)")
        return []
    print(f"targets: {'all met' if not missed else 'MISSED ' + ', '.join(missed)}")
    return missed


def separate_server(options, transport: str) -> bool:
    """Servers run in a child process on RabbitMQ (memory:// lives inside one process), unless asked not to."""
    return transport != "memory" and not options.server_in_process


def run_transport(options, ctxt, transport: str) -> tuple[list[Results], list[Results]]:
    """Every round of one transport, nova and bare kombu taking turns to go first."""
    memory = transport == "memory"
    nova_rounds: list[Results] = []
    bare_rounds: list[Results] = []
    sides = [s for s in ("nova", "bare") if options.only in (None, s)]
    for n in range(options.rounds):
        exchange = f"bench-nova-{uuid.uuid4().hex[:8]}"
        point_flags_at(options.rabbit_url, memory, exchange)
        topic = bare_name = ""
        try:
            for side in sides if n % 2 == 0 else sides[::-1]:
                if side == "nova":
                    results, topic = nova_run(options, ctxt, separate_server(options, transport))
                    nova_rounds.append(results)
                else:
                    results, bare_name = bare_run(options, ctxt, options.rabbit_url, memory,
                                                  separate_server(options, transport))
                    bare_rounds.append(results)
        finally:
            if memory:
                rpc.cleanup()
            else:
                delete_entities(options.rabbit_url, exchange, topic, bare_name)
    return nova_rounds, bare_rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000,
                        help="sequential calls, casts, and calls by one caller through the concurrent client")
    parser.add_argument("--concurrent-calls", type=int, default=5000, help="calls made by the concurrent callers")
    parser.add_argument("--callers", type=int, default=50, help="concurrent callers (greenthreads)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per transport (medians are reported)")
    parser.add_argument("--rabbit-url", default=DEFAULT_URL, help="broker URL (default: %(default)s)")
    parser.add_argument("--transports", default="rabbit,memory", help="rabbit, memory or both")
    parser.add_argument("--only", choices=("nova", "bare"), help="run one side alone (for profiling), no table")
    parser.add_argument("--server-in-process", action="store_true",
                        help="run the servers in this process on RabbitMQ too (one process to profile)")
    options = parser.parse_args()
    options.warmup = min(100, options.calls)
    logging.basicConfig(level=logging.WARNING)
    FLAGS([sys.argv[0]])
    ctxt = context.RequestContext("bench-user", "bench-project")
    missed = []
    for transport in options.transports.split(","):
        if transport != "memory":
            point_flags_at(options.rabbit_url, False, "unused")
            rpc.check_connection()
            print(f"RabbitMQ {options.rabbit_url.split('@')[-1]}")
        nova_rounds, bare_rounds = run_transport(options, ctxt, transport)
        if options.only:
            for results in nova_rounds or bare_rounds:
                row = " ".join(f"{value:.3f}" for value in metrics(results, options.callers))
                print(f"{transport} {options.only}: p50 p95 casts/s calls/s@1 calls/s@{options.callers} "
                      f"cpu@1 cpu@{options.callers} cpu/cast server-cpu@1 server-cpu@{options.callers} "
                      f"server-cpu/cast: {row}")
        else:
            missed += report(transport, options, nova_rounds, bare_rounds)
    size = len(json.dumps(common.envelope(ctxt, {"method": "echo", "args": {"value": 1}})))
    print(f"\nrequest body: {size} bytes of JSON on both sides")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
