"""The native vector env against the single env: copy ``i`` on seed ``k + i`` is the single env on that seed.

Every comparison is between two paths through the same kernels, so it is exact: the
observation, the reward, ``terminated``, the ``period`` info, and at each episode end
the full KPI dict. The presets are played with random, all -1, all +1 and rule
actions; generated scenarios (hypothesis) vary the features that change the period
cycle. The SAME_STEP autoreset and seed stream, Gymnasium's sync mode and bad
actions are checked last.

``ALLOCSIM_DIFF_EXAMPLES`` sets the number of generated scenarios (default 300).
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numba
import numpy as np
import pytest
from envs_testkit import PRESETS, STYLES, assert_same, check_copy, make_action
from gymnasium.vector import SyncVectorEnv
from gymnasium.vector.vector_env import AutoresetMode
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from allocsim.baselines.registry import make_policy
from allocsim.envs import ENV_ID
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.engine.state import EngineState
from allocsim.envs.network import BIG
from allocsim.envs.scenario import Scenario, scenario_from_dict
from allocsim.envs.vector_env import AllocationVectorEnv

DIFF_EXAMPLES = int(os.environ.get("ALLOCSIM_DIFF_EXAMPLES", "300"))
ACTION_KINDS = ("uniform", "minus-one", "plus-one", "proportional")

Obs = NDArray[np.float32]
Env = gym.Env[Any, Any]


# ------------------------------------------------------------------------ helpers
def assert_rows_equal(copy: EngineState, single: EngineState, where: str) -> None:
    """A vector copy's state and a single env's state equal array by array (the decision log aside:
    the vector env keeps none)."""
    for name, x, y in zip(EngineState._fields, copy, single, strict=True):
        if not name.startswith("log_"):
            assert np.array_equal(x, y), f"{where}: state.{name} differs"


def scalar_kpis(kpis: dict[str, Any]) -> dict[str, Any]:
    """The KPIs without the by_channel / by_location breakdowns (what final_info carries)."""
    return {k: v for k, v in kpis.items() if not isinstance(v, dict)}


def compare_step(
    i: int,
    single: tuple[Obs, float, bool, bool, dict[str, Any]],
    venv: AllocationVectorEnv,
    vector: tuple[Obs, NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]],
    single_env: Env,
) -> None:
    """Copy ``i`` of one vector step against one single-env step on the same action."""
    obs, reward, terminated, truncated, info = single
    v_obs, v_rew, v_term, v_trunc, v_info = vector
    period = info["period"]
    where = f"copy {i} period {period}"
    assert v_info["period"][i] == period, f"{where}: vector period {v_info['period'][i]}"
    assert v_rew[i] == reward, f"{where}: reward {v_rew[i]!r} != single {reward!r}"
    assert bool(v_term[i]) == terminated, f"{where}: terminated {v_term[i]} != {terminated}"
    assert bool(v_trunc[i]) == truncated
    if not terminated:
        assert "_final_obs" not in v_info or not v_info["_final_obs"][i], f"{where}: unexpected final_obs"
        differs = np.flatnonzero(v_obs[i] != obs)
        assert np.array_equal(v_obs[i], obs), f"{where}: observation differs at {differs}"
        assert_same(venv.kpis(i), single_env.unwrapped.kpis(), f"{where} kpis")
        assert_rows_equal(venv.engine.state.row(i), single_env.unwrapped.get_state(), where)
        components = {name: float(v[i]) for name, v in venv.reward_components().items()}
        assert_same(components, info["reward_components"], f"{where} reward_components")
        return
    assert v_info["_final_obs"][i] and v_info["_final_info"][i], f"{where}: final step not marked"
    final_obs = v_info["final_obs"][i]
    assert np.array_equal(final_obs, obs), f"{where}: final_obs differs at {np.flatnonzero(final_obs != obs)}"
    kpis = single_env.unwrapped.kpis()
    assert_same(venv.last_episode_kpis[i], kpis, f"{where} last_episode_kpis")
    assert_same(info["episode_kpis"], kpis, f"{where} single episode_kpis")
    episode_kpis = v_info["final_info"]["episode_kpis"]
    assert_same({k: float(episode_kpis[k][i]) for k in scalar_kpis(kpis)}, scalar_kpis(kpis),
                f"{where} final_info.episode_kpis")
    assert v_info["final_info"]["episode_seed"][i] == single_env.unwrapped.episode_seed


def check_copies(venv: AllocationVectorEnv) -> None:
    """``check_copy`` on every copy; capacity only binds when the scenario enforces it."""
    net = venv.network
    if not net.scenario.guardrails.enforce_capacity:
        net = dataclasses.replace(net, capacity=np.full_like(net.capacity, BIG))
    for b in range(venv.num_envs):
        check_copy(venv.engine.state, b, net)


def lockstep(
    venv: AllocationVectorEnv,
    singles: list[Env],
    base_seed: int,
    act: Callable[[int, int, Env, Obs], NDArray[np.float32]],
    check: bool = False,
) -> None:
    """One episode of every copy of ``venv`` beside ``singles[i]`` on seed ``base_seed + i``."""
    v_obs, v_info = venv.reset(seed=base_seed)
    observations = []
    for i, env in enumerate(singles):
        obs, _ = env.reset(seed=base_seed + i)
        assert np.array_equal(v_obs[i], obs), f"copy {i}: first observation differs"
        assert v_info["episode_seed"][i] == base_seed + i
        observations.append(obs)
    if check:
        check_copies(venv)
    periods = venv.network.periods
    for t in range(periods):
        actions = np.stack([act(i, t, env, observations[i]) for i, env in enumerate(singles)])
        results = [env.step(a) for env, a in zip(singles, actions, strict=True)]
        vector = venv.step(actions)
        for i, (result, env) in enumerate(zip(results, singles, strict=True)):
            compare_step(i, result, venv, vector, env)
            assert result[2] == (t == periods - 1)
            observations[i] = result[0]
        if check:
            check_copies(venv)


# -------------------------------------------------------------- (a) every preset
@pytest.mark.parametrize("kind", ACTION_KINDS)
@pytest.mark.parametrize("preset", PRESETS)
def test_every_copy_equals_the_single_env_on_presets(preset: str, kind: str) -> None:
    """Copy i of a vector env of 3 and a single env on seed k + i, the same actions: identical."""
    n = 3
    venv = gym.make_vec(ENV_ID, num_envs=n, scenario=preset)
    assert isinstance(venv, AllocationVectorEnv)
    singles = [gym.make(ENV_ID, scenario=preset) for _ in range(n)]
    size = venv.single_action_space.shape[0]
    rng = np.random.default_rng(PRESETS.index(preset) * 10 + ACTION_KINDS.index(kind))
    rules = [make_policy("proportional", env.unwrapped, seed=i) for i, env in enumerate(singles)]

    def act(i: int, t: int, env: Env, obs: Obs) -> NDArray[np.float32]:
        if kind == "uniform":
            return rng.uniform(-1.0, 1.0, size).astype(np.float32)
        if kind == "minus-one":
            return -np.ones(size, dtype=np.float32)
        if kind == "plus-one":
            return np.ones(size, dtype=np.float32)
        return np.asarray(rules[i].predict(obs)[0], dtype=np.float32)

    lockstep(venv, singles, 1000 + 17 * PRESETS.index(preset), act, check=True)
    venv.close()


# ------------------------------------------------------ (b) generated scenarios
NAME = st.sampled_from
money = st.floats(0.0, 5.0, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[int, str, str, str, int]] | None]:
    """A small scenario dict, and demand CSV rows to write when its demand is a replayed history."""
    periods = draw(st.integers(2, 16))
    skus = [f"s{i}" for i in range(draw(st.integers(1, 3)))]
    channels = [f"c{i}" for i in range(draw(st.integers(1, 3)))]
    n_locations = draw(st.integers(1, 3))
    locations = [f"l{i}" for i in range(n_locations)]

    sku_rows = []
    for sku in skus:
        cost = draw(st.integers(1, 20))
        row: dict[str, Any] = {
            "name": sku,
            "unit_cost": cost,
            "price": {c: round(cost * draw(st.floats(0.8, 3.0)), 2) for c in channels},
            "holding_cost": draw(money) / 5,
            "salvage_value": round(cost * draw(st.floats(0.0, 1.0)), 2),
        }
        if draw(st.booleans()):
            row["shelf_life"] = draw(st.integers(1, 8))
        ages = draw(st.lists(st.integers(0, 9), max_size=3, unique=True))
        row["markdown"] = [{"age": a, "discount": round(draw(st.floats(0.0, 0.9)), 2)} for a in sorted(ages)]
        sku_rows.append(row)

    channel_rows = []
    for name in channels:
        row = {
            "name": name,
            "unmet": draw(NAME(["lost", "backorder", "mix"])),
            "backorder_fraction": round(draw(st.floats(0.0, 1.0)), 2),
            "patience": draw(st.integers(1, 4)),
            "shortage_penalty": draw(money),
            "backorder_cost": draw(money) / 5,
            "priority": draw(st.integers(0, 3)),
            "receivable_days": draw(st.integers(0, 3)),
            "advance_notice": draw(st.integers(0, 2)),
        }
        if draw(st.integers(0, 2)) == 0:
            rights = draw(st.dictionaries(NAME(skus), st.integers(1, 8), min_size=1))
            row["contract"] = {"rights": rights, "penalty_per_unit_short": draw(money) * 4}
        channel_rows.append(row)

    location_rows = []
    serves: dict[str, list[str]] = {}
    for name in locations:
        served = draw(st.lists(NAME(channels), min_size=1, max_size=len(channels), unique=True))
        serves[name] = served
        stock = draw(st.dictionaries(NAME(skus), st.integers(0, 8)))
        row = {
            "name": name,
            "region": draw(NAME(["r0", "r1"])),
            "channels": served,
            "lead_time": draw(st.integers(0, 3)),
            "shipping_cost": draw(money) / 5,
            "initial_stock": stock,
        }
        if draw(st.booleans()):
            row["capacity"] = max(1, sum(stock.values()) + draw(st.integers(0, 30)))
        location_rows.append(row)

    lanes = []
    if n_locations >= 2:
        pairs = [(a, b) for a in locations for b in locations if a != b]
        for source, target in draw(st.lists(NAME(pairs), max_size=3, unique=True)):
            lane: dict[str, Any] = {"from": source, "to": target, "lead_time": draw(st.integers(0, 2)),
                                    "cost_per_unit": draw(money) / 5}
            if draw(st.booleans()):
                lane["approval_threshold"] = draw(st.integers(0, 5))
                lane["approval_delay"] = draw(st.integers(0, 3))
            lanes.append(lane)

    if draw(st.booleans()):
        low = draw(st.integers(0, 2))
        lead: dict[str, Any] = {"kind": "uniform", "low": low, "high": low + draw(st.integers(0, 3))}
    else:
        lead = {"kind": "fixed", "periods": draw(st.integers(0, 3))}
    rule = draw(NAME(["none", "base-stock", "min-max", "policy"]))
    levels = {s: draw(st.integers(0, 40)) for s in skus}
    replenishment: dict[str, Any] = {"rule": rule}
    if rule == "base-stock":
        replenishment["level"] = levels
    elif rule == "min-max":
        replenishment["min"] = levels
        replenishment["max"] = {s: v + draw(st.integers(0, 20)) for s, v in levels.items()}
    elif rule == "policy":
        replenishment["max_order"] = levels
    receipt = st.tuples(st.integers(0, periods - 1), NAME(skus), st.integers(0, 20))
    receipts = draw(st.lists(receipt, max_size=3))
    supplier = {
        "lead_time": lead,
        "capacity_per_period": draw(st.dictionaries(NAME(skus), st.integers(0, 30))),
        "payable_days": draw(st.integers(0, 3)),
        "inbound_schedule": [{"period": p, "sku": s, "quantity": q} for p, s, q in receipts],
        "replenishment": replenishment,
    }
    dc = {
        "initial_stock": {s: draw(st.integers(0, 40)) for s in skus},
        "safety_reserve": draw(st.dictionaries(NAME(skus), st.integers(0, 5))),
    }

    csv_rows = None
    if draw(st.integers(0, 3)) == 0:
        lane_keys = [(loc, c) for loc in locations for c in serves[loc]]
        csv_rows = [
            (p, s, loc, c, q)
            for p, s, (loc, c), q in draw(st.lists(
                st.tuples(st.integers(0, periods - 1), NAME(skus), NAME(lane_keys), st.integers(0, 8)),
                min_size=1, max_size=12,  # a header-only history is refused ("no demand rows")
            ))
        ]
        first = lane_keys[0]  # the history must reach the last period (a zero row where nothing sold)
        csv_rows.append((periods - 1, skus[0], first[0], first[1], 0))
        demand: dict[str, Any] = {"csv": "to be written"}
    else:
        streams = []
        for _ in range(draw(st.integers(1, 3))):
            loc = draw(NAME(["*", *locations]))
            options = ["*", *(serves[loc] if loc != "*" else channels)]
            stream: dict[str, Any] = {
                "sku": draw(NAME(["*", *skus])),
                "location": loc,
                "channel": draw(NAME(options)),
                "distribution": draw(NAME(["poisson", "negative_binomial", "normal"])),
                "mean": round(draw(st.floats(0.0, 6.0)), 2),
                "dispersion": round(draw(st.floats(0.5, 5.0)), 2),
                "cv": round(draw(st.floats(0.0, 1.0)), 2),
            }
            if draw(st.booleans()):
                start = draw(st.integers(0, periods - 1))
                stream["promotions"] = [{"start": start, "end": start + draw(st.integers(0, 3)),
                                         "lift": round(draw(st.floats(0.5, 3.0)), 2)}]
            streams.append(stream)
        demand = {"streams": streams,
                  "regional_scale": draw(st.dictionaries(NAME(["r0", "r1"]), st.floats(0.5, 2.0)))}
    demand["regional_scale"] = {
        r: v for r, v in demand.get("regional_scale", {}).items() if r in {x["region"] for x in location_rows}
    }

    guardrails: dict[str, Any] = {"enforce_capacity": draw(st.integers(0, 3)) > 0,
                                  "aging_goal": draw(st.integers(0, 10))}
    if draw(st.booleans()):
        guardrails["working_capital_cap"] = draw(st.integers(50, 3000))
    if draw(st.booleans()):
        guardrails["max_days_of_supply"] = round(draw(st.floats(0.5, 10.0)), 2)
    weights = draw(st.dictionaries(NAME(["profit", "lost_units", "inventory_value", "aged_units"]),
                                   st.floats(-2.0, 2.0).map(lambda x: round(x, 2)), min_size=1))
    data = {
        "name": "generated",
        "periods": periods,
        "skus": sku_rows,
        "channels": channel_rows,
        "supplier": supplier,
        "dc": dc,
        "locations": location_rows,
        "transfers": lanes,
        "demand": demand,
        "forecast": {"noise_cv": round(draw(st.floats(0.0, 0.5)), 2),
                     "bias": round(draw(st.floats(-0.5, 0.5)), 2), "horizon": draw(st.integers(1, 5))},
        "guardrails": guardrails,
        "objective": {"weights": weights, "scale": draw(NAME([1.0, 0.5, 0.01]))},
    }
    return data, csv_rows


_csv_names = itertools.count()


def build_scenario(folder: Path, data: dict[str, Any], csv_rows: list[tuple[Any, ...]] | None) -> Scenario:
    """Validate ``data``, first writing its demand history to a CSV in ``folder`` if it has one."""
    if csv_rows is not None:
        path = folder / f"demand-{next(_csv_names)}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["period", "sku", "location", "channel", "quantity"])
            writer.writerows(csv_rows)
        data = {**data, "demand": {"csv": str(path)}}
    return scenario_from_dict(data, source="generated")


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where generated scenarios write their demand CSVs (module-scoped: hypothesis reruns the test)."""
    return tmp_path_factory.mktemp("demand-csv")


