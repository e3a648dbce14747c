"""DescribeInstances (or another EC2 listing) and servers/detail called in-process, through the real
paste pipelines, on a database bench/listing_bench.py filled: CPU and wall time per call, or a cProfile
of one call timed by CPU (not wall) time, which a loaded machine distorts least.

  python3 bench/profile/listing.py FLAGFILE [time|tottime|cumulative] [--osapi] [Param=value ...]

FLAGFILE is the nova.conf listing_bench left in its state directory (its
``--sql_connection`` database keeps the rows); the bench's user is ``bench``.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.credentials  # noqa: E402
import webob  # noqa: E402

from nova import flags, wsgi  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    flagfile, mode = args[0], (args[1] if len(args) > 1 and "=" not in args[1] and args[1] != "--osapi" else "time")
    osapi = "--osapi" in args
    params = dict(a.split("=", 1) for a in args[1:] if "=" in a)
    flags.parse_args(["listing-profile", f"--flagfile={flagfile}"], use_default_flagfile=False)
    flags.FLAGS.api_paste_config = os.path.join(ROOT, "etc", "nova", "api-paste.ini")
    if osapi:
        from nova.auth import manager

        app = wsgi.load_paste_app("osapi_compute")
        token = manager.AuthManager().create_token("bench", "bench")
        query = "&".join(f"{k}={v}" for k, v in params.items())

        def call() -> bytes:
            request = webob.Request.blank("/v2.1/servers/detail" + (f"?{query}" if query else ""),
                                          headers={"X-Auth-Token": token})
            response = request.get_response(app)
            assert response.status_int == 200, response.body[:300]
            return response.body
    else:
        app = wsgi.load_paste_app("ec2")
        action = params.pop("Action", "DescribeInstances")
        credentials = botocore.credentials.Credentials("AK-BENCH-P", "SK-BENCH-P")

        def call() -> bytes:
            body = "&".join([f"Action={action}", "Version=2016-11-15", *(f"{k}={v}" for k, v in params.items())])
            signed = botocore.awsrequest.AWSRequest(
                "POST", "http://127.0.0.1/services/Cloud", data=body,
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
            botocore.auth.SigV4Auth(credentials, "ec2", "nova").add_auth(signed)
            request = webob.Request.blank("/services/Cloud", method="POST", body=body.encode(),
                                          headers=dict(signed.headers.items()))
            request.host = "127.0.0.1"
            response = request.get_response(app)
            assert response.status_int == 200, response.body[:300]
            return response.body

    call()  # warm: credentials, statement caches
    if mode == "time":
        for _ in range(5):
            wall, used = time.perf_counter(), cpu()
            size = len(call())
            print(f"wall {1000 * (time.perf_counter() - wall):7.1f} ms  cpu {1000 * (cpu() - used):7.1f} ms  "
                  f"{size} bytes")
        return
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    call()
    profile.disable()
    pstats.Stats(profile).sort_stats(mode).print_stats(40)


if __name__ == "__main__":
    main()
