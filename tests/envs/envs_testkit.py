"""Helpers shared by the envs tests: cached envs, action styles, episode runner, invariants."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.engine.state import EngineState
from allocsim.envs.network import Network
from allocsim.envs.scenario import preset_names

PRESETS = preset_names()

# How a test episode picks its actions; "hold-release" keeps everything at the DC for
# ``hold`` periods and then ships all of it, which ages stock before it moves.
STYLES = ("uniform", "sparse", "flood", "hold-release", "wild")


@functools.cache
def cached_env(name: str) -> AllocationEnv:
    """One env per preset and process; ``reset`` starts every episode afresh."""
    return AllocationEnv(name)


def keep_action(env: AllocationEnv) -> np.ndarray:
    """Keep every unit at the DC: no shipments, no transfers, smallest orders."""
    return -np.ones(env.action_space.shape, dtype=np.float32)


def release_action(env: AllocationEnv) -> np.ndarray:
    """Ship all available DC stock, split evenly over the locations, nothing kept."""
    layout, net = env.action_layout, env.network
    action = keep_action(env)
    alloc = action[layout.allocation].reshape(net.n_skus, net.n_locations + 1)
    alloc[:, :-1] = 1.0
    action[layout.allocation] = alloc.ravel()
    return action


def make_action(
    env: AllocationEnv, rng: np.random.Generator, style: str, period: int, hold: int
) -> np.ndarray:
    """One action of the given style (values may lie outside [-1, 1]: the env clips)."""
    size = env.action_space.shape[0]
    if style == "uniform":
        return rng.uniform(-1.0, 1.0, size).astype(np.float32)
    if style == "sparse":
        action = keep_action(env)
        chosen = rng.random(size) < 0.3
        action[chosen] = rng.uniform(-1.0, 1.0, int(chosen.sum()))
        return action
    if style == "flood":
        return np.ones(size, dtype=np.float32)
    if style == "hold-release":
        return keep_action(env) if period < hold else release_action(env)
    if style == "wild":
        return rng.uniform(-3.0, 3.0, size).astype(np.float32)
    raise ValueError(style)


def check_state(env: AllocationEnv) -> None:
    """Invariants that hold whenever the policy can observe the world."""
    check_copy(env.get_state(), 0, env.network)


def check_copy(state: EngineState, b: int, net: Network) -> None:
    """Conservation, no negative stock and capacity for copy ``b`` of an engine state."""
    period = int(state.period[b])
    initial, received, sold, written_off = (int(x) for x in state.units[b])
    held = int(state.dc[b].sum() + state.stock[b].sum() + state.inbound[b].sum())
    ages = np.arange(state.stock.shape[-1])
    kept = {"dc_on_hand": state.dc[b].sum(axis=-1), "on_hand": state.stock[b].sum(axis=-1),
            "age_weight": state.stock[b] @ ages, "waiting": state.backlog[b].sum(axis=-1),
            "units_by_age": state.stock[b].sum(axis=(0, 1)) + state.dc[b].sum(axis=0),
            "transit_lane": state.transit[b].sum(axis=-1)}
    for name, derived in kept.items():  # the totals kept beside the cohorts never drift
        assert np.array_equal(getattr(state, name)[b], derived), f"period {period}: total {name} drifted"
    assert initial + received == held + sold + written_off, (
        f"period {period}: initial + received {initial + received} != "
        f"on hand + in transit + sold + written off {held + sold + written_off}"
    )
    assert state.transit[b].sum() == state.inbound[b].sum(), f"period {period}: transit ring != inbound"
    for name in ("dc", "stock", "inbound", "backlog", "on_order", "transit"):
        arr = getattr(state, name)[b]
        assert (arr >= 0).all(), f"period {period}: negative entries in {name}: {arr.min()}"
    occupied = state.stock[b].sum(axis=(1, 2)) + state.inbound[b].sum(axis=1)
    over = occupied > net.capacity
    assert not over.any(), (
        f"period {period}: on hand + inbound {occupied[over]} above capacity "
        f"{net.capacity[over]} at {np.array(net.locations)[over]}"
    )


@dataclass
class Episode:
    """What a test episode recorded."""

    rewards: list[float] = field(default_factory=list)
    observations: list[np.ndarray] = field(default_factory=list)
    infos: list[dict[str, Any]] = field(default_factory=list)
    kpis: dict[str, Any] = field(default_factory=dict)


def run_episode(
    env: AllocationEnv,
    seed: int,
    policy: Callable[[int], np.ndarray],
    check: Callable[[AllocationEnv], None] | None = None,
) -> Episode:
    """Play one episode on ``seed``; ``policy(period)`` gives the action."""
    obs, _ = env.reset(seed=seed)
    episode = Episode(observations=[obs])
    if check is not None:
        check(env)
    period = 0
    terminated = False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(policy(period))
        assert truncated is False
        assert info["period"] == period
        assert terminated == (period == env.network.periods - 1)
        assert obs.dtype == np.float32 and env.observation_space.contains(obs), (
            f"period {period}: observation outside the observation space"
        )
        episode.rewards.append(reward)
        episode.observations.append(obs)
        episode.infos.append(info)
        if check is not None:
            check(env)
        period += 1
        assert period <= env.network.periods, "episode did not terminate at the horizon"
    assert period == env.network.periods
    episode.kpis = env.kpis()
    return episode


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Exact equality of nested dicts / lists / arrays / numbers, NaN equal to NaN."""
    if isinstance(a, dict):
        assert isinstance(b, dict), f"{where}: dict vs {type(b).__name__}"
        assert a.keys() == b.keys(), f"{where}: keys {sorted(a)} vs {sorted(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple) and not isinstance(a, EngineState):
        assert isinstance(b, list | tuple) and len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for j, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{j}]")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert np.array_equal(a, b, equal_nan=np.asarray(a).dtype.kind == "f"), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), f"{where}: nan != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