@settings(max_examples=DIFF_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=scenarios(), seed=st.integers(0, 2**32 - 1), action_seed=st.integers(0, 2**32 - 1),
       style=st.sampled_from(STYLES), hold=st.integers(0, 12))
@pytest.mark.slow
def test_copies_equal_the_single_env_on_generated_scenarios(
    csv_folder: Path, case: tuple[dict[str, Any], Any], seed: int, action_seed: int, style: str, hold: int
) -> None:
    """Copies 0 and 1 of a vector env of 2 equal two single envs; every copy keeps the invariants."""
    scenario = build_scenario(csv_folder, *case)
    venv = AllocationVectorEnv(2, scenario)
    singles = [AllocationEnv(scenario) for _ in range(2)]
    rngs = [np.random.default_rng([action_seed, i]) for i in range(2)]

    def act(i: int, t: int, env: Env, obs: Obs) -> NDArray[np.float32]:
        return make_action(env.unwrapped, rngs[i], style, t, hold)

    lockstep(venv, singles, seed, act, check=True)
    for name in coverage(scenario, venv):
        event(name)


def coverage(scenario: Scenario, venv: AllocationVectorEnv) -> list[str]:
    """Labels of what a generated example exercised (shown by ``--hypothesis-show-statistics``)."""
    sup, rails = scenario.supplier, scenario.guardrails
    labels = [f"demand {'csv' if scenario.demand.csv else 'streams'}", f"orders {sup.replenishment.rule}",
              f"supplier lead {sup.lead_time.kind}"]
    labels += [f"unmet {kind}" for kind in sorted({c.unmet for c in scenario.channels})]
    flags = {
        "shelf life": any(s.shelf_life for s in scenario.skus),
        "markdowns": any(s.markdown for s in scenario.skus),
        "transfer lanes": bool(scenario.transfers),
        "approval threshold": any(x.approval_threshold is not None for x in scenario.transfers),
        "contracts": any(c.contract for c in scenario.channels),
        "working capital cap": rails.working_capital_cap is not None,
        "days-of-supply cap": rails.max_days_of_supply is not None,
        "capacity not enforced": not rails.enforce_capacity,
    }
    kpis = [k for k in venv.last_episode_kpis if k is not None]
    flags |= {
        "played: backorders": any(k["backorder_units"] > 0 for k in kpis),
        "played: write-offs": any(k["writeoff_cost"] > 0 for k in kpis),
        "played: markdown sales": any(k["markdown_cost"] > 0 for k in kpis),
        "played: transfers": any(k["transfer_cost"] > 0 for k in kpis),
        "played: contract shortfall": any(k["contract_attainment"] < 100 for k in kpis),
    }
    return labels + [name for name, on in flags.items() if on]


