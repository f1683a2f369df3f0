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


def _pool_worker(parent: int) -> None:
    """A pool worker: dies with its parent and leaves Ctrl-C to it (the parent stops the pool)."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class StoppablePool(ProcessPoolExecutor):
    """A pool whose ``with`` block, left by an error or Ctrl-C, kills its workers at once.

    ``ProcessPoolExecutor.__exit__`` waits for the running tasks, so an interrupted command would
    sit until every worker finished its chunk (minutes); here the workers are killed and the
    queued tasks dropped, and only then does the exception go on.
    """

    def __exit__(self, kind: Any, error: Any, trace: Any) -> bool | None:
        if kind is None:
            return super().__exit__(kind, error, trace)
        self.stop_now()
        return None

    def stop_now(self) -> None:
        """Kill every worker, drop queued tasks, and reap the workers."""
        workers = list((getattr(self, "_processes", None) or {}).values())
        for worker in workers:
            if worker.is_alive():
                worker.kill()
        self.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.join(timeout=1.0)


def process_pool(workers: int) -> StoppablePool:
    """A pool of ``workers`` processes (fork where available) that die with this process and stop
    at once when the ``with`` block is left by an error or Ctrl-C."""
    return StoppablePool(max_workers=workers, mp_context=pool_context(),
                         initializer=_pool_worker, initargs=(os.getpid(),))
