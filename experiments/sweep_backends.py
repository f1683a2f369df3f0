"""Where sweep cells run: one small interface, a registry of backends, no string dispatch.

A backend is a context manager that accepts cells and hands back outcomes as they
finish::

    with BACKENDS[name](BackendOptions(workers=2)) as backend:
        handle = backend.submit(fn, cell)            # at most backend.slots in flight
        for handle, outcome in backend.wait(pending):  # at least one finished
            ...

``fn(cell)`` returns an outcome dict (``sweep.run_cell`` catches a cell's own
errors); a worker that dies, or a task the backend loses, comes back as an
outcome with ``ok: False`` and the error, so the sweep goes on.

``local``  a ``concurrent.futures`` process pool (fork where available) whose workers die with the
           sweep, even on ``kill -9`` (``allocsim.core.processes``); never imports Ray.
``ray``    Ray core tasks, ``num_cpus=1`` per cell. Connects to ``--address`` or
           ``RAY_ADDRESS``; with neither, starts a local Ray instance (``workers`` CPUs,
           no dashboard, usage stats off) and shuts it down at the end. A Ray already
           initialised in this process is used as is and left running.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import Any, Protocol

from allocsim.core.processes import StoppablePool, process_pool

Outcome = dict[str, Any]
CellFn = Callable[[dict[str, Any]], Outcome]


class BackendError(ValueError):
    """A backend that cannot start (missing extra, unreachable cluster); one line."""


@dataclass(frozen=True)
class BackendOptions:
    workers: int | None = None  # processes (local) / CPUs of a local Ray instance; default: all
    address: str | None = None  # Ray cluster address; default: RAY_ADDRESS, else a local instance


class Backend(Protocol):
    name: str
    slots: int  # cells kept in flight

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: object) -> None: ...

    def submit(self, fn: CellFn, cell: dict[str, Any]) -> Any: ...

    def wait(self, pending: Collection[Any]) -> list[tuple[Any, Outcome]]: ...


def failure(err: BaseException) -> Outcome:
    """The outcome of a cell whose worker raised or died."""
    return {
        "ok": False,
        "error": f"{type(err).__name__}: {err}".strip(),
        "traceback": "".join(traceback.format_exception(err)),
    }


class LocalBackend:
    """A process pool on this machine; a pool broken by a dead worker is replaced and the sweep goes on."""

    name = "local"

    def __init__(self, options: BackendOptions) -> None:
        self.workers = max(1, options.workers or os.cpu_count() or 1)
        self.slots = 2 * self.workers
        self._pool: StoppablePool | None = None

    def _new_pool(self) -> StoppablePool:
        return process_pool(self.workers)

    def __enter__(self) -> LocalBackend:
        self._pool = self._new_pool()
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if self._pool is not None:
            if kind is None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            else:  # Ctrl-C or an error: the cells in flight are lost anyway, stop the workers now
                self._pool.stop_now()
            self._pool = None

    def submit(self, fn: CellFn, cell: dict[str, Any]) -> Future[Outcome]:
        assert self._pool is not None, "use the backend as a context manager"
        try:
            return self._pool.submit(fn, cell)
        except RuntimeError:  # the pool broke since the last wait: start a fresh one
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(fn, cell)

    def wait(self, pending: Collection[Future[Outcome]]) -> list[tuple[Future[Outcome], Outcome]]:
        done, _ = wait_futures(pending, return_when=FIRST_COMPLETED)
        out = []
        for future in done:
            try:
                out.append((future, future.result()))
            except Exception as err:  # BrokenProcessPool: a worker died with this cell in flight
                out.append((future, failure(err)))
        return out


class RayBackend:
    """Ray core tasks (``num_cpus=1`` each), on a cluster or on a local instance started for the sweep."""

    name = "ray"

    def __init__(self, options: BackendOptions) -> None:
        self.options = options
        self.slots = 2 * max(1, options.workers or os.cpu_count() or 1)
        self._started = False
        self._ray: Any = None
        self._remote: dict[CellFn, Any] = {}

    def __enter__(self) -> RayBackend:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
        try:
            import ray
        except ImportError:
            raise BackendError("the ray backend needs Ray: pip install 'allocsim[ray]'") from None
        self._ray = ray
        if not ray.is_initialized():
            address = self.options.address or os.environ.get("RAY_ADDRESS") or None
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None:
                kwargs["num_cpus"] = self.options.workers
            try:
                ray.init(address=address, **kwargs)
            except Exception as err:
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise BackendError(f"cannot start or reach Ray at {address or 'a local instance'}: "
                                   f"{first}") from None
            self._started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = 2 * max(1, cpus)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False

    def submit(self, fn: CellFn, cell: dict[str, Any]) -> Any:
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self._ray.remote(num_cpus=1, max_retries=0)(fn)
        return remote.remote(cell)

    def wait(self, pending: Collection[Any]) -> list[tuple[Any, Outcome]]:
        ready, _ = self._ray.wait(list(pending), num_returns=1)
        out = []
        for ref in ready:
            try:
                out.append((ref, self._ray.get(ref)))
            except Exception as err:  # the worker died, or the task was lost with its node
                out.append((ref, failure(err)))
        return out


#: Backends by name: ``--backend`` looks its value up here.
BACKENDS: dict[str, Callable[[BackendOptions], Backend]] = {"local": LocalBackend, "ray": RayBackend}


def make_backend(name: str, options: BackendOptions) -> Backend:
    """The backend called ``name``; BackendError listing the valid names otherwise."""
    factory = BACKENDS.get(name)
    if factory is None:
        raise BackendError(f"unknown backend {name!r}; valid: {', '.join(BACKENDS)}")
    return factory(options)
