"""The network shared across locations: layout by hand, equivariance, any size, ONNX = torch, PPO."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from scenario_kit import build_scenario
from stable_baselines3 import PPO

from allocsim.agents.export import export_policy, export_run
from allocsim.agents.hyperparams import HyperparamError, load_hyperparams
from allocsim.agents.inference import OnnxPolicy
from allocsim.agents.policy import LearnedPolicy, load_learned
from allocsim.agents.shared_layout import ActionParts, ObservationParts
from allocsim.agents.shared_net import SharedLocationNet, SharedLocationPolicy, layout_kwargs
from allocsim.agents.training import SeedCycle, TrainConfig, train
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import scenario_from_dict
from allocsim.experiments.evaluation import build_policy, learned_spec, run_episode

PRESETS = Path(__file__).resolve().parents[2] / "envs" / "presets"


def _wider(preset: str, copies: int) -> dict:
    """``preset`` with every location repeated ``copies`` times (new names, same SKUs and channels)."""
    data = yaml.safe_load((PRESETS / f"{preset}.yaml").read_text())
    base = data["locations"]
    data["locations"] = base + [{**loc, "name": f"{loc['name']}-copy{k}"}
                                for k in range(1, copies) for loc in base]
    data["name"] = f"{preset}-x{copies}"
    return data


def _env(scenario: object, mode: str = "shares") -> AllocationEnv:
    return AllocationEnv(scenario, action_mode=mode)  # type: ignore[arg-type]


def _net(env: AllocationEnv, seed: int = 0) -> SharedLocationNet:
    """A fresh actor in float64 with its output layers scaled up (outputs of order 1, not 0.01)."""
    torch.manual_seed(seed)
    net = SharedLocationNet(layout_kwargs(env)["layout"]).double()
    with torch.no_grad():
        for layer in net.output_layers():
            layer.weight.normal_(0.0, 0.5)
    return net


def _obs(env: AllocationEnv, seed: int = 40011, steps: int = 6) -> np.ndarray:
    """A real observation a few periods into an episode under random actions."""
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    for _ in range(steps):
        obs, *_ = env.step(env.action_space.sample())
    return obs.astype(np.float64)


def test_layout_by_hand() -> None:
    """2 locations x 2 SKUs, shares: allocation is S x (L + 1), so location l writes entries s x 3 + l and
    the DC column 2 and 5; the observation's (L, S) blocks start after the 3 x S DC entries."""
    env = _env(build_scenario("two", 10, skus=("a", "b"), locations=("x", "y")))
    parts = ActionParts.of(env.action_mode.axes(), 2).index(2, 0)
    assert parts.location.tolist() == [[0, 3], [1, 4]]
    assert parts.network.tolist() == [2, 5]  # keep at DC (no policy orders in this scenario)
    obs = ObservationParts.of(env.observation_layout.describe(), 2, 2)
    assert (obs.head, obs.blocks, obs.tail) == (6, 7, 5)
    assert obs.location_index(2)[1, :4].tolist() == [8, 9, 12, 13]  # on_hand (y, a|b), inbound (y, a|b)


@pytest.mark.parametrize(("preset", "mode"), [("retail-medium", "shares"), ("retail-medium", "residual"),
                                              ("omnichannel-transfers", "shares"),
                                              ("strategic-holdback-decision", "shares")])
def test_parts_follow_the_env_layouts(preset: str, mode: str) -> None:
    """The index arrays partition the action and read each location's rows of the env's own blocks."""
    env = _env(preset, mode)
    net, layout = env.network, env.observation_layout
    obs = ObservationParts.of(layout.describe(), net.n_locations, net.n_skus)
    index = obs.location_index(net.n_locations)
    local = [name for name, shape in layout.shapes.items() if len(shape) == 2]
    for b, name in enumerate(local):
        rows = np.arange(layout.size)[layout.blocks[name]].reshape(net.n_locations, net.n_skus)
        np.testing.assert_array_equal(index[:, b * net.n_skus: (b + 1) * net.n_skus], rows)
    everything = np.concatenate([index.ravel(), obs.network_index(net.n_locations)])
    assert sorted(everything.tolist()) == list(range(layout.size))
    parts = ActionParts.of(env.action_mode.axes(), net.n_skus).index(net.n_locations, net.n_lanes)
    flat = np.concatenate([parts.location.ravel(), parts.network, parts.lanes.ravel()])
    assert sorted(flat.tolist()) == list(range(env.action_space.shape[0]))
    blocks = env.action_mode.blocks()
    first = "cover" if mode != "shares" else "allocation"  # the block the locations write first
    assert set(parts.location[:, : net.n_skus].ravel()) <= set(range(*blocks[first]))
    if "transfers" in blocks and net.n_lanes:
        assert set(parts.lanes.ravel()) == set(range(*blocks["transfers"]))


