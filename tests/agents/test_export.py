"""ONNX export: parity with stable-baselines3 through VecNormalize, the card, the torch-free runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from allocsim.agents import runfiles
from allocsim.agents.export import ExportGraph, export_run, policy_card
from allocsim.agents.guarded_decision import decide_in_world
from allocsim.agents.inference import OnnxPolicy
from allocsim.agents.policy import load_learned
from allocsim.agents.state_input import observation, parse_state
from allocsim.core import unit_decode
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.engine.decide import largest_remainder_row
from allocsim.envs.replenishment import order_rule
from allocsim.experiments.planning_state import planning_state

pytestmark = pytest.mark.slow  # trains policies to export: end to end


@pytest.fixture(scope="module", params=["retail-small", "omnichannel-transfers"])
def exported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_trainer: Any
) -> tuple[Path, Path, str]:
    """A briefly trained PPO run (real VecNormalize statistics) and its ONNX export."""
    tmp = tmp_path_factory.mktemp(request.param)
    run = tiny_trainer(tmp, request.param)
    return run, export_run(run, tmp / "policy.onnx"), request.param


def _sb3_actions(run: Path, env: AllocationEnv, obs: np.ndarray) -> np.ndarray:
    """What SB3 predicts through the run's saved VecNormalize (the reference for parity)."""
    venv = VecNormalize.load(str(run / runfiles.VECNORMALIZE), DummyVecEnv([lambda: env]))
    venv.training = False
    model = load_learned(run).model
    action, _ = model.predict(venv.normalize_obs(obs), deterministic=True)
    return np.asarray(action)


def _rollout_observations(env: AllocationEnv, n: int, seed: int = 40000) -> tuple[np.ndarray, list[dict]]:
    """Real observations and their JSON states from an episode under random actions."""
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    observations, states = [], []
    for _ in range(n):
        observations.append(obs)
        states.append(planning_state(env))
        obs, _, terminated, _, _ = env.step(env.action_space.sample())
        if terminated:
            obs, _ = env.reset(seed=seed + 1)
    return np.array(observations), states


@pytest.mark.parametrize("batch", [1, 256])
def test_onnx_matches_sb3_on_sampled_observations(exported: tuple[Path, Path, str], batch: int) -> None:
    run, path, scenario = exported
    env = AllocationEnv(scenario)
    env.observation_space.seed(batch)
    obs = np.stack([env.observation_space.sample() for _ in range(batch)])
    policy = OnnxPolicy.load(path)
    onnx_action, _ = policy.predict(obs)
    sb3_action = _sb3_actions(run, env, obs)
    assert onnx_action.shape == sb3_action.shape == (batch, env.action_space.shape[0])
    np.testing.assert_allclose(onnx_action, sb3_action, atol=1e-5)
    out = policy.run(obs)
    layout = env.action_layout
    for i in range(batch):
        want = layout.fractions(np.clip(sb3_action[i].astype(np.float64), -1, 1))
        np.testing.assert_allclose(out["allocation"][i], want.allocation, atol=1e-5)
        np.testing.assert_allclose(out["transfers"][i], want.transfers, atol=1e-5)
        np.testing.assert_allclose(out["orders"][i], want.orders, atol=1e-5)


def test_onnx_matches_sb3_on_rollouts_to_the_unit(exported: tuple[Path, Path, str]) -> None:
    """Real states: the JSON state rebuilds the observation; whole units agree with the env decode."""
    run, path, scenario = exported
    env = AllocationEnv(scenario)
    observations, states = _rollout_observations(env, 80)
    policy = OnnxPolicy.load(path)
    sb3_action = _sb3_actions(run, AllocationEnv(scenario), observations)
    replay = AllocationEnv(scenario)
    replay.reset(seed=40000)
    env.action_space.seed(40000)
    for i, state in enumerate(states):
        parsed = parse_state(json.loads(json.dumps(state)), policy.card)
        np.testing.assert_allclose(observation(parsed, policy.card), observations[i], atol=1e-6)
        decision = policy.decide_arrays(parsed)
        want = replay.preview(sb3_action[i], guardrails=False)
        world = replay.state
        rule_orders = order_rule(replay.network)(world.dc_on_hand + world.dc_on_order)
        np.testing.assert_array_equal(decision.allocation, want.allocation)
        np.testing.assert_array_equal(decision.transfers, want.transfers)
        np.testing.assert_array_equal(decision.orders, want.orders - rule_orders)
        assert (decision.allocation.sum(axis=0) + decision.keep_at_dc == world.dc_available).all()
        _, _, terminated, _, _ = replay.step(env.action_space.sample())
        if terminated:
            replay.reset(seed=40001)


