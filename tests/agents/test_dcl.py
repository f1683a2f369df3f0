"""Deep Controlled Learning: the label is the candidate with the best rollout return, a run is
reproducible per seed, a resumed run equals an uninterrupted one, and the policy exports to ONNX."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scenario_kit import build_scenario
from stable_baselines3.common.policies import ActorCriticPolicy

from allocsim.agents.dcl_label import ActorPolicy, Labeller, base_stock_variants, choose, coordinate_label
from allocsim.agents.dcl_params import DclParams
from allocsim.agents.hyperparams import HyperparamError, load_hyperparams
from allocsim.agents.residual_search import start_from
from allocsim.agents.runfiles import read_metrics, read_progress
from allocsim.agents.training import SeedCycle, TrainConfig, train
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.rollouts import Rollouts

TINY = """
default:
  n_timesteps: 64
  n_envs: 8
  n_steps: 4
  normalize: {norm_obs: true, norm_reward: false}
  policy_kwargs: {net_arch: [16, 16], activation_fn: tanh, log_std_init: -2.0}
  learning_rate: 0.003
  batch_size: 8
  n_epochs: 3
  action_mode: residual
  dcl: {samples: 3, horizon: 3, z: 0.0}
"""


def _hand_env() -> AllocationEnv:
    """One SKU, one shop, demand 20 a period, no holding cost: shipping more only sells more."""
    scenario = build_scenario("dcl-hand", 6, demand={"streams": [{"mean": 20.0}]})
    env = AllocationEnv(scenario, action_mode="residual")
    env.reset(seed=0)
    state = env.get_state()
    state.dc[0] = 0
    state.dc[0, :, 0] = 1000  # plenty at the DC
    env.set_state(state)
    return env


def _actor(env: AllocationEnv, action: np.ndarray) -> ActorPolicy:
    policy = ActorCriticPolicy(env.observation_space, env.action_space, lambda _: 1e-3, net_arch=[8])
    start_from(policy, action)
    return ActorPolicy(policy, env.action_mode, None)


def test_choose_by_hand() -> None:
    returns = np.array([[10.0, 10.0, 10.0, 10.0],
                        [12.0, 11.0, 13.0, 12.0],  # gain 2, standard error 0.41
                        [40.0, -10.0, 40.0, -10.0]])  # gain 5, standard error 14.4
    assert choose(returns, z=0.0) == (2, 5.0)  # the best mean
    assert choose(returns, z=1.0) == (0, 0.0)  # the best mean is noise: keep the current action
    assert choose(returns[:2], z=1.0) == (1, 2.0)
    assert choose(returns[:2], z=5.0) == (0, 0.0)
    assert choose(np.array([[1.0, 2.0], [1.0, 2.0]]), z=0.0) == (0, 0.0)  # a tie keeps the current


def test_the_label_is_the_candidate_that_sells_most_when_stock_is_free() -> None:
    env = _hand_env()
    least = np.array([-1.0, -1.0, 1.0])  # lowest cover and safety, half the DC kept back
    most = np.array([1.0, 1.0, -1.0])  # highest cover and safety, nothing kept back
    labeller = Labeller(env, _actor(env, least), DclParams(samples=3, horizon=2, z=0.0), most[None])
    assert labeller.candidates == 1 + 2 * 3 + 1
    label = labeller.label(env.get_state(), least, rollout_seed=1)
    assert label.index == labeller.candidates - 1 and label.gain > 0
    np.testing.assert_array_equal(label.action, most)
    kept = Labeller(env, _actor(env, most), DclParams(samples=3, horizon=2, z=0.0), least[None])
    assert kept.label(env.get_state(), most, rollout_seed=1).index == 0  # nothing beats shipping most


def test_rollout_returns_equal_each_candidate_rolled_out_alone_as_shares() -> None:
    """The batch of candidates, decoded at once on the rollout copies, earns what each candidate earns
    rolled out on its own as the ``shares`` action the single env encodes for it (same futures)."""
    env = _hand_env()
    current = np.array([-0.75, -1.0, 0.5])
    actor = _actor(env, current)
    params = DclParams(samples=2, horizon=4, step=0.5)
    labeller = Labeller(env, actor, params, base_stock_variants(env.action_mode, None, 0.25))
    state = env.get_state()
    rows, returns = labeller.returns(state, current, rollout_seed=7)
    assert returns.shape == (len(rows), 2) and np.ptp(returns.mean(axis=1)) > 0
    for k, row in enumerate(rows):
        shares = env.action_mode.shares_action(env.state, row)  # the units of row, as a rule encodes them
        alone = Rollouts(env, 1, 2, 4, base=actor, rollout_seed=7).run(state, shares[None]).returns
        np.testing.assert_allclose(returns[k], alone[0], rtol=1e-12)
    index, _ = choose(returns, params.z)
    assert labeller.label(state, current, rollout_seed=7).index == index


def test_coordinate_label_by_hand() -> None:
    """Own action (0, 0.8), step 0.5: coordinate 0's +step beats -step by 2 on every future (a sure
    move, one whole step); coordinate 1's +step is cut at 1 (span 0.7, step 0.35) and beats -step by
    1, -1, 3: mean 1, standard deviation 2, t = 1 / (2 / sqrt 3) = 0.866, so with z 2 it moves
    0.35 x 0.433 = 0.1516. Gain: slope 2 / 1 x 0.5 + slope 1 / 0.7 x 0.1516 = 1.2165."""
    rows = np.array([[0.0, 0.8], [-0.5, 0.8], [0.5, 0.8], [0.0, 0.3], [0.0, 1.0]])
    returns = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [3.0, 4.0, 5.0], [0.0, 0.0, 0.0], [1.0, -1.0, 3.0]])
    label = coordinate_label(rows, returns, z=2.0)
    t = 1.0 / (2.0 / np.sqrt(3.0))
    np.testing.assert_allclose(label.action, [0.5, 0.8 + 0.35 * t / 2], rtol=1e-12)
    assert label.index == -1 and label.gain == pytest.approx(1.0 + 0.35 * t / 2 / 0.7, rel=1e-12)
    np.testing.assert_allclose(coordinate_label(rows, returns, z=0.0).action, [0.5, 1.0])  # sign: cut at 1
    still = coordinate_label(rows, np.tile(returns[:1], (5, 1)), z=2.0)  # no difference: keep the action
    assert still.index == 0 and still.gain == 0.0
    np.testing.assert_array_equal(still.action, rows[0])
    flipped = coordinate_label(rows, returns[[0, 2, 1, 4, 3]], z=2.0)  # -step better: move down
    assert flipped.action[0] == -0.5 and flipped.action[1] < 0.8


def test_coordinate_labels_raise_what_sells_when_stock_is_free() -> None:
    """Every coordinate moves on its own evidence: from the lowest cover and safety with half the DC
    kept back, more cover sells more (no holding cost, plenty at the DC), nothing moves towards
    selling less, and no rule is a candidate."""
    env = _hand_env()
    least = np.array([-1.0, -1.0, 1.0])
    params = DclParams(samples=3, horizon=2, z=2.0, step=0.5, label="coordinates")
    labeller = Labeller(env, _actor(env, least), params, base_stock_variants(env.action_mode, None, 0.25))
    assert labeller.candidates == 1 + 2 * 3
    label = labeller.label(env.get_state(), least, rollout_seed=1)
    assert label.index == -1 and label.gain > 0
    assert label.action[0] > least[0] and label.action[1] >= least[1] and label.action[2] <= least[2]
    assert np.all(np.abs(label.action - least) <= 0.5 + 1e-12)


def test_base_stock_variants_are_the_rule_and_its_scaled_parameters() -> None:
    env = AllocationEnv("retail-small", action_mode="residual")
    rows = base_stock_variants(env.action_mode, None, 0.5)
    np.testing.assert_array_equal(rows[0], np.zeros(env.action_mode.size))  # residual zero = the rule
    assert len(rows) == 1 + 2 * 2  # review and safety scaled (no policy orders: order cover says nothing)
    assert np.all(np.abs(rows) <= 1.0)


def _config(tmp_path: Path, out: str, seed: int = 0, timesteps: int | None = None,
            text: str = TINY) -> TrainConfig:
    path = tmp_path / "dcl.yaml"
    path.write_text(text, encoding="utf-8")
    return TrainConfig(scenario="retail-small", algo="dcl", seed=seed,
                       hyperparams=load_hyperparams("dcl", "retail-small", path),
                       seed_cycle=SeedCycle(20_000, 1_000), timesteps=timesteps, out=tmp_path / out)


def _weights(run: Path) -> list[torch.Tensor]:
    from allocsim.agents.policy import load_learned

    return [p.detach().clone() for p in load_learned(run).model.policy.parameters()]


COORDINATES = TINY.replace("z: 0.0}", "z: 2.0, label: coordinates}")


def test_coordinate_runs_resume_bit_identical(tmp_path: Path) -> None:
    whole = train(_config(tmp_path, "whole", text=COORDINATES))
    assert float(read_metrics(whole.run_dir)[-1]["relabelled"]) > 0  # the labels move the policy
    train(_config(tmp_path, "split", timesteps=32, text=COORDINATES))
    resumed = train(_config(tmp_path, "split", text=COORDINATES), resume=True)
    again = train(_config(tmp_path, "again", text=COORDINATES))
    for other in (resumed, again):
        for a, b in zip(_weights(whole.run_dir), _weights(other.run_dir), strict=True):
            assert torch.equal(a, b)


SHARED = COORDINATES.replace("normalize: {norm_obs: true, norm_reward: false}",
                             "normalize: {norm_obs: false, norm_reward: false}\n  policy: shared-locations")


def test_a_shared_network_starts_at_the_rule_learns_resumes_and_exports(tmp_path: Path) -> None:
    """DCL with one network shared across locations: the start plays the zero residual action (tuned
    base-stock) exactly, the fitted policy's action moves with the state, a resumed run equals an
    uninterrupted one, and the ONNX export plays what torch plays."""
    from allocsim.agents.export import export_run
    from allocsim.agents.inference import OnnxPolicy
    from allocsim.agents.policy import load_learned
    from allocsim.agents.reaction import action_spread
    from allocsim.agents.shared_net import SharedLocationPolicy

    whole = train(_config(tmp_path, "whole", text=SHARED))
    start, last = load_learned(whole.run_dir / "start"), load_learned(whole.run_dir)
    assert isinstance(last.model.policy, SharedLocationPolicy) and last.normalizer is None
    seeds = [40_000, 40_001]
    assert np.all(action_spread(start, "retail-small", seeds, "residual").actions == 0)
    assert action_spread(last, "retail-small", seeds, "residual").std.max() > 0
    train(_config(tmp_path, "split", timesteps=32, text=SHARED))
    resumed = train(_config(tmp_path, "split", text=SHARED), resume=True)
    for a, b in zip(_weights(whole.run_dir), _weights(resumed.run_dir), strict=True):
        assert torch.equal(a, b)
    onnx_policy = OnnxPolicy.load(export_run(whole.run_dir, tmp_path / "shared.onnx"))
    env = AllocationEnv("retail-small", action_mode="residual")
    obs = np.stack([env.reset(seed=40_000 + k)[0] for k in range(4)])
    np.testing.assert_allclose(onnx_policy.predict(obs)[0], last.predict(obs)[0], atol=1e-5)


def test_a_shared_network_refuses_a_searched_start() -> None:
    env = AllocationEnv("retail-small", action_mode="residual")
    from allocsim.agents.shared_net import SharedLocationPolicy, layout_kwargs

    policy = SharedLocationPolicy(env.observation_space, env.action_space, lambda _: 1e-3,
                                  **layout_kwargs(env))
    with pytest.raises(ValueError, match="zero action only"):
        start_from(policy, np.full(env.action_space.shape[0], 0.5))


def test_resume_equals_an_uninterrupted_run_and_seeds_decide(tmp_path: Path) -> None:
    whole = train(_config(tmp_path, "whole"))
    assert whole.timesteps == 64 and read_progress(whole.run_dir) == {"timesteps": 64, "done": True}
    assert [int(r["generation"]) for r in read_metrics(whole.run_dir)] == [0, 1, 2]
    assert len(_weights(whole.run_dir / "start")) == len(_weights(whole.run_dir))  # the start, loadable
    train(_config(tmp_path, "split", timesteps=32))
    assert read_progress(tmp_path / "split")["timesteps"] == 32
    with pytest.raises(ValueError, match="--resume"):
        train(_config(tmp_path, "split"))
    resumed = train(_config(tmp_path, "split"), resume=True)
    assert resumed.timesteps == 64
    for a, b in zip(_weights(whole.run_dir), _weights(resumed.run_dir), strict=True):
        assert torch.equal(a, b)
    again = train(_config(tmp_path, "again"))
    other = train(_config(tmp_path, "other", seed=1))
    first = _weights(whole.run_dir)
    assert all(torch.equal(a, b) for a, b in zip(first, _weights(again.run_dir), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, _weights(other.run_dir), strict=True))


def test_a_short_run_exports_to_onnx_equal_to_torch(tmp_path: Path) -> None:
    from allocsim.agents.export import export_run
    from allocsim.agents.inference import OnnxPolicy
    from allocsim.agents.policy import load_learned
    from allocsim.agents.runfiles import best_profit as read_best
    from allocsim.experiments.plots_learning import read_curves

    calls: list[int] = []

    def judge(make_policy: object) -> dict[str, float]:  # a stand-in validation: later is better
        calls.append(len(calls))
        return {"val_profit": float(len(calls)), "rule_profit": 0.5}

    result = train(_config(tmp_path, "run"), evaluator=judge)
    assert len(calls) == 3  # the start and each of the two generations
    curve = read_curves({"dcl": result.run_dir})["dcl"]  # the learning curve reads it as PPO's
    assert list(curve["timesteps"]) == [0, 32, 64] and list(curve["val_profit"]) == [1.0, 2.0, 3.0]
    assert read_best(result.run_dir) == 3.0
    path = export_run(result.run_dir, tmp_path / "dcl.onnx")
    onnx_policy = OnnxPolicy.load(path)
    assert onnx_policy.card.algo == "dcl" and onnx_policy.card.action_mode == "residual"
    learned = load_learned(result.run_dir)
    env = AllocationEnv("retail-small", action_mode="residual", residual_around=None)
    observations = []
    obs, _ = env.reset(seed=40_000)
    for _ in range(20):
        observations.append(obs)
        obs, *_ = env.step(learned.predict(obs)[0])
    batch = np.stack(observations)
    got, _ = onnx_policy.predict(batch)
    want = np.stack([learned.predict(o)[0] for o in batch])
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.ptp(want, axis=0).max() > 0  # the fitted network reacts to the state


def test_dcl_settings_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("default: {dcl: {samples: 1}}\n", encoding="utf-8")
    with pytest.raises(HyperparamError, match="samples"):
        load_hyperparams("dcl", "retail-small", path)
    path.write_text("default: {dcl: {samples: 4}}\n", encoding="utf-8")
    with pytest.raises(HyperparamError, match="--algo dcl"):
        load_hyperparams("ppo", "retail-small", path)
    shares = tmp_path / "shares.yaml"
    shares.write_text(TINY.replace("action_mode: residual", "action_mode: shares"), encoding="utf-8")
    config = TrainConfig(scenario="retail-small", algo="dcl", seed=0,
                         hyperparams=load_hyperparams("dcl", "retail-small", shares),
                         seed_cycle=SeedCycle(20_000, 1_000), out=tmp_path / "shares")
    with pytest.raises(ValueError, match="residual or targets"):
        train(config)


def test_the_packaged_settings_label_per_coordinate_where_measured() -> None:
    seasonal = load_hyperparams("dcl", "seasonal-aging")
    assert seasonal.dcl is not None and seasonal.dcl.label == "coordinates" and seasonal.residual_start
    assert load_hyperparams("dcl", "retail-small").dcl.label == "best"  # type: ignore[union-attr]
    shared = load_hyperparams("dcl", "omnichannel-transfers", Path("dcl-shared"))
    assert shared.policy == "shared-locations" and shared.residual_start is None
    assert shared.dcl is not None and shared.dcl.label == "coordinates"
    assert shared.normalize_kwargs() is None or not shared.normalize_kwargs()["norm_obs"]  # type: ignore[index]