@pytest.mark.parametrize("mode", ["shares", "residual"])
def test_permuting_locations_permutes_the_action(mode: str) -> None:
    env = _env("retail-medium", mode)
    n_l, n_s = env.network.n_locations, env.network.n_skus
    net, obs = _net(env), _obs(env)
    loc_obs = ObservationParts.of(env.observation_layout.describe(), n_l, n_s).location_index(n_l)
    parts = ActionParts.of(env.action_mode.axes(), n_s).index(n_l, 0)
    perm = np.random.default_rng(2).permutation(n_l)
    permuted = obs.copy()
    permuted[loc_obs] = obs[loc_obs[perm]]
    with torch.no_grad():
        before, after = (net(torch.as_tensor(x[None]))[0].numpy() for x in (obs, permuted))
    np.testing.assert_allclose(after[parts.location], before[parts.location[perm]], atol=1e-12)
    np.testing.assert_allclose(after[parts.network], before[parts.network], atol=1e-12)
    assert np.abs(before[parts.location] - before[parts.location[::-1]]).max() > 1e-3  # locations differ


def test_one_set_of_weights_on_11_and_22_locations() -> None:
    """22 locations that are the 11 twice over pool to the same context: each copy acts as its original."""
    small, large = _env("retail-medium"), _env(scenario_from_dict(_wider("retail-medium", 2)))
    n_s = small.network.n_skus
    assert (small.network.n_locations, large.network.n_locations) == (11, 22)
    net, obs = _net(small), _obs(small)
    parts = ObservationParts.of(small.observation_layout.describe(), 11, n_s)
    doubled = np.zeros(large.observation_space.shape[0])
    doubled[parts.network_index(22)] = obs[parts.network_index(11)]
    doubled[parts.location_index(22)] = np.concatenate([obs[parts.location_index(11)]] * 2)
    with torch.no_grad():
        act11, act22 = (net(torch.as_tensor(x[None]))[0].numpy() for x in (obs, doubled))
    assert act22.shape == large.action_space.shape
    idx11 = ActionParts.of(small.action_mode.axes(), n_s).index(11, 0)
    idx22 = ActionParts.of(large.action_mode.axes(), n_s).index(22, 0)
    np.testing.assert_allclose(act22[idx22.location], np.concatenate([act11[idx11.location]] * 2), atol=1e-12)
    np.testing.assert_allclose(act22[idx22.network], act11[idx11.network], atol=1e-12)


def _shared_ppo(env: AllocationEnv) -> PPO:
    return PPO(SharedLocationPolicy, env, seed=4, device="cpu",
               policy_kwargs={**layout_kwargs(env), "net_arch": [32, 32]})


@pytest.mark.parametrize("mode", ["shares", "residual"])
def test_onnx_equals_torch_on_both_sizes(mode: str, tmp_path: Path) -> None:
    """One exported file on 11 and 22 locations: the action equals the torch actor's; in shares mode the
    graph's fractions equal the env's own decode of that action on each network."""
    small = _env("retail-medium", mode)
    model = _shared_ppo(small)
    with torch.no_grad():
        for layer in model.policy.actor.output_layers():
            layer.weight.normal_(0.0, 0.5)
    learned = LearnedPolicy(model, None, action_mode=mode)
    policy = OnnxPolicy.load(export_policy(learned, "ppo", small, tmp_path / "shared.onnx"))
    assert policy.card.any_network and policy.card.channels == ["store", "online", "wholesale"]
    large = _env(scenario_from_dict(_wider("retail-medium", 2)), mode)
    for env in (small, large):
        obs = np.stack([_obs(env, seed) for seed in (40011, 40012)]).astype(np.float32)
        out = policy.run(obs)
        with torch.no_grad():
            want = model.policy.actor(torch.as_tensor(obs)).clamp(-1, 1).numpy()
        assert out["action"].shape == (2, env.action_space.shape[0])
        np.testing.assert_allclose(out["action"], want, atol=1e-5)
        if mode == "shares":
            fractions = env.action_mode.shares.fractions(out["action"].astype(np.float64))
            np.testing.assert_allclose(out["allocation"], fractions.allocation, atol=1e-6)
            assert out["holdback"].shape == (2, env.network.n_locations, env.network.n_skus)
        world = _env(env.scenario)  # the evaluator's shares env; a residual policy is adapted to it
        kpis = run_episode(world, build_policy(learned_spec(tmp_path / "shared.onnx"), world, 0), 7)
        assert kpis["units_requested"] > 0