# -------------------------------------------------------------- (c) SAME_STEP
@pytest.mark.parametrize("preset", ["tiny-dp", "omnichannel-transfers"])
def test_same_step_autoreset_and_seed_stream(preset: str) -> None:
    """Two episodes back to back: final_obs, the next first obs and the seeds follow the docstring."""
    n, base = 3, 40
    venv = gym.make_vec(ENV_ID, num_envs=n, scenario=preset)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    single = gym.make(ENV_ID, scenario=preset)
    periods = venv.unwrapped.network.periods
    size = venv.single_action_space.shape[0]
    rng = np.random.default_rng(5)
    obs, info = venv.reset(seed=base)
    assert info["episode_seed"].tolist() == [base + i for i in range(n)]
    for episode in range(2):
        seeds = [base + i + episode * n for i in range(n)]
        assert venv.unwrapped.engine.state.seed.tolist() == seeds
        actions = rng.uniform(-1.0, 1.0, (periods, n, size)).astype(np.float32)
        for t in range(periods):
            obs, _, terminated, _, info = venv.step(actions[t])
            assert info["period"].tolist() == [t] * n
            assert terminated.tolist() == [t == periods - 1] * n
            assert ("final_obs" in info) == (t == periods - 1)
        for i in range(n):
            # the single env on the same seed and actions: its terminal obs is final_obs
            single.reset(seed=seeds[i])
            for t in range(periods):
                last, _, done, _, _ = single.step(actions[t, i])
            assert done
            assert info["_final_obs"][i] and info["final_info"]["_episode_kpis"][i]
            assert np.array_equal(info["final_obs"][i], last), f"episode {episode} copy {i}: final_obs"
            assert info["final_info"]["episode_seed"][i] == seeds[i]
            assert_same(venv.unwrapped.last_episode_kpis[i], single.unwrapped.kpis(), f"episode {episode}")
            # the returned obs is the first obs of the next episode, on the next seed of the stream
            following, _ = single.reset(seed=seeds[i] + n)
            assert np.array_equal(obs[i], following), f"episode {episode} copy {i}: next first obs"
    assert venv.unwrapped.engine.state.seed.tolist() == [base + i + 2 * n for i in range(n)]
    assert venv.unwrapped.episodes.tolist() == [2] * n


