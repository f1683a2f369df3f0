"""``BatchEngine``: B copies of one scenario's world, stepped by compiled kernels.

The engine owns the parameters, the state (one value, ``EngineState``) and the
scratch arrays. Python does the continuous part of the decode (one compiled call,
``allocsim.envs.engine.decode``) except in the single env's aggregated step, where the check,
the decode and the period are one compiled call (``allocsim.envs.engine.single_step``, ``targets_step``);
every period's arithmetic, the draws of its demand, forecasts and leads included, runs in
``allocsim.envs.engine.kernels``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

from allocsim.envs.actions import ActionLayout, Fractions
from allocsim.envs.demand import DemandProfile
from allocsim.envs.engine import kernels
from allocsim.envs.engine.kpis import episode_kpis
from allocsim.envs.engine.log import decision_trims
from allocsim.envs.engine.params import PERIOD_KPIS, EngineParams, build_params
from allocsim.envs.engine.state import PERIOD_LOCATION, EngineState, allocate_state
from allocsim.envs.guardrails import Trim
from allocsim.envs.network import Network
from allocsim.envs.observation import ObservationLayout
from allocsim.envs.reward import COMPONENTS


def check_seed(seed: int) -> int:
    """``seed`` as the kernel keys its draws with: a whole number 0 .. 2**63 - 1 (ValueError otherwise)."""
    value = int(seed)
    if not 0 <= value < 2**63:
        raise ValueError(f"seed must be a whole number 0 .. 2**63 - 1, got {str(seed)[:40]}")
    return value


def thread_count(threads: bool | int) -> int:
    """Threads a batch is stepped on: ``False`` or 1 the calling thread alone; ``True`` one per CPU
    (``NUMBA_NUM_THREADS``); ``n`` that many (at most that). Results are the same for any count: the
    batch is cut into contiguous spans of copies, each run by the same compiled ``run_copies``, and no
    copy reads another's arrays."""
    pool = int(numba.config.NUMBA_NUM_THREADS)
    if isinstance(threads, bool | np.bool_):
        return pool if threads else 1
    if not isinstance(threads, int | np.integer) or not 1 <= threads <= pool:
        raise ValueError(f"threads must be True, False or a whole number 1..{pool} (NUMBA_NUM_THREADS), "
                         f"got {str(threads)[:40]!r}")
    return int(threads)