def test_lanes_export_as_torch(tmp_path: Path) -> None:
    """Transfer lanes get the lane head: the graph's action and transfer shares equal torch's and the env's
    decode, and a network with the same lanes and more stores takes the same file."""
    env = _env("omnichannel-transfers")
    model = _shared_ppo(env)
    with torch.no_grad():
        for layer in model.policy.actor.output_layers():
            layer.weight.normal_(0.0, 0.5)
    policy = OnnxPolicy.load(export_policy(LearnedPolicy(model, None), "ppo", env, tmp_path / "lanes.onnx"))
    wider = _env(scenario_from_dict(_wider("omnichannel-transfers", 2)))
    for world in (env, wider):
        obs = _obs(world).astype(np.float32)[None]
        out = policy.run(obs)
        with torch.no_grad():
            want = model.policy.actor(torch.as_tensor(obs)).clamp(-1, 1).numpy()
        np.testing.assert_allclose(out["action"], want, atol=1e-5)
        fractions = world.action_mode.shares.fractions(out["action"].astype(np.float64))
        assert fractions.transfers.any()
        np.testing.assert_allclose(out["transfers"], fractions.transfers, atol=1e-6)
        policy.check_env(world)


def test_other_skus_are_refused_in_one_line(tmp_path: Path) -> None:
    small = _env("retail-medium")
    policy = OnnxPolicy.load(export_policy(LearnedPolicy(_shared_ppo(small), None), "ppo", small,
                                           tmp_path / "shared.onnx"))
    with pytest.raises(ValueError, match="SKUs") as err:
        policy.check_env(_env("retail-small"))
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="observation has shape"):
        policy.predict(np.zeros(small.observation_space.shape[0] + 1, dtype=np.float32))


def test_hyperparams_refuse_normalised_observations(tmp_path: Path) -> None:
    file = tmp_path / "hp.yaml"
    file.write_text("default: {policy: shared-locations}\n")
    with pytest.raises(HyperparamError, match="norm_obs: false"):
        load_hyperparams("ppo", "retail-small", file)
    file.write_text("default: {policy: no-such-net}\n")
    with pytest.raises(HyperparamError, match="shared-locations"):
        load_hyperparams("ppo", "retail-small", file)
    packaged = load_hyperparams("ppo", "retail-medium", Path("ppo-shared"))
    assert packaged.policy == "shared-locations" and packaged.mode == "residual"


def test_ppo_trains_exports_and_runs_on_a_larger_network(tmp_path: Path) -> None:
    """A short PPO run on retail-small with the packaged settings; the run loads (layout rebuilt from the
    scenario), exports, and the file decides on retail-small three times over as the loaded model does."""
    hp = load_hyperparams("ppo", "retail-small", Path("ppo-shared")).model_copy(
        update={"n_envs": 16, "n_steps": 64, "batch_size": 256, "n_epochs": 2})
    config = TrainConfig(scenario="retail-small", algo="ppo", seed=1, hyperparams=hp, timesteps=4096,
                         seed_cycle=SeedCycle(20000, 100), out=tmp_path / "run")
    result = train(config)
    assert result.timesteps == 4096
    learned = load_learned(result.run_dir)
    assert isinstance(learned.model.policy, SharedLocationPolicy) and learned.normalizer is None
    policy = OnnxPolicy.load(export_run(result.run_dir, tmp_path / "policy.onnx"))
    env = _env("retail-small", "residual")
    obs = _obs(env).astype(np.float32)
    np.testing.assert_allclose(policy.predict(obs)[0], learned.predict(obs)[0], atol=1e-5)
    wide = _env(scenario_from_dict(_wider("retail-small", 3)))
    assert wide.network.n_locations == 3 * env.network.n_locations
    kpis = run_episode(wide, build_policy(learned_spec(tmp_path / "policy.onnx"), wide, 0), 7)
    assert kpis["units_requested"] > 0 and 0 <= kpis["fill_rate"] <= 100
