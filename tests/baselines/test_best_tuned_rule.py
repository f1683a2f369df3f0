"""The one definition of "the best tuned rule": a played sp-mpc counts, random, hold, dp and rollout never.

Hand-made mean profits; the expected winner is read off the table by eye.
"""

from __future__ import annotations

from allocsim.baselines.registry import NOT_RULES, best_tuned_rule, is_tuned_rule, rule_names

#: The eight rule sets' and sp-mpc's mean profits, sp-mpc the highest; dp, rollout, floors higher still.
MEANS = {"random": 900.0, "hold": 800.0, "proportional": 100.0, "balanced": 104.0, "priority": 101.0,
         "base-stock": 110.0, "min-max": 109.0, "myopic-lp": 95.0, "sp-mpc": 113.0, "dp": 120.0,
         "rollout": 115.0, "ppo-seed0": 130.0, "dcl:run": 131.0}


def test_a_played_sp_mpc_with_the_highest_mean_is_the_best_tuned_rule() -> None:
    assert best_tuned_rule(MEANS) == "sp-mpc"


def test_without_sp_mpc_the_best_of_the_eight_rule_sets() -> None:
    """Not played (the benchmark's default): the rule sets decide, random and hold never win."""
    played = {k: v for k, v in MEANS.items() if k != "sp-mpc"}
    assert best_tuned_rule(played) == "base-stock"
    assert best_tuned_rule({k: MEANS[k] for k in rule_names()}) == "base-stock"
    assert best_tuned_rule({"random": 1.0, "hold": 2.0, "dp": 3.0, "ppo-seed0": 4.0}) is None
    assert best_tuned_rule({}) is None


def test_labels_map_to_policy_names_and_ties_keep_the_first() -> None:
    """With ``names`` a label counts by its policy's name; a label it lacks (a learned policy) is no rule."""
    means = {"bs-tuned": 10.0, "mpc": 12.0, "sp-mpc": 50.0, "opt": 60.0}
    assert best_tuned_rule(means, {"bs-tuned": "base-stock", "mpc": "sp-mpc", "opt": "dp"}) == "mpc"
    assert best_tuned_rule({"min-max": 5.0, "base-stock": 5.0}) == "min-max"


def test_sp_mpc_is_a_tuned_rule_but_not_played_by_default() -> None:
    assert is_tuned_rule("sp-mpc") and "sp-mpc" in NOT_RULES and "sp-mpc" not in rule_names()
    assert not any(is_tuned_rule(n) for n in ("dp", "rollout", "random", "hold", "ppo-seed0"))
    assert len(rule_names()) == 8 and sum(is_tuned_rule(n) for n in rule_names()) == 6
