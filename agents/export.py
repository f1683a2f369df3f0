"""Export a trained policy to one ONNX graph: raw observation in, action and allocation fractions out.

Inside the graph, in order: the VecNormalize observation transform saved with the
run, the deterministic action of the SB3 policy, clipping to the action space
[-1, 1], and the decode of ``allocsim.envs.actions.ActionLayout.fractions``
(allocation weights normalised per SKU with keep-at-DC, transfer shares, order
shares, holdback shares: zeros without ``timing.holdback_decision``). The batch axis is
dynamic. The card (``allocsim.agents.policy_card``) goes into ``metadata_props``.
Recurrent policies are refused: their LSTM state would have to become a graph input
and output.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import torch
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from torch import nn

import allocsim
from allocsim.agents import runfiles
from allocsim.agents.inference import OUTPUTS
from allocsim.agents.policy import LearnedPolicy, ObsNormalizer, load_learned
from allocsim.agents.policy_card import PolicyCard
from allocsim.agents.shared_net import SharedLocationNet, SharedLocationPolicy
from allocsim.core.limits import MAX_UNITS
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand_stream import DEMAND_STREAM
from allocsim.envs.network import Network
from allocsim.envs.observation import OBS_CLIP, WEEK
from allocsim.envs.replenishment import supplier_lead
from allocsim.envs.scenario import Scenario, load_scenario

OPSET = 17


def _actor_critic_mean(policy: BasePolicy, obs: torch.Tensor) -> torch.Tensor:
    """PPO / A2C: the mean of the Gaussian (what ``predict(deterministic=True)`` returns)."""
    assert isinstance(policy, ActorCriticPolicy)
    features = policy.extract_features(obs, policy.pi_features_extractor)
    mean = policy.action_net(policy.mlp_extractor.forward_actor(features))
    return torch.tanh(mean) if policy.squash_output else mean


def _squashed_mean(policy: BasePolicy, obs: torch.Tensor) -> torch.Tensor:
    """SAC: tanh of the mean of the actor's Gaussian."""
    mean, _, _ = policy.actor.get_action_dist_params(obs)  # type: ignore[union-attr]
    return torch.tanh(mean)


def _deterministic_actor(policy: BasePolicy, obs: torch.Tensor) -> torch.Tensor:
    """TD3: the actor network itself (it ends in tanh)."""
    return policy.actor(obs)  # type: ignore[operator]


DETERMINISTIC_ACTION: dict[str, Callable[[BasePolicy, torch.Tensor], torch.Tensor]] = {
    "ppo": _actor_critic_mean,
    "a2c": _actor_critic_mean,
    "dcl": _actor_critic_mean,  # a PPO policy whose actor DCL fitted (allocsim.agents.dcl)
    "sac": _squashed_mean,
    "td3": _deterministic_actor,
}