class BatchEngine:
    """``batch`` copies of the world of ``net``; ``reset_copies`` then ``step`` once per period."""

    def __init__(
        self,
        net: Network,
        profile: DemandProfile,
        reward_weights: dict[str, float],
        reward_scale: float,
        batch: int,
        keep_log: bool = False,
        threads: bool | int = False,
    ) -> None:
        self.net = net
        self.profile = profile
        self.threads = thread_count(threads)  # copies spread over this many threads (one compiled call still)
        self.actions = ActionLayout(net)
        self.observation = ObservationLayout(net, profile)
        self.params: EngineParams = build_params(
            net, profile, reward_weights, reward_scale, self.observation.dc_scale,
            self.observation.location_scale,
        )
        self.state: EngineState = allocate_state(self.params, batch, net.scenario.forecast.horizon, keep_log)
        self.work = kernels.allocate_work(self.params, batch)
        self.obs = np.zeros((batch, self.observation.size), dtype=np.float32)
        self.batch = batch
        n_s, n_l, n_k = net.n_skus, net.n_locations, net.n_lanes
        self._no_action = Fractions(np.zeros((batch, n_s, n_l + 1)), np.zeros((batch, n_k, n_s)),
                                    np.zeros((batch, n_s)))
        self._no_holdback = np.zeros((batch, n_l, n_s))  # for fractions without a holdback block
        self._all = np.ones(batch, dtype=np.bool_)
        # the kernel's compiled entry for these argument types, called without numba's type
        # dispatch (which re-types the parameter, state and work tuples on every call)
        self._entry: Callable[..., None] | None = None
        self._layout: tuple[tuple[Any, int, bool], ...] = ()
        self._pool: ThreadPoolExecutor | None = None  # threads - 1 workers, started on first use
        self._pool_pid = 0  # the process that started them

    def _run(self, phases: int, which: NDArray[np.bool_], frac: Fractions | None = None) -> None:
        f = frac or self._no_action
        holdback = self._no_holdback if f.holdback is None else f.holdback
        args = (self.params, self.state, self.work, phases, which, f.allocation, f.transfers, f.orders,
                holdback, self.obs)
        layout = tuple((a.dtype, a.ndim, a.flags.c_contiguous) for a in args[4:])
        if layout != self._layout or self._entry is None:
            kernels.run_copies(*args, 0, 0)  # numba's dispatch: compiles (or loads from its cache) once
            self._entry, self._layout = kernels.compiled_entry(kernels.run_copies, (*args, 0, 0)), layout
        if self.threads == 1:
            self._entry(*args, 0, self.batch)
        else:
            self._run_spans(args)
        if phases & kernels.OBSERVE:  # the opt-in block the kernel leaves out (allocsim.envs.observation)
            self.observation.write_known_orders(self.state, self.obs, which)

    def _run_spans(self, args: tuple[Any, ...]) -> None:
        # contiguous spans, one per thread: the pool's threads take all but the first, this thread that one
        n, cuts = self.threads, [self.batch * i // self.threads for i in range(self.threads + 1)]
        if self._pool is None or self._pool_pid != os.getpid():  # a forked child has no workers
            self._pool = ThreadPoolExecutor(n - 1, thread_name_prefix="allocsim-engine")
            self._pool_pid = os.getpid()
        spans = [self._pool.submit(self._entry, *args, cuts[i], cuts[i + 1]) for i in range(1, n)]
        self._entry(*args, cuts[0], cuts[1])
        for span in spans:
            span.result()

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles leave the compiled entry behind (found again on the first call)."""
        return {**self.__dict__, "_entry": None, "_layout": (), "_pool": None}

    # ------------------------------------------------------------- episodes
    def reset_copies(self, copies: Sequence[int], seeds: Sequence[int]) -> None:
        """Start a new episode in each of ``copies`` on the matching seed; observations in ``obs``.

        Nothing is drawn here: the kernel draws each period's demand, forecasts and supplier
        leads from the seed as the episode reaches them (``allocsim.envs.engine.draws``)."""
        which = np.zeros(self.batch, dtype=np.bool_)
        for b, seed in zip(copies, seeds, strict=True):
            self.state.seed[int(b)] = self.state.demand_seed[int(b)] = check_seed(seed)
            which[int(b)] = True
        self._run(kernels.RESET, which)

    def follow_future(self, copies: Sequence[int], seeds: Sequence[int]) -> None:
        """From their current period on, ``copies`` meet the demand and supplier leads of the episodes on
        ``seeds`` (the sampled futures of rollouts); their forecasts stay their own episode's."""
        which = np.zeros(self.batch, dtype=np.bool_)
        for b, seed in zip(copies, seeds, strict=True):
            self.state.demand_seed[int(b)] = check_seed(seed)
            which[int(b)] = True
        self._run(kernels.REDRAW, which)

    # ---------------------------------------------------------------- steps
    def fractions(self, actions: object) -> Fractions:
        """The batch's validated actions as fractions (the shared continuous decode)."""
        return self.actions.fractions(self.actions.validate_batch(actions, self.batch))

    def step(self, actions: object) -> NDArray[np.float64]:
        """One period for every copy not done; returns the rewards (observations in ``obs``)."""
        return self.step_fractions(self.fractions(actions))

    def step_fractions(self, frac: Fractions) -> NDArray[np.float64]:
        """``step`` from already decoded fractions (what an action mode other than shares hands over)."""
        self._run(kernels.STEP, ~self.state.done, frac)
        return self.work.reward

    # ------------------------------------------------------ the single env's period
    def begin_period(self, period: int) -> None:
        """Enter ``period``, the one after the closed period (every copy): draw what it brings into
        sight, book its receipts and observe (the events mode's start)."""
        if (self.state.period + 1 != period).any():
            raise ValueError(f"begin_period({period}): the copies are in period(s) "
                             f"{sorted(set(self.state.period.tolist()))}; a period is entered after the last")
        self._run(kernels.BEGIN, self._all)

    def run_period(self, frac: Fractions) -> None:
        """The current period of every copy and the start of the next in one compiled call: decide,
        dispatch, serve, close, then book the next period's receipts and observe (after the last
        period: observe the closed state)."""
        self._run(kernels.STEP, self._all, frac)

    # ------------------------------------ the events engine's pieces of a period
    def dispatch_decision(self, frac: Fractions) -> None:
        """Decide and dispatch the current period (the events engine then serves through it)."""
        self._run(kernels.DECIDE | kernels.DISPATCH, self._all, frac)

    def book(self, nodes: NDArray[np.bool_]) -> None:
        """Book now the current period's receipts at ``nodes`` (L + 1,) flagged True (DC last)."""
        self.work.book_node[:] = nodes
        self._run(kernels.BOOK, self._all)

    def serve_batch(self) -> None:
        """The aggregated service of the current period's demand (priority order, one batch)."""
        self._run(kernels.SERVE, self._all)

    def close_period(self) -> None:
        """Close the current period with what was served; after the last one, observe."""
        self._run(kernels.CLOSE | kernels.FINISH, self._all)
        if self.state.done.all():
            self._run(kernels.OBSERVE, self._all)

    def preview(self, frac: Fractions) -> None:
        """Whole units into ``work`` without stepping (the current period's log row is rewritten
        by the real step)."""
        self._run(kernels.DECIDE, self._all, frac)

    def rooms(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(capacity headroom (B, L), days-of-supply room (B, L, S)) now, clipped at 0; copies."""
        self._run(kernels.ROOMS, self._all)
        return np.maximum(self.work.headroom, 0), self.work.supply_room.copy()

    def observe(self) -> None:
        """Observations of every copy into ``obs`` (after a state was restored)."""
        self._run(kernels.OBSERVE, self._all)

    # --------------------------------------------------------------- reading
    def kpis(self, b: int, breakdowns: bool = True) -> dict[str, Any]:
        return episode_kpis(self.net, self.state, b, breakdowns)

    def decision_log(self, b: int, first: int = 0) -> list[Trim]:
        return decision_trims(self.state, b, first)

    def step_record(self, b: int) -> tuple[dict[str, float], dict[str, float]]:
        """(reward components, headline KPIs) of copy ``b``'s last closed period."""
        return step_record_dicts(self.state.step_record[b])

    def period_by_location(self, b: int) -> dict[str, dict[str, float]]:
        """Copy ``b``'s last closed period by location (the DC last): units and stock value at cost."""
        rows = self.state.period_location[b]
        names = [*self.net.locations, self.net.scenario.dc.name]
        return {name: dict(zip(PERIOD_LOCATION, map(float, rows[:, i]), strict=True))
                for i, name in enumerate(names)}

    def in_transit(self, b: int) -> NDArray[np.int64]:
        """(D, L, S): copy ``b``'s units in transit to each location by arrival, row ``h - 1`` arriving
        ``h`` periods from now (D = the longest a shipment to a location can travel, at least 1)."""
        p, lanes, t = self.params, self.state.transit_lane[b], int(self.state.period[b])
        reach = p.transit_slots - (p.receipt_late[:-1] & (p.transit_slots > 0))  # a late node's extra slot
        out = np.zeros((max(int(reach.max(initial=0)), 1), *self.state.inbound.shape[1:]), dtype=np.int64)
        for loc in np.flatnonzero(reach):
            for h in range(1, int(reach[loc]) + 1):
                out[h - 1, loc] = lanes[p.transit_start[loc] + (t + h) % p.transit_slots[loc]]
        return out

    def units_accounted(self, b: int) -> tuple[int, int]:
        """(initial + received, on hand + in transit + sold + written off): equal always."""
        s = self.state
        initial, received, sold, written_off = (int(x) for x in s.units[b])
        held = int(s.dc[b].sum() + s.stock[b].sum() + s.inbound[b].sum())
        return initial + received, held + sold + written_off


def step_record_dicts(record: NDArray[np.float64]) -> tuple[dict[str, float], dict[str, float]]:
    """(reward components, headline KPIs) from one copy's ``step_record`` row."""
    values = record.tolist()
    n = len(COMPONENTS)
    return dict(zip(COMPONENTS, values[:n], strict=True)), dict(zip(PERIOD_KPIS, values[n:], strict=True))
