"""Rules, the DP policy and the rollout policy drive one env: a batch of one is served, a larger
batch refused in one line naming who refused (one guard, ``baselines.common.one_observation``)."""

from __future__ import annotations

import numpy as np
import pytest

from allocsim.baselines.registry import make_policy
from allocsim.envs.allocation_env import AllocationEnv


@pytest.mark.parametrize(("policy", "who"), [("base-stock", "a rule set"), ("priority", "a rule set"),
                                             ("dp", "the DP policy")])
def test_one_env_policies_serve_a_batch_of_one_and_refuse_more(policy: str, who: str) -> None:
    env = AllocationEnv(scenario="tiny-dp")
    obs, _ = env.reset(seed=3)
    rule = make_policy(policy, env)
    single, _ = rule.predict(obs)
    batched, _ = rule.predict(obs[None])
    assert batched.shape == (1, *single.shape)
    np.testing.assert_array_equal(batched[0], single)
    with pytest.raises(ValueError, match=f"^{who} drives one env; got a batch of 2 observations$"):
        rule.predict(np.stack([obs, obs]))
