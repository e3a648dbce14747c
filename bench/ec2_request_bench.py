"""CPU and SQL statements of single EC2 requests inside nova-api, without the rest of the cloud.

    python3 bench/ec2_request_bench.py [--backend postgresql|sqlite] [--cycles 200] [--user admin|member]
                                       [--profile FILE]

Loads the real ``ec2`` paste pipeline in this process on a fresh database
(PostgreSQL by default; the test fixtures make and remove it) with the memory
transport, and repeats: RunInstances (one m1.tiny instance, signed with
Signature Version 2 like bench/cloud_bench.py's clients), DescribeInstances of
that id, TerminateInstances.  Between RunInstances and TerminateInstances the
instance is made ``active`` on a host directly in the database (what the
scheduler and nova-compute would do; not counted).  The requests are WSGI
calls on the pipeline, so HTTP parsing by eventlet.wsgi is not included.

Prints, per action, the median and mean process CPU milliseconds per request
and the SQL statements per request (counted on nova's engine).  ``--profile``
writes a cProfile of the measured requests only (read it with
bench/profile/show.py).  ``--user admin`` signs as a cloud admin (as
cloud_bench's client does), ``member`` as a plain project member.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import datetime
import hashlib
import hmac
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nova  # noqa: E402,F401
import eventlet  # noqa: E402

eventlet.monkey_patch()

import webob  # noqa: E402
from sqlalchemy import event  # noqa: E402

from nova import context, flags, wsgi  # noqa: E402
from nova.auth import manager  # noqa: E402
from nova.db import api as db  # noqa: E402
from nova.db.sqlalchemy import session  # noqa: E402

FLAGS = flags.FLAGS
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1:8773"
PATH = "/services/Cloud"
_UNRESERVED = "-_.~"
_INSTANCE_ID = re.compile(r"<instanceId>(i-[0-9a-f]+)</instanceId>")


def signed_body(action: str, access: str, secret: str, **params: str) -> bytes:
    params = dict(params, Action=action, Version="2011-01-01", AWSAccessKeyId=access,
                  SignatureMethod="HmacSHA256", SignatureVersion="2",
                  Timestamp=datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"))
    query = "&".join(f"{urllib.parse.quote(k, safe=_UNRESERVED)}={urllib.parse.quote(str(v), safe=_UNRESERVED)}"
                     for k, v in sorted(params.items()))
    to_sign = f"POST\n{HOST}\n{PATH}\n{query}"
    signature = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).digest()).decode()
    return f"{query}&Signature={urllib.parse.quote(signature, safe=_UNRESERVED)}".encode()


class Meter:
    def __init__(self) -> None:
        self.statements = 0
        self.last: list[str] = []
        self.cpu: dict[str, list[float]] = {}
        self.sql: dict[str, list[int]] = {}
        self.shown: dict[str, list[str]] = {}

    def count(self, _conn, _cursor, statement: str, *_args) -> None:
        self.statements += 1
        self.last.append(" ".join(statement.split())[:160])


def call(app, meter: Meter | None, profiler: cProfile.Profile | None, action: str, access: str, secret: str,
         **params: str) -> str:
    body = signed_body(action, access, secret, **params)
    req = webob.Request.blank(PATH, method="POST", body=body, headers={
        "Host": HOST, "Content-Type": "application/x-www-form-urlencoded"})
    req.environ["REMOTE_ADDR"] = "127.0.0.1"
    before_sql = meter.statements if meter else 0
    if meter is not None:
        meter.last = []
    started = time.process_time()
    if profiler:
        profiler.enable()
    response = req.get_response(app)
    if profiler:
        profiler.disable()
    spent = time.process_time() - started
    if response.status_int != 200:
        raise SystemExit(f"{action}: {response.status} {response.text[:300]}")
    if meter is not None:
        meter.cpu.setdefault(action, []).append(spent * 1000)
        meter.sql.setdefault(action, []).append(meter.statements - before_sql)
        meter.shown[action] = list(meter.last)
    return response.text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="postgresql", choices=("postgresql", "sqlite"))
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--user", default="admin", choices=("admin", "member"))
    parser.add_argument("--profile", metavar="FILE", help="cProfile (CPU time) of the measured requests")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of the last cycle")
    args = parser.parse_args()

    from tests.fixtures.database import migrated_database, use_database
    from tests.unit.api.conftest import make_image

    tmp = tempfile.mkdtemp(prefix="ec2-request-bench-")
    flags.reset_for_tests(state_path=tmp, fake_rabbit=True, host="bench-host", connection_type="fake",
                          fake_network=True)
    FLAGS.api_paste_config = os.path.join(ROOT, "etc", "nova", "api-paste.ini")
    with migrated_database(args.backend, tmp) as url:
        use_database(url)
        auth = manager.AuthManager()
        auth.create_user("bench", "AK-BENCH", "SK-BENCH", admin=args.user == "admin")
        auth.create_project("bench", "bench")
        image = make_image()
        app = wsgi.load_paste_app("ec2")
        admin = context.get_admin_context()
        meter = Meter()
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        event.listen(session.get_engine(), "before_cursor_execute", meter.count)
        for n in range(args.warmup + args.cycles):
            measured = n >= args.warmup
            m, p = (meter, profiler) if measured else (None, None)
            reply = call(app, m, p, "RunInstances", "AK-BENCH", "SK-BENCH", ImageId=image, MinCount="1",
                         MaxCount="1", InstanceType="m1.tiny")
            ec2_id = _INSTANCE_ID.search(reply).group(1)
            db.instance_update(admin, int(ec2_id[2:], 16), {"vm_state": "active", "task_state": None,
                                                             "host": "c1", "power_state": 1})
            call(app, m, p, "DescribeInstances", "AK-BENCH", "SK-BENCH", **{"InstanceId.1": ec2_id})
            call(app, m, p, "TerminateInstances", "AK-BENCH", "SK-BENCH", **{"InstanceId.1": ec2_id})
            db.instance_destroy(admin, int(ec2_id[2:], 16))
        event.remove(session.get_engine(), "before_cursor_execute", meter.count)
    print(f"{args.cycles} cycles on {args.backend}, user {args.user}; CPU ms per request "
          f"(process time, this process), SQL statements per request")
    print(f"{'action':<22}{'cpu p50':>9}{'cpu mean':>10}{'sql mean':>10}{'sql max':>9}")
    for action, cpu in meter.cpu.items():
        sql = meter.sql[action]
        print(f"{action:<22}{statistics.median(cpu):9.2f}{statistics.fmean(cpu):10.2f}"
              f"{statistics.fmean(sql):10.1f}{max(sql):9d}")
    if args.show_sql:
        for action, statements in meter.shown.items():
            print(f"\n{action}:")
            for statement in statements:
                print("   ", statement)
    if profiler:
        profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
