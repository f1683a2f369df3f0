"""A long one-off wait that keeps talking: "still <doing> (<elapsed>)" every few seconds until it ends.

Used by the CLI's one-off costs (compiling the kernels, fitting a bound's penalty or prices) and by
training's start searches, so no stretch of a first run is silent for long. Standard library only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

#: Seconds between the "still ..." lines.
HEARTBEAT = 10.0
T = TypeVar("T")


def with_heartbeat(say: Callable[[str], object], doing: str, work: Callable[[], T],
                   every: float = HEARTBEAT) -> T:
    """``work()``, while a daemon thread says "still <doing> (<elapsed> s)" every ``every`` seconds."""
    done = threading.Event()
    started = time.perf_counter()

    def beat() -> None:
        while not done.wait(every):
            say(f"  still {doing} ({time.perf_counter() - started:.0f} s)")

    thread = threading.Thread(target=beat, name="allocsim-heartbeat", daemon=True)
    thread.start()
    try:
        return work()
    finally:
        done.set()
        thread.join()