def test_custom_seed_stream_is_followed() -> None:
    """A seed_stream passed to make_vec decides the next episode's seed."""
    venv = gym.make_vec(ENV_ID, num_envs=2, scenario="tiny-dp",
                        seed_stream=lambda base, copy, episode: base + 100 * copy + 7 * episode)
    venv.reset(seed=3)
    assert venv.unwrapped.engine.state.seed.tolist() == [3, 103]
    for _ in range(venv.unwrapped.network.periods):
        _, _, _, _, info = venv.step(np.zeros((2, venv.single_action_space.shape[0]), dtype=np.float32))
    assert info["final_info"]["episode_seed"].tolist() == [3, 103]
    assert venv.unwrapped.engine.state.seed.tolist() == [10, 110]


# ------------------------------------------------------------------- (d) sync
@pytest.mark.parametrize("preset", PRESETS)
def test_sync_mode_matches_the_native_vector_env(preset: str) -> None:
    """SyncVectorEnv over single envs and the native env agree on the same seeds and actions."""
    sync = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="sync", scenario=preset)
    native = gym.make_vec(ENV_ID, num_envs=2, scenario=preset)
    assert isinstance(sync, SyncVectorEnv)
    assert sync.single_action_space == native.single_action_space
    assert sync.single_observation_space == native.single_observation_space
    s_obs, _ = sync.reset(seed=11)
    n_obs, _ = native.reset(seed=11)
    assert np.array_equal(s_obs, n_obs)
    rng = np.random.default_rng(PRESETS.index(preset))
    for _ in range(min(5, native.unwrapped.network.periods - 1)):
        actions = rng.uniform(-1.0, 1.0, (2, native.single_action_space.shape[0])).astype(np.float32)
        s_obs, s_rew, s_term, _, _ = sync.step(actions)
        n_obs, n_rew, n_term, _, _ = native.step(actions)
        assert np.array_equal(s_obs, n_obs)
        assert np.array_equal(s_rew, n_rew)
        assert np.array_equal(s_term, n_term)
    sync.close()
    native.close()


