"""First-come-first-served service of single orders on the engine's own state (a batch of one).

The arithmetic is compiled (``allocsim.envs.engine.desk``, the engine's rules one order at
a time); this class keeps its machine-code entries so that an order costs one call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from allocsim.envs.engine.core import BatchEngine
from allocsim.envs.engine.desk import make_desk, serve_backorders, serve_order
from allocsim.envs.engine.kernels import compiled_entry


def _entry(kernel: Any, args: tuple[Any, ...]) -> Callable[..., int]:
    """The machine code of ``kernel`` for ``args``' types, compiled (or loaded) without a call."""
    kernel.compile(tuple(kernel.typeof_pyval(a) for a in args))
    return compiled_entry(kernel, args)


class OrderDesk:
    """Serves orders and waiting backorders of copy 0 of ``engine`` as they happen."""

    def __init__(self, engine: BatchEngine, orders: int = 0) -> None:
        self.engine = engine
        self.desk = make_desk(engine.params, engine.state, engine.work)
        self._order = _entry(serve_order, (self.desk, 0, 0, 0, 0))
        self._backorders = _entry(serve_backorders, (self.desk, 0))
        self.orders = orders  # orders served since this desk was made

    def __getstate__(self) -> dict[str, Any]:
        """The desk's views and machine code are rebuilt over the engine a copy or pickle brings."""
        return {"engine": self.engine, "orders": self.orders}

    def __setstate__(self, values: dict[str, Any]) -> None:
        self.__init__(values["engine"], values["orders"])  # type: ignore[misc]

    def open_period(self) -> None:
        """Zero the period's service accounts (what the engine's batch serve would overwrite)."""
        d = self.desk
        d.served[...] = 0
        d.lost[...] = 0
        d.markdown[...] = 0.0
        d.unmet[...] = 0

    def order(self, loc: int, k: int, c: int, units: int) -> int:
        """Serve one order (see ``desk.serve_order``); returns the units served."""
        self.orders += 1
        return int(self._order(self.desk, loc, k, c, units))

    def serve_order(self) -> Callable[[int, int, int, int], int]:
        """``order`` without its bookkeeping, for the customers' loop: (loc, k, c, units) -> served.
        The caller counts the orders in ``self.orders``."""
        entry, desk = self._order, self.desk
        return functools.partial(entry, desk)

    def backorders(self, loc: int) -> int:
        """Serve the backorders waiting at ``loc`` (see ``desk.serve_backorders``); returns the units."""
        return int(self._backorders(self.desk, loc))