def test_card_layouts_and_dynamic_batch(exported: tuple[Path, Path, str]) -> None:
    _, path, scenario = exported
    model = onnx.load(str(path))
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch"
    meta = {p.key: p.value for p in model.metadata_props}
    env = AllocationEnv(scenario)
    assert meta["allocsim.scenario_hash"] == env.scenario.content_hash()
    assert meta["allocsim.algo"] == "ppo" and meta["allocsim.run_id"].startswith(f"{scenario}-ppo@")
    card = json.loads(meta["allocsim.card"])
    assert card["observation_layout"] == env.observation_layout.describe()
    assert card["action_layout"]["allocation"] == [0, env.network.n_skus * (env.network.n_locations + 1)]
    assert OnnxPolicy.load(path).card.action_size == env.action_space.shape[0]


def test_runtime_imports_neither_torch_nor_sb3_nor_simpy(
    exported: tuple[Path, Path, str], tmp_path: Path
) -> None:
    _, path, scenario = exported
    env = AllocationEnv(scenario)
    env.reset(seed=40000)
    state = tmp_path / "state.json"
    state.write_text(json.dumps(planning_state(env)))
    code = (
        "import json, sys\n"
        "from allocsim.agents.inference import OnnxPolicy\n"
        f"p = OnnxPolicy.load({str(path)!r})\n"
        f"d = p.decide(json.load(open({str(state)!r})))\n"
        "p.predict([0.0] * p.card.observation_size)\n"
        "banned = ('torch', 'stable_baselines3', 'simpy', 'gymnasium', 'pydantic', 'numba')\n"
        "print(json.dumps([m for m in banned if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_recurrent_policies_are_refused_with_a_reason() -> None:
    env = AllocationEnv("tiny-dp")
    card = policy_card(env, "recurrent-ppo", "x")
    with pytest.raises(ValueError, match=r"cannot export 'recurrent-ppo'.*LSTM"):
        ExportGraph(None, "recurrent-ppo", None, card)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    totals=st.lists(st.integers(0, 500), min_size=1, max_size=4),
    weights=st.lists(st.floats(0.0, 1.0), min_size=24, max_size=24),
    width=st.integers(1, 6),
)
def test_runtime_rounding_is_the_env_rounding(totals: list[int], weights: list[float], width: int) -> None:
    """The runtime runs ``unit_decode`` interpreted, the env compiled: same units, whole and summing up."""
    total = np.array(totals, dtype=np.int64)
    w = np.array(weights[: len(totals) * width]).reshape(len(totals), width) + 1e-9
    fractions = w / w.sum(axis=1, keepdims=True)
    got = np.zeros((len(total), width), dtype=np.int64)
    env_split, order = np.zeros_like(got), np.zeros(width, dtype=np.int64)
    for i in range(len(total)):
        unit_decode.largest_remainder_row(int(total[i]), fractions[i], got[i], order)
        largest_remainder_row(int(total[i]), np.ascontiguousarray(fractions[i]), env_split[i], order)
    np.testing.assert_array_equal(got, env_split)
    np.testing.assert_array_equal(got.sum(axis=1), total)
    assert (got >= 0).all()
    assert (np.abs(got - total[:, None] * fractions) < 1.0 + 1e-9).all()


def _with_reserve() -> AllocationEnv:
    """retail-small with a safety reserve at the DC: committed stock the decision may not allocate."""
    from allocsim.envs.scenario import load_scenario

    base = load_scenario("retail-small")
    dc = base.dc.model_copy(update={"safety_reserve": {"jacket": 5, "scarf": 3}})
    return AllocationEnv(base.model_copy(update={"dc": dc}))


@pytest.mark.parametrize("algo", ["a2c", "sac", "td3", "ppo"])
def test_every_exportable_algorithm_matches_sb3(algo: str, tmp_path: Path) -> None:
    """Untrained networks with a made-up normalisation: the graph is the SB3 deterministic action,
    and on real states of a scenario with a safety reserve ``decide`` gives the env's whole units."""
    from stable_baselines3 import A2C, PPO, SAC, TD3

    from allocsim.agents.export import export_policy
    from allocsim.agents.policy import LearnedPolicy, ObsNormalizer

    classes = {"a2c": A2C, "sac": SAC, "td3": TD3, "ppo": PPO}
    env = _with_reserve()
    model = classes[algo]("MlpPolicy", env, seed=3, device="cpu", policy_kwargs={"net_arch": [16, 16]})
    rng = np.random.default_rng(5)
    size = env.observation_space.shape[0]
    normalizer = ObsNormalizer(rng.uniform(0, 2, size), rng.uniform(0.1, 3, size), 5.0, 1e-8)
    learned = LearnedPolicy(model, normalizer)
    policy = OnnxPolicy.load(export_policy(learned, algo, env, tmp_path / f"{algo}.onnx"))
    observations, states = _rollout_observations(env, 40, seed=40007)
    want = np.stack([learned.predict(o)[0] for o in observations])
    got, _ = policy.predict(observations)
    np.testing.assert_allclose(got, want, atol=1e-5)
    replay = _with_reserve()
    replay.reset(seed=40007)
    env.action_space.seed(40007)
    for i, state in enumerate(states):
        world = replay.state
        decision = policy.decide_arrays(parse_state(state, policy.card))
        units = replay.preview(want[i], guardrails=False)
        np.testing.assert_array_equal(decision.allocation, units.allocation)
        assert (decision.keep_at_dc + decision.allocation.sum(axis=0) == world.dc_available).all()
        assert (world.dc_available <= np.maximum(world.dc_on_hand - [5, 3], 0)).all()
        replay.step(env.action_space.sample())


