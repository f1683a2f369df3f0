"""Deep Controlled Learning's own hyperparameters (the ``dcl`` entry of ``agents/hyperparams/dcl.yaml``).

Plain data, validated: how many futures each candidate meets, how far the rollouts look, how far
the candidates move from the current policy's action, and how sure a label must be. The budget
(states per generation = ``n_envs`` x ``n_steps``, generations = ``n_timesteps`` / that) and the
fit (``learning_rate``, ``batch_size``, ``n_epochs``) are the hyperparameter file's usual keys.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DclParams(BaseModel):
    """How DCL compares candidate actions at a sampled state (``allocsim.agents.dcl_label``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    samples: int = Field(default=16, ge=2, le=256, description="sampled futures every candidate meets "
                         "(common random numbers; fresh futures at every state)")
    horizon: int = Field(default=10, ge=1, le=10_000, description="periods per rollout (the current "
                         "policy decides after the first)")
    step: float = Field(default=0.25, gt=0.0, le=2.0, description="each coordinate of the current "
                        "action moved by +- step (action units): 2 x n candidates")
    spread: float = Field(default=0.25, gt=0.0, lt=1.0, description="base-stock's tuned parameters "
                          "scaled by 1 +- spread are candidates too (as in the rollout policy)")
    z: float = Field(default=1.0, ge=0.0, le=10.0, description="best: a state is relabelled only when the "
                     "best candidate's paired mean gain over the current action exceeds z standard errors; "
                     "coordinates: a coordinate moves a whole step when its paired t-statistic reaches z")
    label: Literal["best", "coordinates"] = Field(
        default="best", description="best: the label is the one best candidate; coordinates: every "
        "coordinate moves by its own paired test of +step against -step (no rule candidates)")


#: The fit's settings when the hyperparameter file leaves them out.
DEFAULT_LEARNING_RATE = 1e-3
DEFAULT_BATCH_SIZE = 256
DEFAULT_EPOCHS = 20
