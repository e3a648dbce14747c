"""Pausing the cyclic garbage collector while a large response is built.

A listing of 10,000 instances makes hundreds of thousands of dicts, lists and
strings that all stay alive until the response is sent.  Each generation-0
collection they trigger promotes them, and the generation-2 collections that
follow re-scan every one: measured, a third of the time of building
DescribeInstances.  Nothing built there forms reference cycles, so pausing the
collector for that stretch loses nothing; the collector is restarted on the
way out (only by whoever paused it, so nested or concurrent pauses end with it
running).
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
