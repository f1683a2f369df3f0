"""DCL's three steps of a generation: sample states by playing the policy, label them, fit the actor.

``sample_states`` plays the current policy deterministically on one training episode per copy of a
native vector env and keeps ``per_copy`` states of each episode at periods drawn from the
generation's generator. ``label_states`` hands each to the ``Labeller``. ``fit_actor`` regresses the
actor's mean (the action ``predict(deterministic=True)`` returns) onto the labels with the policy's
own optimizer, minibatches shuffled by a generator of the run seed and generation. Everything a
generation draws is keyed by (run seed, generation), so a generation replays bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from allocsim.agents.dcl_label import ActorPolicy, Labeller
from allocsim.envs.engine.state import EngineState
from allocsim.envs.vector_env import AllocationVectorEnv

FloatArray = NDArray[np.float64]


def generation_seed(run_seed: int, generation: int, *more: int) -> int:
    """A 62-bit seed of (run seed, generation, ...): futures, sampled periods and minibatches."""
    word = np.random.SeedSequence([0xDC1, int(run_seed), int(generation), *map(int, more)]).generate_state(
        1, np.uint64)[0]
    return int(word) % 2**62


@dataclass
class Sample:
    """The states a generation labels, the observations and actions of the policy there, and the
    sampling episodes' outcome (every observation of them, for the normalisation statistics)."""

    states: list[EngineState]
    observations: NDArray[np.float32]  # (N, m)
    actions: FloatArray  # (N, n)
    profits: FloatArray  # (copies,) episode profit
    fill_rates: FloatArray  # (copies,) episode fill rate %
    all_observations: NDArray[np.float32]  # (copies x periods, m)
    periods: int  # periods played


def sample_states(venv: AllocationVectorEnv, actor: ActorPolicy, episode: int, per_copy: int,
                  seed: int) -> Sample:
    """Every copy plays its ``episode``-th training episode under ``actor``; ``per_copy`` states of
    each, at distinct periods drawn by ``seed``'s generator, in (period, copy) order."""
    n, periods = venv.num_envs, venv.network.periods
    if per_copy > periods:
        raise ValueError(f"dcl: n_steps {per_copy} states per copy and generation, but an episode has "
                         f"only {periods} periods; lower n_steps or raise n_envs")
    rng = np.random.default_rng(seed)
    chosen = np.zeros((periods, n), dtype=bool)
    for i in range(n):
        chosen[rng.choice(periods, size=per_copy, replace=False), i] = True
    obs, _ = venv.reset(seed=episode)
    states, picked_obs, picked_act, seen = [], [], [], []
    profits, fills = np.full(n, np.nan), np.full(n, np.nan)
    for t in range(periods):
        action = actor.actions(obs)
        seen.append(obs)
        for i in np.flatnonzero(chosen[t]):
            states.append(venv.engine.state.row(int(i)))
            picked_obs.append(obs[i])
            picked_act.append(action[i])
        obs, _, terminated, _, info = venv.step(action.astype(np.float32))
        if terminated.any():
            kpis = info["final_info"]["episode_kpis"]
            profits[terminated] = np.asarray(kpis["profit"], dtype=np.float64)[terminated]
            fills[terminated] = np.asarray(kpis["fill_rate"], dtype=np.float64)[terminated]
    return Sample(states, np.asarray(picked_obs, dtype=np.float32), np.asarray(picked_act), profits, fills,
                  np.concatenate(seen).astype(np.float32), periods * n)


@dataclass(frozen=True)
class Labels:
    """A generation's labels: the actions to fit, how many states changed and their mean gain."""

    actions: FloatArray  # (N, n)
    relabelled: int
    mean_gain: float  # over the relabelled states (0 without any)
    periods: int  # periods simulated by the rollouts


def label_states(labeller: Labeller, sample: Sample, run_seed: int, generation: int,
                 on_state: Callable[[int], None] | None = None) -> Labels:
    """Each sampled state labelled on its own futures; ``on_state(k)`` after state ``k``."""
    rows, gains = [], []
    for k, (state, action) in enumerate(zip(sample.states, sample.actions, strict=True)):
        label = labeller.label(state, action, generation_seed(run_seed, generation, 1, k))
        rows.append(label.action)
        if label.index:
            gains.append(label.gain)
        if on_state is not None:
            on_state(k)
    periods = len(rows) * labeller.periods_per_state
    return Labels(np.asarray(rows), len(gains), float(np.mean(gains)) if gains else 0.0, periods)


def fit_actor(actor: ActorPolicy, observations: NDArray[np.float32], targets: FloatArray, epochs: int,
              batch_size: int, learning_rate: float, seed: int) -> float:
    """Regress the actor's mean onto ``targets`` (MSE, Adam of the policy); the last epoch's mean loss."""
    policy = actor.policy
    obs = actor.normalizer(observations) if actor.normalizer is not None else observations
    x = torch.as_tensor(obs, dtype=torch.float32)
    y = torch.as_tensor(targets, dtype=torch.float32)
    for group in policy.optimizer.param_groups:
        group["lr"] = learning_rate
    generator = torch.Generator().manual_seed(seed)
    policy.set_training_mode(True)
    last = 0.0
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        losses = []
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            mean = policy.get_distribution(x[idx]).mode()
            loss = torch.nn.functional.mse_loss(mean, y[idx])
            policy.optimizer.zero_grad()
            loss.backward()
            policy.optimizer.step()
            losses.append(loss.item())
        last = float(np.mean(losses))
    policy.set_training_mode(False)
    return last
