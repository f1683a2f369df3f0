"""The reference policy of ``allocsim train``: the best tuned rule, or the policy named by --rule."""

from __future__ import annotations

from pathlib import Path

from allocsim.baselines.registry import NOT_RULES
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.train_cmd import best_rule


def test_a_named_reference_may_be_the_exact_dp(tmp_path: Path) -> None:
    """--rule dp makes the DP optimum the validation reference and the teacher a warm start clones."""
    spec = best_rule(load_scenario("tiny-dp"), tmp_path, [30000, 30001], name="dp")
    assert spec.name == "dp"


def test_without_a_name_the_reference_is_a_rule(tmp_path: Path) -> None:
    """The default reference is ranked among the rule sets only, never the DP or the rollout policy."""
    spec = best_rule(load_scenario("tiny-dp"), tmp_path, [30000, 30001])
    assert spec.name not in NOT_RULES
