"""First-come-first-served service of single orders on the engine's own state (a batch of one).

The rules are the engine's, called here one order at a time: the holdback rule
(``may_take`` over ``EngineState.protect``), oldest units issued first (``take_oldest`` /
``issue_oldest``) and the channel's backorder split (``backordered``, applied to the
period's cumulative unmet units so the period's split is the aggregated one). What an
order gets is written where the engine's serve writes it (``work.served``, ``lost``,
``markdown``, the backlog and the SOLD counter), so the engine's close books it unchanged.
"""

from __future__ import annotations

import numpy as np

from allocsim.envs.engine.core import BatchEngine
from allocsim.envs.engine.flows import issue_oldest, take_oldest
from allocsim.envs.engine.period import backordered, may_take
from allocsim.envs.engine.state import BACKORDERED, SOLD


class OrderDesk:
    """Serves orders and waiting backorders of copy 0 of ``engine`` as they happen."""

    def __init__(self, engine: BatchEngine) -> None:
        p, s, w = engine.params, engine.state, engine.work
        self.stock, self.backlog, self.protect = s.stock[0], s.backlog[0], s.protect[0]
        self.units, self.flows = s.units[0], s.flows[0]
        self.served, self.lost, self.markdown = w.served[0], w.lost[0], w.markdown[0]
        self.fraction = p.backorder_fraction.tolist()
        self.queues = [f > 0 for f in self.fraction]
        self.priority = p.priority.tolist()
        self.has_markdown = bool(p.has_markdown)
        self.discount = p.markdown  # (A, S) share of the price given up at each age
        self.price = p.price  # (S, C)
        self.taken = np.zeros(p.n_ages, dtype=np.int64)
        self.unmet = np.zeros_like(self.served)  # new units unmet so far this period, by lane
        self.orders = 0

    def open_period(self) -> None:
        """Zero the period's service accounts (the engine's serve would overwrite them)."""
        self.served[...] = 0
        self.lost[...] = 0
        self.markdown[...] = 0.0
        self.unmet[...] = 0

    def order(self, loc: int, k: int, c: int, units: int) -> int:
        """Serve one order of ``units`` from stock on hand now; unmet units are lost or backordered
        by the channel's rule. Returns the units served."""
        self.orders += 1
        row = self.stock[loc, k]
        got = int(may_take(int(row.sum()), int(self.protect[loc, k, c]), units))
        if got:
            self._issue(loc, k, c, got)
        unmet = units - got
        if unmet:
            fraction = self.fraction[c]
            before = self.unmet[loc, k, c]
            after = before + unmet
            self.unmet[loc, k, c] = after
            queued = int(backordered(after, fraction) - backordered(before, fraction)) if fraction > 0 else 0
            if queued:
                self.backlog[loc, k, c, 0] += queued
                self.flows[BACKORDERED, loc, c] += queued
            self.lost[loc, k, c] += unmet - queued
        return got

    def backorders(self, loc: int) -> int:
        """Serve the backorders waiting at ``loc`` from its stock now: oldest first, channels in
        priority order within an age, each under its holdback. Returns the units served."""
        served = 0
        n_ages = self.backlog.shape[3]
        for k in range(self.stock.shape[1]):
            waiting = self.backlog[loc, k]
            if not waiting.any():
                continue
            left = int(self.stock[loc, k].sum())
            for age in range(n_ages - 1, -1, -1):
                for c in self.priority:
                    count = int(waiting[c, age])
                    if not count or not self.queues[c]:
                        continue
                    got = int(may_take(left, int(self.protect[loc, k, c]), count))
                    if got:
                        waiting[c, age] -= got
                        self._issue(loc, k, c, got)
                        left -= got
                        served += got
        return served

    def _issue(self, loc: int, k: int, c: int, units: int) -> None:
        """Hand ``units`` of (loc, k) to channel ``c``, oldest first, at their markdown."""
        if self.has_markdown:
            take_oldest(self.stock[loc, k], units, self.taken)
            given_up = float(self.taken @ self.discount[:, k])
            self.markdown[loc, k, c] += given_up * self.price[k, c]
        else:
            issue_oldest(self.stock[loc, k], units)
        self.served[loc, k, c] += units
        self.units[SOLD] += units
