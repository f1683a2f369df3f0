"""``AllocationEnv``: the allocation network as a Gymnasium environment, one episode at a time."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import simpy
from gymnasium import spaces
from numpy.typing import NDArray

from allocsim.envs.action_modes import TargetsMode, make_action_mode
from allocsim.envs.actions import FloatArray, Fractions, not_finite
from allocsim.envs.demand import DemandProfile
from allocsim.envs.engine.core import BatchEngine, step_record_dicts
from allocsim.envs.engine.log import period_trims
from allocsim.envs.engine.single_step import SharesStep
from allocsim.envs.engine.state import EngineState
from allocsim.envs.engine.targets_step import TargetsStep
from allocsim.envs.events import EventHook, EventPeriod
from allocsim.envs.guardrails import Decision, Trim
from allocsim.envs.network import Network
from allocsim.envs.render import NetworkPicture, ansi
from allocsim.envs.reward import WeightedReward
from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.envs.state import AllocationState
from allocsim.envs.step_info import StepInfo


def _lazy_entries(record: NDArray[np.float64], log: tuple[Any, ...] | None) -> dict[str, Any]:
    """The info's ``reward_components``, ``kpis`` and ``decision_log`` from snapshots of the period's
    record and log rows (``period_trims``' arguments; None when no guardrail changed the decision)."""
    components, kpis = step_record_dicts(record)
    return {"reward_components": components, "kpis": kpis, "decision_log": period_trims(*log) if log else []}


class _Decision(simpy.Event):
    """The policy's decision for the period, delivered ``delay`` after it is taken (the period's
    length in aggregated mode, so the clock needs no second event per period): its fractions, or
    in aggregated mode the action itself (decoded in the period's compiled call)."""

    def deliver(self, frac: Fractions | FloatArray, delay: float) -> None:
        self._ok, self._value = True, frac  # as ``Event.succeed``, with a delay
        self.env.schedule(self, delay=delay)


class AllocationEnv(gym.Env[NDArray[np.float32], NDArray[np.float32]]):
    """Split scarce stock from a distribution centre across locations, period by period.

    ## Description
    A DC holds stock of several SKUs; stores, e-commerce centres and wholesale
    points sell it to channels with different prices, priorities and shortage
    rules. Each step is one period: receipts arrive, the policy allocates the DC's
    available stock (and, where the scenario allows, moves stock between
    locations and orders from the supplier), demand is served FIFO from local
    stock, and the period closes with holding cost, aging, expiry and accounting.
    The period cycle is a SimPy process on a SimPy clock (period ``t`` occupies
    ``[t, t + 1)``; in aggregated mode one event per period); its arithmetic runs in one
    call of the compiled kernels of ``allocsim.envs.engine`` per step, on a batch of one,
    the same code the vector env runs (in aggregated mode the action's checks and decode are in
    that call too: ``allocsim.envs.engine.single_step`` and ``targets_step``).

    ## Action Space
    ``Box(-1, 1, (n,), float32)``; its meaning is the ``action_mode``
    (``allocsim.envs.action_modes``): by default ``shares`` (``allocsim.envs.actions``:
    allocation weights per SKU and destination incl. keep-at-DC, transfers, supplier
    orders), or order-up-to ``targets``, or a ``residual`` around the base-stock rule.
    ``env.unwrapped.action_layout`` stays the ``shares`` layout rules encode into.
    NaN, inf or a wrong shape raise ``ValueError``; values outside ``[-1, 1]`` are
    clipped as for any Box action.

    ## Observation Space
    ``Box(-1, 10, (m,), float32)``, normalised by a week of expected demand; the
    layout is in ``allocsim.envs.observation`` and ``env.unwrapped.observation_layout``.
    Rule-based policies read ``env.unwrapped.state`` (an ``AllocationState``) instead.

    ## Rewards
    Weighted sum of named components (``allocsim.envs.reward``); the default is the
    period's profit contribution, so the episode return equals the profit KPI.

    ## Episode End
    ``terminated`` after the scenario's last period (the horizon is part of the
    problem: leftover stock is revalued to salvage then). ``truncated`` is never
    set by the env itself; wrap it in ``TimeLimit`` for shorter episodes.

    ## State
    ``get_state()`` returns the whole episode as one value (an ``EngineState``, a deep
    copy); ``set_state(state)`` restores it, after which the same actions replay the
    same future. ``copy.deepcopy(env)`` and ``pickle`` work at any point.

    ## Arguments
    ``scenario``: preset name, YAML path or ``Scenario``; ``action_mode``: ``"shares"`` (default),
    ``"targets"`` or ``"residual"`` (``allocsim.envs.action_modes``; ``residual_around``: the
    base-stock parameters a residual action adjusts around); ``timing``: ``"aggregated"`` or
    ``"events"`` overrides the scenario's ``timing.mode`` (events: orders and receipts through
    the period as SimPy events, ``allocsim.envs.events``; ``event_hook`` is called after each
    event, for checks); ``reward_weights``:
    overrides the scenario's objective weights; ``render_mode``: ``None``, ``"ansi"`` (text) or
    ``"rgb_array"`` (a picture of stock against capacity, in transit, DC stock and backlog;
    ``allocsim.envs.render``), so stable-baselines3 and RL Zoo can make it from its id.
    ``reset(seed=k)`` draws the episode's demand from ``k`` alone (common random numbers).
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        scenario: str | Path | Scenario = "retail-small",
        reward_weights: dict[str, float] | None = None,
        render_mode: str | None = None,
        action_mode: str = "shares",
        residual_around: Mapping[str, float] | None = None,
        timing: str | None = None,
        event_hook: EventHook | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not one of {self.metadata['render_modes']}")
        self.scenario = load_scenario(scenario, timing)
        self.network = Network.compile(self.scenario)
        self.profile = DemandProfile.build(self.network)
        objective = self.scenario.objective
        self.reward_function = WeightedReward(reward_weights or objective.weights, objective.scale)
        self.engine = BatchEngine(self.network, self.profile, self.reward_function.weights, 1.0, batch=1,
                                  keep_log=True)
        self.events = (EventPeriod(self.engine, self.network, event_hook)
                       if self.scenario.timing.mode == "events" else None)
        self.action_layout = self.engine.actions
        self.action_mode = make_action_mode(action_mode, self.network, residual_around)
        # aggregated steps: the action's checks, its decode and the period in one compiled call
        self._step = None if self.events is not None else (
            TargetsStep(self.engine, self.action_mode) if isinstance(self.action_mode, TargetsMode)
            else SharesStep(self.engine, self.action_mode.shares))
        self._bad_entry = -1  # the NaN or infinite entry that stopped the last one-call step, or -1
        self.observation_layout = self.engine.observation
        self.action_space = spaces.Box(-1.0, 1.0, shape=(self.action_mode.size,), dtype=np.float32)
        self.observation_space = self.observation_layout.space()
        self.render_mode = render_mode
        self.episode_seed: int | None = None
        self._clock: simpy.Environment | None = None
        self._decision: simpy.Event | None = None
        self._picture: NetworkPicture | None = None  # made on the first rgb_array render, then reused

    # ------------------------------------------------------------ the clock
    def _cycle(self, start: int) -> Generator[simpy.Event, Any, None]:
        """The period cycle as a SimPy process: the decision, then the period.

        Aggregated mode: one event per period, the decision, delivered at the period's end;
        the period, its close and the next period's receipts and observation are then one
        compiled call (with the action's checks and decode: a NaN or infinite
        entry stops the process with nothing run, and ``step`` restarts the clock and raises).
        Events mode: the decision at the period's start, then orders and receipts through the
        period as SimPy events, closed at its end.
        """
        assert self._clock is not None
        for period in range(start, self.network.periods):
            if self.events is not None and period > start:
                self.engine.begin_period(period)
            self._decision = _Decision(self._clock)
            decided = yield self._decision
            if self.events is not None:
                yield from self.events.run(self._clock, decided)
            elif self._step is not None:
                self._bad_entry = self._step(decided)
                if self._bad_entry >= 0:
                    return
            else:
                self.engine.run_period(decided)

    def _start_clock(self) -> None:
        """A SimPy clock at the state's period, its process waiting for that period's decision."""
        self._decision = None
        period = int(self.engine.state.period[0])
        self._clock = simpy.Environment(initial_time=period)
        if not self.engine.state.done[0]:
            self._clock.process(self._cycle(period))
            self._run_until_decision()

    def _run_until_decision(self) -> None:
        """Run the clock until the cycle waits for a decision or the episode is over (no events left)."""
        assert self._clock is not None
        step = self._clock.step
        try:
            while self._decision is None:
                step()
        except simpy.core.EmptySchedule:
            pass

    # ----------------------------------------------------------- Gymnasium
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        self.episode_seed = int(seed) if seed is not None else int(self.np_random.integers(2**62))
        self.engine.reset_copies([0], [self.episode_seed])
        self._start_clock()
        return self.engine.obs[0].copy(), {"period": 0, "episode_seed": self.episode_seed}

    def step(
        self, action: NDArray[np.float32]
    ) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        if self._clock is None:
            raise RuntimeError("call reset() before step()")
        if self._decision is None:
            raise RuntimeError("the episode is over; call reset() first")
        period = int(self.engine.state.period[0])
        decided = self._step.action(action) if self._step else self._fractions(action)
        event, self._decision = self._decision, None
        event.deliver(decided, 0.0 if self.events is not None else 1.0)
        self._run_until_decision()
        if self._bad_entry >= 0:  # nothing ran: the clock again at this period, then the error
            bad, self._bad_entry = self._bad_entry, -1
            self._start_clock()
            raise not_finite(decided, bad)
        s = self.engine.state
        reward = float(self.engine.work.reward[0])
        terminated = bool(s.done[0])
        record = s.step_record[0].copy()  # the snapshots the lazy entries are built from
        flags = int(s.log_flags[0, period])
        log = (period, flags, s.log_allocation[0, period].copy(), s.log_transfers[0, period].copy(),
               s.log_orders[0, period].copy()) if flags else None
        info = StepInfo({"period": period}, lambda: _lazy_entries(record, log))
        if terminated:
            info["episode_kpis"] = self.kpis()
        return self.engine.obs[0].copy(), reward, terminated, False, info

    def _fractions(self, action: object) -> Fractions:
        """The action, validated, decoded by the env's action mode for the one copy."""
        return self.action_mode.fractions(self.engine, self.action_mode.validate(action)[None])

    # --------------------------------------------------------- state as a value
    def get_state(self) -> EngineState:
        """The whole episode as one value (a deep copy, safe to keep)."""
        return self.engine.state.copy()

    def set_state(self, state: EngineState) -> NDArray[np.float32]:
        """Restore an episode from ``get_state()``; returns its current observation."""
        self.engine.state.restore(state)
        self.episode_seed = int(state.seed[0])
        self.engine.observe()
        self._start_clock()
        return self.engine.obs[0].copy()

    def __getstate__(self) -> dict[str, Any]:
        """Everything but the SimPy clock, which holds a generator and is rebuilt from the state."""
        rebuilt = ("_clock", "_decision", "_picture")
        return {k: v for k, v in self.__dict__.items() if k not in rebuilt}

    def __setstate__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        self._clock, self._decision, self._picture = None, None, None
        if self.episode_seed is not None:
            self._start_clock()

    # ------------------------------------------------------------- for users
    @property
    def state(self) -> AllocationState:
        """The structured state for rule-based policies (copies, safe to keep)."""
        return AllocationState.of(self.engine)

    def last_period(self) -> dict[str, Any]:
        """The last closed period's own accounts: headline ``kpis`` (as in the step's info) and
        ``by_location`` (units requested, fulfilled and lost, stock value at cost; the DC last)."""
        return {"kpis": self.engine.step_record(0)[1], "by_location": self.engine.period_by_location(0)}

    def kpis(self) -> dict[str, Any]:
        """The episode's KPIs so far, with ``by_channel`` and ``by_location`` breakdowns."""
        return self.engine.kpis(0)

    def decision_log(self) -> list[Trim]:
        """Every guardrail trim of the episode so far."""
        return self.engine.decision_log(0)

    def preview(self, action: object, guardrails: bool = True) -> Decision:
        """The whole units ``action`` would move now, without stepping: after the guardrails, or as
        proposed before them (``guardrails=False``; orders then include the DC rule's own order)."""
        if self._decision is None:
            raise RuntimeError("no decision is pending; call reset() first")
        self.engine.preview(self._fractions(action))
        w, s, t = self.engine.work, self.engine.state, int(self.engine.state.period[0])
        if not guardrails:
            return Decision(allocation=s.log_allocation[0, t, 0].copy(),
                            transfers=s.log_transfers[0, t, 0].copy(), orders=s.log_orders[0, t, 0].copy(),
                            transfer_delay=np.zeros_like(w.delay[0]))
        return Decision(allocation=w.allocation[0].copy(), transfers=w.transfers[0].copy(),
                        orders=w.orders[0].copy(), transfer_delay=w.delay[0].copy())

    def units_accounted(self) -> tuple[int, int]:
        """(initial + received, on hand + in transit + sold + written off): equal at every period."""
        return self.engine.units_accounted(0)

    def render(self) -> str | NDArray[np.uint8] | None:
        """``ansi``: text; ``rgb_array``: an (H, W, 3) ``uint8`` picture of the network; else None."""
        if self.render_mode == "ansi":
            return ansi(self.state)
        if self.render_mode == "rgb_array":
            if self._picture is None:
                self._picture = NetworkPicture()
            return self._picture.draw(self.state, self.scenario.name)
        return None

    def close(self) -> None:
        if self._picture is not None:
            self._picture.close()
            self._picture = None
        super().close()
