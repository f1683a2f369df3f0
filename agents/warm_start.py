"""Warm start: clone a tuned rule into a fresh actor-critic before reinforcement learning starts.

A PPO policy that starts from random weights spends most of its budget rediscovering
what a tuned base-stock or priority rule already does (and on retail-medium it never
gets there). Warm starting plays the rule for a few training episodes, then

1. seeds ``VecNormalize`` with the rule's observations and returns, so the
   normalisation the policy sees at step 0 is the one it will see later;
2. fits the actor's mean to the rule's actions (behaviour cloning, MSE) and the
   critic to the rule's discounted normalised returns (Monte Carlo targets), so the
   first advantages PPO computes are about the rule, not about an untrained critic;
3. sets the exploration noise (``log_std``) low, so the first rollouts stay close to
   the rule and PPO refines it instead of forgetting it.

Action entries that decode to nothing (an allocation or order weight at -1, a transfer
share at or below 0) are fitted to ``zero_target`` (below -1): the env clips actions to
[-1, 1], so with a small ``log_std`` sampled actions keep those quantities at zero
instead of leaking stock to every location.
The result is an ordinary SB3 model: saving, resuming and ONNX export are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import reduce
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from allocsim.envs.actions import ActionLayout
from allocsim.envs.network import Network
from allocsim.envs.scenario import load_scenario
from allocsim.envs.vector_env import AllocationVectorEnv, CopyView

Teacher = Callable[[CopyView, int], Any]  # (env, seed) -> an SB3-style predictor bound to env


class WarmStart(BaseModel):
    """Hyperparameters of the warm start (the ``warm_start`` entry of a hyperparameter file)."""

    model_config = ConfigDict(extra="forbid")

    episodes: int = Field(default=60, ge=1, description="rule episodes played for the demonstrations")
    dagger_rounds: int = Field(default=1, ge=0, description="rounds of episodes played by the clone, "
                               "labelled by the rule and added to the demonstrations")
    epochs: int = Field(default=40, ge=1, description="passes of supervised fitting over them")
    batch_size: int = Field(default=256, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    log_std: float = Field(default=-1.5, description="exploration noise set after cloning")
    zero_target: float = Field(default=-1.5, le=-1.0, description="fit target for zero-share entries")
    units_weight: float = Field(default=0.0, ge=0.0, description="weight of the loss on decoded units: the "
                                "squared error of the allocation in whole units of the DC's available stock")


@dataclass(frozen=True)
class Demonstrations:
    """The rule's episodes, concatenated: raw observations, actions, rewards and episode ends."""

    observations: NDArray[np.float32]  # (N, m)
    actions: NDArray[np.float32]  # (N, n)
    rewards: NDArray[np.float64]  # (N,)
    ends: NDArray[np.bool_]  # (N,) True on the last step of an episode
    available: NDArray[np.int64]  # (N, S) units the DC could allocate at the decision

    def joined(self, other: Demonstrations) -> Demonstrations:
        """These steps followed by ``other``'s."""
        return Demonstrations(*(np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                                for f in fields(self)))


Actor = Callable[[NDArray[np.float32]], NDArray[np.float32]]  # raw observation -> action


#: Copies of the world played side by side by ``play_rule`` (the teacher still decides copy by copy).
PLAY_COPIES = 64


def play_rule(scenario: Any, teacher: Teacher, seeds: Sequence[int], actor: Actor | None = None,
              copies: int = PLAY_COPIES) -> Demonstrations:
    """One episode per seed on the native vector env, labelled step by step with the teacher's action.

    Up to ``copies`` seeds play at once: the world steps in one compiled call, the teacher
    (a rule bound to a single env) decides for each copy through ``AllocationVectorEnv.view``.
    The teacher also drives unless ``actor`` is given (DAgger: the cloned policy, applied
    to the whole batch, visits the states and the rule says what it would have done there).
    Rows come episode by episode in the order of ``seeds``, as if played one after another.
    """
    chunks: list[Demonstrations] = []
    for first in range(0, len(seeds), copies):
        chunk = [int(seed) for seed in seeds[first:first + copies]]
        venv = AllocationVectorEnv(len(chunk), scenario, seed_stream=lambda base, i, j, c=chunk: c[i])
        chunks.append(_play_chunk(venv, teacher, chunk, actor))
    return reduce(Demonstrations.joined, chunks)


