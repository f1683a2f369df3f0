"""``AllocationEnv``: the SimPy allocation network as a Gymnasium environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from allocsim.envs.demand import DemandProfile
from allocsim.envs.guardrails import Trim
from allocsim.envs.model import SupplyChainModel
from allocsim.envs.network import Network
from allocsim.envs.observation import ObservationLayout
from allocsim.envs.reward import WeightedReward
from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.envs.state import AllocationState


class AllocationEnv(gym.Env[NDArray[np.float32], NDArray[np.float32]]):
    """Split scarce stock from a distribution centre across locations, period by period.

    ## Description
    A DC holds stock of several SKUs; stores, e-commerce centres and wholesale
    points sell it to channels with different prices, priorities and shortage
    rules. Each step is one period: receipts arrive, the policy allocates the DC's
    available stock (and, where the scenario allows, moves stock between
    locations and orders from the supplier), demand is served FIFO from local
    stock, and the period closes with holding cost, aging, expiry and accounting.

    ## Action Space
    ``Box(-1, 1, (n,), float32)``; see ``allocsim.envs.actions`` for the blocks
    (allocation weights per SKU and destination incl. keep-at-DC, transfers,
    supplier orders). NaN, inf or a wrong shape raise ``ValueError``; values
    outside ``[-1, 1]`` are clipped as for any Box action.

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

    ## Arguments
    ``scenario``: preset name, YAML path or ``Scenario``; ``reward_weights``:
    overrides the scenario's objective weights; ``render_mode``: ``None`` or ``"ansi"``.
    ``reset(seed=k)`` draws the episode's demand from ``k`` alone (common random numbers).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        scenario: str | Path | Scenario = "retail-small",
        reward_weights: dict[str, float] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not one of {self.metadata['render_modes']}")
        self.scenario = load_scenario(scenario)
        self.network = Network.compile(self.scenario)
        self.profile = DemandProfile.build(self.network)
        self.model = SupplyChainModel(self.network, self.profile)
        self.action_layout = self.model.layout
        self.observation_layout = ObservationLayout(self.network, self.profile)
        objective = self.scenario.objective
        self.reward_function = WeightedReward(reward_weights or objective.weights, objective.scale)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(self.action_layout.size,), dtype=np.float32)
        self.observation_space = self.observation_layout.space()
        self.render_mode = render_mode
        self.episode_seed: int | None = None
        self._log_seen = 0
        self._started = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        self.episode_seed = int(seed) if seed is not None else int(self.np_random.integers(2**62))
        self.model.reset(self.episode_seed)
        self._log_seen = 0
        self._started = True
        return self._observe(), {"period": 0, "episode_seed": self.episode_seed}

    def step(
        self, action: NDArray[np.float32]
    ) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        period = self.model.period
        outcome = self.model.submit(action)
        reward = float(self.reward_function(outcome.components))
        self.model.accounts.reward += reward
        terminated = self.model.finished
        trims = self.model.log.trims
        info: dict[str, Any] = {
            "period": period,
            "reward_components": outcome.components,
            "kpis": outcome.kpis,
            "decision_log": trims[self._log_seen :],
        }
        self._log_seen = len(trims)
        if terminated:
            info["episode_kpis"] = self.kpis()
        return self._observe(), reward, terminated, False, info

    def _observe(self) -> NDArray[np.float32]:
        return self.observation_layout.build(self.model)

    # ------------------------------------------------------------- for users
    @property
    def state(self) -> AllocationState:
        """The structured state for rule-based policies (copies, safe to keep)."""
        layout = self.observation_layout
        open_orders = layout.open_orders(self.model.episode.demand, self.model.period)
        return AllocationState.of(self.model, open_orders)

    def kpis(self) -> dict[str, Any]:
        """The episode's KPIs so far, with ``by_channel`` and ``by_location`` breakdowns."""
        return self.model.accounts.kpis()

    def decision_log(self) -> list[Trim]:
        """Every guardrail trim of the episode so far."""
        return list(self.model.log.trims)

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        m = self.model
        lines = [f"period {m.period}/{self.network.periods}  DC on hand {m.dc.sum(axis=0).tolist()}"]
        for name, row in zip(self.network.locations, m.stock.sum(axis=0), strict=True):
            lines.append(f"  {name:>16}: {row.tolist()}")
        return "\n".join(lines)
