"""Rule sets and bounds: heuristics with the stable-baselines3 predictor interface.

The public API: ``make_policy(name, env, seed=None, **params)`` builds a rule set bound to an
env; ``policy_names()`` / ``rule_names()`` list them (``is_tuned_rule``: which
count as tuned rules when played); ``find_tuned`` / ``load_tuned`` give a
rule's tuned parameters for a scenario (yours from ``allocsim tune`` first, then those shipped
for the presets). Importing this package loads no rule class, SciPy or simulator; each rule's
module is imported when it is first built.
"""

from allocsim.baselines.registry import (
    NEVER_TUNED_RULES,
    NOT_RULES,
    POLICIES,
    Predictor,
    is_tuned_rule,
    make_policy,
    policy_names,
    rule_names,
)
from allocsim.baselines.tuned_params import (
    DEFAULT_TUNED_DIR,
    Tuned,
    find_tuned,
    load_tuned,
    packaged_tuned,
    tuned_path,
    user_tuned,
)

__all__ = [
    "DEFAULT_TUNED_DIR",
    "NEVER_TUNED_RULES",
    "NOT_RULES",
    "POLICIES",
    "Predictor",
    "Tuned",
    "find_tuned",
    "is_tuned_rule",
    "load_tuned",
    "make_policy",
    "packaged_tuned",
    "policy_names",
    "rule_names",
    "tuned_path",
    "user_tuned",
]