def _play_chunk(venv: AllocationVectorEnv, teacher: Teacher, seeds: list[int], actor: Actor | None
                ) -> Demonstrations:
    """Every copy of ``venv`` plays one whole episode on its seed; rows grouped by episode."""
    rules = [teacher(venv.view(i), seed) for i, seed in enumerate(seeds)]
    obs, _ = venv.reset(seed=0)
    obs_rows, act_rows, rewards, avail_rows = [], [], [], []
    for _ in range(venv.network.periods):
        avail_rows.append(np.stack([venv.view(i).state.dc_available for i in range(len(seeds))]))
        labels = np.stack([np.asarray(rule.predict(obs[i], deterministic=True)[0], dtype=np.float32)
                           for i, rule in enumerate(rules)])
        obs_rows.append(obs)
        act_rows.append(labels)
        obs, reward, *_ = venv.step(labels if actor is None else actor(obs))
        rewards.append(reward)
    periods = len(rewards)
    ends = np.zeros((len(seeds), periods), dtype=np.bool_)
    ends[:, -1] = True

    def by_episode(rows: list[NDArray[Any]]) -> NDArray[Any]:
        return np.swapaxes(np.asarray(rows), 0, 1).reshape(len(seeds) * periods, *rows[0].shape[1:])

    return Demonstrations(by_episode(obs_rows).astype(np.float32), by_episode(act_rows),
                          by_episode(rewards).astype(np.float64), ends.reshape(-1),
                          by_episode(avail_rows).astype(np.int64))


def discounted(values: NDArray[np.float64], ends: NDArray[np.bool_], gamma: float) -> NDArray[np.float64]:
    """Discounted sums to go, restarting after every episode end (the horizon is terminal)."""
    out = np.empty_like(values)
    running = 0.0
    for i in range(len(values) - 1, -1, -1):
        running = values[i] + (0.0 if ends[i] else gamma * running)
        out[i] = running
    return out


def seed_normalisation(venv: VecEnv, demos: Demonstrations) -> None:
    """Feed the rule's observations and running returns to ``VecNormalize``'s statistics."""
    if not isinstance(venv, VecNormalize):
        return
    if venv.norm_obs:
        venv.obs_rms.update(demos.observations.astype(np.float64))
    if venv.norm_reward:
        running = np.empty_like(demos.rewards)
        ret = 0.0
        for i, r in enumerate(demos.rewards):  # VecNormalize's own running return, reset at episode ends
            ret = ret * venv.gamma + r
            running[i] = ret
            if demos.ends[i]:
                ret = 0.0
        venv.ret_rms.update(running)


def zero_entries(layout: ActionLayout, actions: NDArray[np.float32]) -> NDArray[np.bool_]:
    """Entries whose decoded quantity is zero: weights at -1, transfer shares at or below 0."""
    zero = actions <= -1.0 + 1e-6
    zero[:, layout.transfers] = actions[:, layout.transfers] <= 0.0
    return zero


