"""Where boots wait: the steps of each boot from a cloud_bench run's JSON logs, as p50/p95/mean.

    python3 bench/cloud_bench.py --clients 50 --seconds 15 --flag=--log_format=json --flag=--verbose --keep
    python3 bench/profile/boot_timeline.py /tmp/nova-cloud-bench-XXXX

Lines of every daemon's log are grouped by request id; a boot is a request id
that reached nova-compute's run_instance.  The steps are wall-clock gaps
between log lines of different processes on one machine (millisecond stamps):

  api start     nova-api read the request (the access log's end minus its duration)
  auth          the signature was checked
  cast done     the instance rows were written and the cast to the scheduler confirmed
                ("Reservation ..." is logged after the cast)
  sched recv    the scheduler received run_instance
  comp recv     the chosen compute received it
  net recv      nova-network received allocate_for_instance (compute's call)
  net done      the address was allocated
  active        the instance is active (the bench sees it on its next poll)

"cast done -> sched recv" is often negative: the scheduler had the message
before nova-api's greenthread got the broker's confirm and ran again.
"""

from __future__ import annotations

import collections
import datetime
import glob
import json
import os
import re
import statistics
import sys

STEPS = ["api start", "auth", "cast done", "sched recv", "comp recv", "net recv", "net done", "active"]
_DURATION = re.compile(r"([\d.]+)s$")


def stamp(text: str) -> float:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def step_of(daemon: str, logger: str, message: str) -> tuple[str, float] | None:
    """(step, seconds to subtract from the line's time) for a line that marks a step."""
    if logger == "nova.wsgi" and message.startswith("127.0.0.1 POST") and (match := _DURATION.search(message)):
        return "api start", float(match.group(1))
    if daemon == "nova-api" and message.startswith("Authenticated"):
        return "auth", 0.0
    if daemon == "nova-api" and message.startswith("Reservation"):
        return "cast done", 0.0
    if daemon == "nova-scheduler" and message.endswith("received run_instance"):
        return "sched recv", 0.0
    if daemon.startswith("nova-compute") and message.endswith("received run_instance"):
        return "comp recv", 0.0
    if daemon == "nova-network" and message.endswith("received allocate_for_instance"):
        return "net recv", 0.0
    if daemon == "nova-network" and message.startswith("Allocated"):
        return "net done", 0.0
    if daemon.startswith("nova-compute") and " is active on " in message:
        return "active", 0.0
    return None


def boots(state: str) -> list[dict[str, float]]:
    by_request: dict[str, dict[str, float]] = collections.defaultdict(dict)
    for path in glob.glob(os.path.join(state, "nova-*.log")):
        daemon = os.path.basename(path)[:-len(".log")]
        with open(path) as handle:
            for line in handle:
                if not line.startswith("{"):
                    continue
                record = json.loads(line)
                if record.get("request_id", "-") == "-":
                    continue
                found = step_of(daemon, record["logger"], record["message"])
                if found:
                    step, back = found
                    by_request[record["request_id"]].setdefault(step, stamp(record["time"]) - back)
    return [steps for steps in by_request.values() if all(step in steps for step in STEPS)]


def main() -> int:
    found = boots(sys.argv[1])
    print(f"{len(found)} boots with every step logged")
    if not found:
        return 1
    print(f"{'step':<26} {'p50':>8} {'p95':>8} {'mean':>8}   (ms)")
    pairs = list(zip(STEPS, STEPS[1:])) + [("api start", "active")]
    for first, then in pairs:
        gaps = sorted((boot[then] - boot[first]) * 1000 for boot in found)
        print(f"{first + ' -> ' + then:<26} {gaps[len(gaps) // 2]:8.0f} {gaps[int(len(gaps) * .95)]:8.0f} "
              f"{statistics.mean(gaps):8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
