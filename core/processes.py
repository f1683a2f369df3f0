"""Worker processes that never outlive the process that started them, even after its ``kill -9``.

A ``ProcessPoolExecutor`` worker forked from the CLI inherits the write end of its own
task pipe, so it never sees end-of-file when the CLI dies and would wait on the pipe
for ever. On Linux, ``die_with_parent`` asks the kernel (``prctl(PR_SET_PDEATHSIG,
SIGKILL)``) to kill the worker the moment its parent goes; ``process_pool`` is the one
pool every parallel job here uses (evaluation, bounds, sweeps). Elsewhere the calls are
no-ops and a worker lives until its pipe closes.

The signal follows the parent *thread* that created the worker: pools must be created
from a thread that lives as long as the pool (the main thread, here).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent: int | None = None) -> None:
    """Have this process killed when its parent dies (Linux); exit now if ``parent`` already died.

    ``parent`` is the pid the caller expects as parent; when it is no longer the parent
    (it died between the fork and this call) the process exits at once.
    """
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        return  # not allowed here (unusual sandbox): the pipe's end-of-file is the fallback
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def pool_context() -> Any:
    """Fork where the platform has it (workers inherit imports), the default start method elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes (fork where available) that die with this process."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(),
                               initializer=die_with_parent, initargs=(os.getpid(),))