# --------------------------------------------------------------- (e) bad input
@pytest.fixture
def started() -> AllocationVectorEnv:
    """A vector env of 3 on retail-small, reset on seed 0."""
    venv = gym.make_vec(ENV_ID, num_envs=3, scenario="retail-small")
    venv.reset(seed=0)
    return venv


@pytest.mark.parametrize("shape", [(3, -1), (3, 1), (2, 0), (3, 0, 1), (0,)])
def test_wrong_action_shape_is_rejected(started: AllocationVectorEnv, shape: tuple[int, ...]) -> None:
    """A wrong (N, n) shape raises ValueError naming the shape given and the one expected."""
    size = started.single_action_space.shape[0]
    bad_shape = tuple(size + d if j == 1 else d for j, d in enumerate(shape))
    with pytest.raises(ValueError) as err:
        started.step(np.zeros(bad_shape, dtype=np.float32))
    message = str(err.value)
    assert str(bad_shape) in message
    assert f"(3, {size})" in message
    # nothing happened: period 0 is still to be played
    _, _, _, _, info = started.step(np.zeros((3, size), dtype=np.float32))
    assert info["period"].tolist() == [0, 0, 0]


@pytest.mark.parametrize(("bad", "shown"), [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_action_names_entry_and_copy(started: AllocationVectorEnv, bad: float, shown: str) -> None:
    """A NaN or inf entry raises ValueError naming the entry and the copy; no copy moves."""
    size = started.single_action_space.shape[0]
    actions = np.zeros((3, size), dtype=np.float32)
    actions[1, 3] = bad
    before = started.engine.state.copy()
    with pytest.raises(ValueError) as err:
        started.step(actions)
    message = str(err.value)
    assert "entry 3" in message
    assert "copy 1" in message
    assert shown in message
    for name, old, new in zip(before._fields, before, started.engine.state, strict=True):
        assert np.array_equal(old, new), f"{name} changed by a rejected step"
    _, _, _, _, info = started.step(np.zeros((3, size), dtype=np.float32))
    assert info["period"].tolist() == [0, 0, 0]


@pytest.mark.parametrize("threads", [True, 2, 1])
def test_threads_give_the_same_results_copy_by_copy(threads: bool | int) -> None:
    """The threaded kernel (copies spread over numba's threads) equals the serial one exactly."""
    serial = gym.make_vec(ENV_ID, num_envs=6, scenario="omnichannel-transfers")
    threaded = gym.make_vec(ENV_ID, num_envs=6, scenario="omnichannel-transfers", threads=threads)
    pool = numba.config.NUMBA_NUM_THREADS
    assert threaded.unwrapped.engine.threads == (pool if threads is True else threads)
    rng = np.random.default_rng(5)
    for venv in (serial, threaded):
        venv.reset(seed=70)
    for _ in range(serial.unwrapped.network.periods + 3):  # across one autoreset
        actions = rng.uniform(-1, 1, serial.action_space.shape).astype(np.float32)
        a, b = serial.step(actions), threaded.step(actions)
        for x, y in zip(a[:4], b[:4], strict=True):
            np.testing.assert_array_equal(x, y)
    for mine, theirs in zip(serial.unwrapped.engine.state, threaded.unwrapped.engine.state, strict=True):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("threads", [0, -1, 10_000, 1.5, "2"])
def test_a_thread_count_out_of_range_is_one_clear_error(threads: object) -> None:
    with pytest.raises(ValueError, match=r"threads must be True, False or a whole number 1\.\.") as err:
        AllocationVectorEnv(2, "retail-small", threads=threads)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