def split_units(layout: ActionLayout, actions: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
    """(B, S, L + 1) units of the DC's ``available`` (B, S) stock that ``actions``' allocation weights
    give each location and the DC before rounding: the decode's fractions, differentiable (zero weights
    keep all)."""
    skus, width = layout.block_shapes[0]
    weights = ((actions[:, layout.allocation].clamp(-1.0, 1.0) + 1.0) * 0.5).reshape(-1, skus, width)
    total = weights.sum(dim=-1, keepdim=True)
    keep = torch.zeros(width, dtype=weights.dtype)
    keep[-1] = 1.0
    fractions = torch.where(total > 0, weights / total.clamp_min(1e-12), keep)
    return fractions * available.unsqueeze(-1)


def clone(policy: ActorCriticPolicy, venv: VecEnv, demos: Demonstrations, settings: WarmStart,
          gamma: float, seed: int, layout: ActionLayout) -> dict[str, float]:
    """Fit actor mean and critic to the demonstrations; the final losses."""
    if isinstance(venv, VecNormalize):
        obs = venv.normalize_obs(demos.observations)
        rewards = venv.normalize_reward(demos.rewards)
    else:
        obs, rewards = demos.observations, demos.rewards
    targets = np.where(zero_entries(layout, demos.actions), settings.zero_target, demos.actions)
    returns = discounted(np.asarray(rewards, dtype=np.float64), demos.ends, gamma)
    x = torch.as_tensor(np.asarray(obs, dtype=np.float32))
    y = torch.as_tensor(targets, dtype=torch.float32)
    v = torch.as_tensor(returns, dtype=torch.float32)
    available = torch.as_tensor(demos.available, dtype=torch.float32)
    units = split_units(layout, torch.as_tensor(demos.actions, dtype=torch.float32), available)
    optimiser = torch.optim.Adam(policy.parameters(), lr=settings.learning_rate)
    generator = torch.Generator().manual_seed(seed)
    policy.set_training_mode(True)
    actor_loss = critic_loss = torch.zeros(())
    for _ in range(settings.epochs):
        for batch in torch.randperm(len(x), generator=generator).split(settings.batch_size):
            mean = policy.get_distribution(x[batch]).distribution.mean
            actor_loss = torch.nn.functional.mse_loss(mean, y[batch])
            if settings.units_weight > 0:  # the error where it counts: in units, up to 0.5 decodes right
                actor_loss = actor_loss + settings.units_weight * torch.nn.functional.mse_loss(
                    split_units(layout, mean, available[batch]), units[batch])
            critic_loss = torch.nn.functional.mse_loss(policy.predict_values(x[batch]).flatten(), v[batch])
            optimiser.zero_grad()
            (actor_loss + 0.5 * critic_loss).backward()
            optimiser.step()
    policy.set_training_mode(False)
    with torch.no_grad():
        policy.log_std.fill_(settings.log_std)
    return {"warm_actor_mse": actor_loss.item(), "warm_critic_mse": critic_loss.item()}


def warm_start(model: Any, venv: VecEnv, scenario: Any, teacher: Teacher, seeds: Sequence[int],
               settings: WarmStart, seed: int,
               say: Callable[[str], object] | None = None) -> dict[str, float]:
    """Play the teacher on ``seeds``, seed the normalisation and clone it into ``model``'s policy.

    ``say`` hears each stage as it starts (playing, fitting, each DAgger round), so a long warm
    start is never silent. ValueError when the model is not a Gaussian actor-critic (PPO/A2C with
    an MLP policy).
    """
    say = say or (lambda _line: None)
    rounds = settings.dagger_rounds
    policy = model.policy
    if not isinstance(policy, ActorCriticPolicy) or not hasattr(policy, "log_std") \
            or type(policy).__name__.startswith("Recurrent"):
        raise ValueError(f"warm_start needs a PPO or A2C MLP policy, not {type(policy).__name__}")
    layout = ActionLayout(Network.compile(load_scenario(scenario)))
    say(f"warm start: playing the reference rule on {len(seeds)} episodes")
    demos = play_rule(scenario, teacher, seeds)
    seed_normalisation(venv, demos)
    say(f"warm start: fitting the clone ({settings.epochs} epochs on {len(demos.rewards):,} decisions)")
    losses = clone(policy, venv, demos, settings, float(model.gamma), seed, layout)
    for r in range(1, rounds + 1):
        say(f"warm start: DAgger round {r}/{rounds}: the clone plays {len(seeds)} episodes, "
            "the rule labels them")
        demos = demos.joined(play_rule(scenario, teacher, seeds, actor=deterministic_actor(policy, venv)))
        say(f"warm start: DAgger round {r}/{rounds}: fitting ({settings.epochs} epochs on "
            f"{len(demos.rewards):,} decisions)")
        losses = clone(policy, venv, demos, settings, float(model.gamma), seed, layout)
    return {**losses, "warm_samples": float(len(demos.rewards))}


def deterministic_actor(policy: ActorCriticPolicy, venv: VecEnv) -> Actor:
    """The policy's mean action on a raw observation (normalised as in training)."""

    def act(obs: NDArray[np.float32]) -> NDArray[np.float32]:
        x = venv.normalize_obs(obs) if isinstance(venv, VecNormalize) else obs
        action, _ = policy.predict(np.asarray(x, dtype=np.float32), deterministic=True)
        return np.clip(action, -1.0, 1.0)

    return act
