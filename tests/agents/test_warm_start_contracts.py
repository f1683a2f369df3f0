"""contracts-scarce's packaged warm start clones tuned priority (with ``ship_known_due``) with the units loss.

What the clone needs to see is checked in tests/envs/test_known_orders_observation.py (priority's
strategic due is a function of the observation with the ``known_orders`` block). A tiny clone (40
episodes, 15 epochs) was only within one unit of priority's strategic shipment on 49 % of the test
states, so the clone's quality is measured by benchmarking the packaged entry, not here: with 500
episodes it lost 267 +- 22 per episode to priority on the 100 test episodes (docs/training.md).
"""

from __future__ import annotations

from allocsim.agents.hyperparams import load_hyperparams
from allocsim.baselines.tuned_params import find_tuned
from allocsim.envs.scenario import load_scenario

PRESET = "contracts-scarce"


def test_packaged_entry_clones_priority_with_the_units_loss() -> None:
    hp = load_hyperparams("ppo", PRESET)
    assert hp.warm_start is not None and hp.warm_start.units_weight > 0 and hp.warm_start.episodes >= 500
    assert hp.learning_rate == 3e-5 and hp.clip_range == 0.1
    scenario = load_scenario(PRESET)
    assert scenario.observation.known_orders  # the clone sees the orders known day by day
    tuned = find_tuned(scenario, "priority")  # the teacher: found under the unchanged content hash
    assert tuned is not None and tuned.params["ship_known_due"] is True