def test_decision_with_the_scenario_is_the_env_decision(exported: tuple[Path, Path, str]) -> None:
    """Given the scenario, a JSON state's units after guardrails and the DC rule are the env's own."""
    _, path, scenario = exported
    policy = OnnxPolicy.load(path)
    env = AllocationEnv(scenario)
    env.reset(seed=40003)
    env.action_space.seed(40003)
    trimmed = 0
    for _ in range(30):
        parsed = parse_state(json.loads(json.dumps(planning_state(env))), policy.card)
        action = policy.run(observation(parsed, policy.card))["action"][0]
        want = env.preview(action)
        got = decide_in_world(policy, parsed, env.scenario)
        for part in ("allocation", "transfers", "orders", "transfer_delay"):
            np.testing.assert_array_equal(getattr(got, part), getattr(want, part), err_msg=part)
        trimmed += int((want.allocation != env.preview(action, guardrails=False).allocation).any())
        _, _, terminated, _, _ = env.step(env.action_space.sample())
        assert not terminated
    assert scenario != "retail-small" or trimmed > 0  # the guardrails did bind along the way


def test_holdback_block_goes_through_export_to_the_unit(tmp_path: Path) -> None:
    """With the holdback decision (strategic-holdback-decision), the graph's ``holdback`` output is the
    env's decode of its action, and the runtime's units held back are the protection the env sets
    for the lower-priority channel in the same state."""
    from stable_baselines3 import PPO

    from allocsim.agents.export import export_policy
    from allocsim.agents.policy import LearnedPolicy, ObsNormalizer

    scenario = "strategic-holdback-decision"
    env = AllocationEnv(scenario)
    model = PPO("MlpPolicy", env, seed=3, device="cpu", policy_kwargs={"net_arch": [16, 16]})
    size = env.observation_space.shape[0]
    learned = LearnedPolicy(model, ObsNormalizer(np.zeros(size), np.ones(size), 5.0, 1e-8))
    policy = OnnxPolicy.load(export_policy(learned, "ppo", env, tmp_path / "holdback.onnx"))
    layout = env.engine.actions
    assert policy.card.action_layout["holdback"] == [layout.holdback.start, layout.holdback.stop]
    observations, states = _rollout_observations(env, 40, seed=40011)
    replay = AllocationEnv(scenario)
    replay.reset(seed=40011)
    env.action_space.seed(40011)
    spot = [c.name for c in replay.scenario.channels].index("spot")
    held = 0
    for i, state in enumerate(states):
        out = policy.run(observations[i])
        action = out["action"][0]
        frac = layout.fractions(layout.validate_batch(action[None], 1))
        np.testing.assert_allclose(out["holdback"][0], frac.holdback[0], atol=1e-6)
        decision = policy.decide_arrays(parse_state(json.loads(json.dumps(state)), policy.card))
        replay.preview(action)
        assert decision.holdback is not None
        np.testing.assert_array_equal(decision.holdback, replay.engine.state.protect[0, :, :, spot])
        assert "holdback" in decision.to_json(policy.card)
        held += int(decision.holdback.sum() > 0)
        replay.step(env.action_space.sample())
    assert held > 0  # the comparison saw units held back, not only zeros


def test_card_carries_the_timing_mode_and_evaluate_uses_it(
    exported: tuple[Path, Path, str], tmp_path: Path
) -> None:
    """A policy trained in events mode is evaluated in events mode from its ONNX file alone."""
    from allocsim.agents.policy_card import TIMING_MODES, CardError
    from allocsim.envs.scenario.timing import MODES
    from allocsim.experiments.trained_model import evaluate_model

    _, path, _ = exported
    assert TIMING_MODES == MODES
    assert OnnxPolicy.load(path).card.timing == "aggregated"

    def with_card_timing(value: str) -> Path:
        model = onnx.load(str(path))
        card = next(p for p in model.metadata_props if p.key == "allocsim.card")
        card.value = json.dumps({**json.loads(card.value), "timing": value})
        out = tmp_path / f"{value}.onnx"
        onnx.save(model, str(out))
        return out

    events = with_card_timing("events")
    assert evaluate_model(events, None, [40_000])["timing"] == "events"
    assert evaluate_model(path, None, [40_000])["timing"] == "aggregated"
    assert evaluate_model(events, None, [40_000], timing="aggregated")["timing"] == "aggregated"
    with pytest.raises(CardError, match="timing must be one of aggregated, events"):
        OnnxPolicy.load(with_card_timing("hourly"))