class ExportGraph(nn.Module):
    """Normalise, act deterministically, clip, decode to fractions: the exported computation."""

    def __init__(self, policy: BasePolicy, algo: str, normalizer: ObsNormalizer | None,
                 card: PolicyCard) -> None:
        super().__init__()
        if algo not in DETERMINISTIC_ACTION:
            raise ValueError(
                f"cannot export {algo!r} policies; exportable: {', '.join(DETERMINISTIC_ACTION)} "
                "(a recurrent policy would need its LSTM state as graph input)"
            )
        self.policy = policy
        self.act = DETERMINISTIC_ACTION[algo]
        self.normalise = normalizer is not None
        size = card.observation_size
        mean = normalizer.mean if normalizer else np.zeros(size)
        std = np.sqrt(normalizer.var + normalizer.epsilon) if normalizer else np.ones(size)
        self.register_buffer("obs_mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("obs_std", torch.as_tensor(std, dtype=torch.float32))
        self.obs_clip = float(normalizer.clip) if normalizer else 0.0
        self.skus, self.destinations = card.n_skus, card.n_locations + 1
        self.lanes = len(card.lanes)
        self.blocks = {name: slice(*bounds) for name, bounds in card.action_layout.items()}
        self.shares = card.action_mode == "shares"  # else the runtime decodes ``action`` itself
        self.locations = card.n_locations

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = obs
        if self.normalise:
            x = torch.clamp((obs - self.obs_mean) / self.obs_std, -self.obs_clip, self.obs_clip)
        action = torch.clamp(self.act(self.policy, x), -1.0, 1.0)
        batch = action.shape[0]
        cells = (self.locations, self.skus)
        shapes = {"allocation": (self.skus, self.destinations), "transfers": (self.lanes, self.skus),
                  "orders": (self.skus,), "holdback": cells, "cover": cells}
        blocks = {name: action[:, block].reshape(batch, *shapes.get(name, (-1,)))
                  for name, block in self.blocks.items() if block.stop > block.start}
        return decode_outputs(action, blocks, self.shares, self.lanes, self.skus)


class SharedExportGraph(nn.Module):
    """A ``shared-locations`` actor: the observation of any network of its SKUs in (a dynamic width), the
    blocks straight from the actor, the same decode; no normalisation (the policy reads raw observations)."""

    def __init__(self, actor: SharedLocationNet, card: PolicyCard) -> None:
        super().__init__()
        self.actor = actor
        self.shares = card.action_mode == "shares"
        self.lanes, self.skus = len(card.lanes), card.n_skus

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        blocks = {name: torch.clamp(block, -1.0, 1.0) for name, block in self.actor.blocks(obs).items()}
        action = torch.cat([block.flatten(1) for block in blocks.values()], dim=1)
        return decode_outputs(action, blocks, self.shares, self.lanes, self.skus)


def decode_outputs(action: torch.Tensor, blocks: dict[str, torch.Tensor], shares: bool, lanes: int,
                   skus: int) -> tuple[torch.Tensor, ...]:
    """The graph's outputs from the clipped action (B, n) and its non-empty blocks, structured
    (allocation (B, S, L + 1), transfers (B, K, S), orders (B, S), holdback (B, L, S); cover (B, L, S)
    in targets/residual); sizes are read from the tensors, so one graph serves any number of locations
    (zeros are ``x * 0``: ``zeros_like`` would be frozen to the example's shape by the tracer)."""
    batch = action.shape[0]
    if not shares:  # targets/residual: the fractions depend on the state, not in the graph
        cover = blocks["cover"] * 0.0
        zeros = torch.cat([cover, cover[:, :1]], dim=1).transpose(1, 2)
        return action, zeros, action.new_zeros((batch, lanes, skus)), cover[:, 0], cover
    weights = (blocks["allocation"] + 1.0) * 0.5
    total = weights.sum(dim=-1, keepdim=True)
    positive = total > 0
    keep = torch.cat([weights[..., :-1] * 0.0, weights[..., -1:] * 0.0 + 1.0], dim=-1)
    allocation = torch.where(positive, weights / torch.where(positive, total, total * 0.0 + 1.0), keep)
    if "transfers" in blocks:
        transfers = torch.relu(blocks["transfers"])
    else:  # (B, 0, S); a reshape to a zero-size axis crashes the exporter
        transfers = action.new_zeros((batch, 0, skus))
    orders = (blocks["orders"] + 1.0) * 0.5 if "orders" in blocks else allocation[..., 0] * 0.0
    if "holdback" in blocks:
        holdback = (blocks["holdback"] + 1.0) * 0.5
    else:
        holdback = allocation[..., :-1].transpose(1, 2) * 0.0
    return action, allocation, transfers, orders, holdback


def policy_card(env: AllocationEnv, algo: str, run_id: str) -> PolicyCard:
    """The card of a policy trained on ``env``'s scenario."""
    net, obs_layout, mode = env.network, env.observation_layout, env.action_mode
    ranges = mode.ranges()
    return PolicyCard(
        scenario=env.scenario.name,
        scenario_hash=env.scenario.content_hash(),
        demand_stream=DEMAND_STREAM,
        version=allocsim.__version__,
        algo=algo,
        run_id=run_id,
        skus=list(net.skus),
        locations=list(net.locations),
        lanes=[[net.locations[a], net.locations[b]]
               for a, b in zip(net.lane_source, net.lane_target, strict=True)],
        periods=int(net.periods),
        forecast_horizon=int(env.scenario.forecast.horizon),
        age_buckets=int(net.age_buckets),
        obs_clip=float(OBS_CLIP),
        week=float(WEEK),
        safety_reserve=[int(v) for v in net.safety_reserve],
        dc_scale=[float(v) for v in obs_layout.dc_scale],
        location_scale=obs_layout.location_scale.astype(float).tolist(),
        max_order=[int(v) for v in net.max_order] if net.policy_orders else [0] * net.n_skus,
        observation_layout=obs_layout.describe(),
        action_layout={name: [start, stop] for name, (start, stop) in mode.blocks().items()},
        action_mode=mode.name,
        target_ranges={} if ranges is None else {
            name: [float(v) for v in getattr(ranges, name)] for name in ("centre", "half", "low", "high")
        },
        supplier_lead=[float(v) for v in supplier_lead(net)],
        order_stop_periods=mode.order_stop_periods,
        **same_day_facts(net),
        timing=env.scenario.timing.mode,
        channels=list(net.channels),
    )


def same_day_facts(net: Network) -> dict[str, list[int]]:
    """The lead times a decided holdback needs to count what is on the shelf today (the card's
    ``lead_time``, ``lane_lead``, ``lane_threshold`` and ``lane_delay``; ``allocsim.core.same_day``)."""
    return {"lead_time": [int(v) for v in net.lead_time], "lane_lead": [int(v) for v in net.lane_lead],
            "lane_threshold": [int(min(v, MAX_UNITS)) for v in net.lane_threshold],  # BIG: no approval
            "lane_delay": [int(v) for v in net.lane_delay]}


def card_on_network(card: PolicyCard, scenario: Scenario) -> PolicyCard:
    """The card of a policy shared across locations (``any_network``) for ``scenario``'s network: its
    locations, lanes, scales and decode ranges; ValueError in one line when the SKUs, channels or lanes
    differ."""
    env = AllocationEnv(scenario, action_mode=card.action_mode, residual_around=card.residual_around or None)
    net = env.network
    lanes = [(int(a), int(b)) for a, b in zip(net.lane_source, net.lane_target, strict=True)]
    problem = card.network_mismatch(list(net.skus), list(net.channels), lanes)
    if problem is not None:
        raise ValueError(f"the policy {problem}")
    return replace(policy_card(env, card.algo, card.run_id), any_network=True,
                   residual_around=dict(card.residual_around))


def export_policy(learned: LearnedPolicy, algo: str, env: AllocationEnv, out: Path, run_id: str = "") -> Path:
    """Write ``learned`` as one ONNX graph (opset 17, dynamic batch) with its card; atomically.

    A ``shared-locations`` policy's graph also takes observations of any width (any number of
    locations of its SKUs), and its card says so (``any_network``)."""
    learned.check_env(env)
    card = policy_card(env, algo, run_id)
    axes: dict[str, dict[int, str]] = {name: {0: "batch"} for name in ("observation", *OUTPUTS)}
    policy = learned.model.policy
    graph: nn.Module
    if isinstance(policy, SharedLocationPolicy):
        if learned.normalizer is not None:
            raise ValueError(f"{learned.name}: a shared-locations policy reads raw observations, but this "
                             "run normalised them (normalize: {norm_obs: false})")
        card = replace(card, any_network=True, residual_around=dict(learned.residual_around or {}))
        graph = SharedExportGraph(policy.actor, card).eval()
        axes |= {"observation": {0: "batch", 1: "width"}, "action": {0: "batch", 1: "entries"},
                 "allocation": {0: "batch", 2: "destinations"}, "holdback": {0: "batch", 1: "locations"}}
    else:
        graph = ExportGraph(policy, algo, learned.normalizer, card).eval()
    example = torch.zeros(1, card.observation_size, dtype=torch.float32)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(graph, (example,), buffer, input_names=["observation"], output_names=list(OUTPUTS),
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    model.producer_name, model.producer_version = "allocsim", allocsim.__version__
    for key, value in card.to_metadata().items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    return runfiles.atomic_write(Path(out), lambda tmp: onnx.save(model, str(tmp)))


def export_run(run_dir: str | Path, out: str | Path) -> Path:
    """Export the policy of a training run folder (unpickles it: trusted folders only)."""
    run = Path(run_dir)
    config = runfiles.read_config(run)
    scenario = load_scenario(config["scenario"])
    trained_on = config.get("scenario_hash")
    if trained_on is not None and trained_on != scenario.content_hash():
        raise ValueError(f"{run} was trained on scenario {scenario.name!r} with hash {trained_on}; "
                         f"{config['scenario']} now has hash {scenario.content_hash()} (edited since?)")
    learned = load_learned(run)
    env = AllocationEnv(scenario, action_mode=learned.action_mode, residual_around=learned.residual_around)
    run_id = f"{run.name}@{learned.model.num_timesteps}"
    return export_policy(learned, str(config["algo"]), env, Path(out), run_id=run_id)
