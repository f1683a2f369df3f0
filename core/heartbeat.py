"""A long one-off wait that keeps talking: "still <doing> (<elapsed>)" every few seconds until it ends.

Used by the CLI's one-off costs (compiling the kernels, fitting a bound's penalty or prices) and by
training's start searches, so no stretch of a first run is silent for long. ``pause`` is the one
schedule of every heartbeat (these lines and ``experiments.progress``'s plain lines): 3 s at first
(the house standard: no wait over 3 s is silent), then a tenth of the time spent so far, 10 s at
most, so a minute's compile says so every 3-6 s and a half-hour fit every 10 s. Standard library only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

#: Seconds before the first "still ..." line, and the shortest gap between two.
FIRST = 3.0
#: The longest gap between two "still ..." lines.
HEARTBEAT = 10.0
T = TypeVar("T")


def pause(elapsed: float, first: float = FIRST, most: float = HEARTBEAT) -> float:
    """Seconds of silence allowed ``elapsed`` seconds into a wait: a tenth of it, within [first, most]."""
    return max(first, min(elapsed / 10.0, most))


def with_heartbeat(say: Callable[[str], object], doing: str, work: Callable[[], T],
                   every: float | None = None) -> T:
    """``work()``, while a daemon thread says "still <doing> (<elapsed> s)" on the ``pause`` schedule
    (every ``every`` seconds instead, when given)."""
    done = threading.Event()
    started = time.perf_counter()

    def beat() -> None:
        while not done.wait(every if every is not None else pause(time.perf_counter() - started)):
            say(f"  still {doing} ({time.perf_counter() - started:.0f} s)")

    thread = threading.Thread(target=beat, name="allocsim-heartbeat", daemon=True)
    thread.start()
    try:
        return work()
    finally:
        done.set()
        thread.join()
