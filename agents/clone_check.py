"""How exactly a clone copies its teacher where it counts: in whole units, on the states it visits.

A ``shares`` action is continuous, but the env moves whole units: the allocation weights are
normalised and split the DC's available stock by largest remainder. A clone whose mean action is
close to the teacher's in mean squared error can still send one unit elsewhere whenever a product
``available x fraction`` crosses a rounding boundary; this module counts how often that happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from allocsim.agents.warm_start import Actor, Teacher
from allocsim.core.unit_decode import largest_remainder_row
from allocsim.envs.actions import ActionLayout
from allocsim.envs.vector_env import AllocationVectorEnv


def allocation_units(layout: ActionLayout, actions: NDArray[Any], available: NDArray[np.int64]
                     ) -> NDArray[np.int64]:
    """(B, S, L + 1) whole units that ``shares`` actions (B, n) give each location and the DC (last) of
    ``available`` (B, S): the env's decode before guardrails (clip, fractions, largest remainder)."""
    fractions = layout.fractions(np.clip(np.asarray(actions, dtype=np.float64), -1.0, 1.0)).allocation
    out = np.zeros(fractions.shape, dtype=np.int64)
    order = np.zeros(fractions.shape[-1], dtype=np.int64)
    for b in range(fractions.shape[0]):
        for s in range(fractions.shape[1]):
            largest_remainder_row(int(available[b, s]), fractions[b, s], out[b, s], order)
    return out


def units_agreement(scenario: Any, teacher: Teacher, actor: Actor, seeds: Sequence[int]) -> NDArray[np.bool_]:
    """(periods, episodes): True where the clone's decoded allocation equals the teacher's.

    ``actor`` drives one episode per seed (all at once on the native vector env); at every state it
    visits the teacher says what it would do, and both actions are decoded to units.
    """
    chunk = [int(seed) for seed in seeds]
    venv = AllocationVectorEnv(len(chunk), scenario, seed_stream=lambda base, i, j, c=chunk: c[i])
    rules = [teacher(venv.view(i), seed) for i, seed in enumerate(chunk)]
    layout = venv.engine.actions
    obs, _ = venv.reset(seed=0)
    same = []
    for _ in range(venv.network.periods):
        available = np.stack([venv.view(i).state.dc_available for i in range(len(chunk))])
        labels = np.stack([np.asarray(rule.predict(obs[i], deterministic=True)[0])
                           for i, rule in enumerate(rules)])
        actions = actor(obs)
        same.append((allocation_units(layout, labels, available)
                     == allocation_units(layout, actions, available)).all(axis=(1, 2)))
        obs, *_ = venv.step(actions)
    return np.asarray(same)
