"""The ONNX runtime holds back what the env holds back, same-day deliveries included (issue 24,
item 14): a decided holdback covers the units its own decision puts on the shelf today (lead
time 0 from the DC, or a same-day transfer not waiting for approval), and the policy card carries
the lead times the runtime needs for that."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from allocsim.agents.inference import OnnxPolicy
from allocsim.agents.policy_card import CardError, PolicyCard
from allocsim.agents.state_input import observation, parse_state
from allocsim.core.same_day import holdback_base
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.experiments.planning_state import planning_state


def same_day_variant() -> Scenario:
    """strategic-holdback-decision with two branches restocked the same day (lead time 0), a same-day
    lane into branch-1 and one into branch-2 that waits a period above 3 units (approval)."""
    data = load_scenario("strategic-holdback-decision").model_dump(mode="json", by_alias=True)
    data["name"] = "holdback-same-day"
    data["locations"][0]["lead_time"] = 0
    data["locations"][1]["lead_time"] = 0
    data["transfers"] = [
        {"from": "branch-3", "to": "branch-1", "lead_time": 0, "cost_per_unit": 0.1},
        {"from": "branch-1", "to": "branch-2", "lead_time": 0, "cost_per_unit": 0.1, "approval_threshold": 3,
         "approval_delay": 1},
    ]
    return Scenario.model_validate(data)


# ------------------------------------------------------------------ by hand
def test_on_shelf_today_by_hand() -> None:
    """Two locations, one SKU. Location 0 (lead time 0) holds 4 and gets 6 from the DC; location 1
    (lead time 1) holds 9 and gets 5 (on the road: not today). Lane 0 -> 1 moves 2 with lead time 0,
    lane 1 -> 0 moves 3 with lead time 0 but above its approval threshold of 2 (delay 1): it leaves
    location 1 today and reaches location 0 tomorrow.
    Location 0: 4 + 6 - 2 = 8 (the 3 are not there yet); location 1: 9 + 2 - 3 = 8."""
    base = holdback_base(np.array([[4], [9]]), np.array([[6], [5]]), np.array([[2], [3]]),
                         lead_time=np.array([0, 1]), lane_source=np.array([0, 1]),
                         lane_target=np.array([1, 0]),
                         lane_lead=np.array([0, 0]), lane_threshold=np.array([100, 2]),
                         lane_delay=np.array([0, 1]))
    assert base.tolist() == [[8], [8]]
    none = holdback_base(np.array([[0]]), np.array([[0]]), np.zeros((0, 1), dtype=np.int64), np.array([0]),
                         np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                         np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert none.tolist() == [[0]]


# ------------------------------------------------------------------ the env against the runtime
@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, OnnxPolicy]:
    """An untrained PPO policy of the variant (its actions move stock and hold back about half)."""
    from stable_baselines3 import PPO

    from allocsim.agents.export import export_policy
    from allocsim.agents.policy import LearnedPolicy, ObsNormalizer

    scenario = same_day_variant()
    env = AllocationEnv(scenario)
    model = PPO("MlpPolicy", env, seed=3, device="cpu", policy_kwargs={"net_arch": [16, 16]})
    size = env.observation_space.shape[0]
    learned = LearnedPolicy(model, ObsNormalizer(np.zeros(size), np.ones(size), 5.0, 1e-8))
    path = export_policy(learned, "ppo", env, tmp_path_factory.mktemp("same-day") / "policy.onnx")
    return scenario, OnnxPolicy.load(path)


def test_the_card_carries_the_lead_times(exported: tuple[Scenario, OnnxPolicy]) -> None:
    _, policy = exported
    card = policy.card
    assert (card.lead_time, card.lane_lead, card.lane_delay) == ([0, 0, 1], [0, 0], [1, 1])
    assert card.lane_threshold == [10**9, 3]  # lane 0 needs no approval: capped at MAX_UNITS
    assert PolicyCard.from_metadata(card.to_metadata()) == card


@pytest.mark.slow
def test_the_runtime_holds_back_what_the_env_holds_back(exported: tuple[Scenario, OnnxPolicy]) -> None:
    """Period by period on one episode: the runtime's units held back (with the scenario: after the
    guardrails; without: where they did not trim) equal the protection the env sets for spot, and
    on some periods they differ from a count of the stock on hand alone (the same-day path ran)."""
    scenario, policy = exported
    older = replace(policy.card, lead_time=[], lane_lead=[], lane_threshold=[], lane_delay=[])
    on_hand_only = OnnxPolicy(policy.session, older, policy.name)
    env = AllocationEnv(scenario)
    env.reset(seed=40_021)
    spot = [c.name for c in scenario.channels].index("spot")
    same_day = unguarded = 0
    for _ in range(scenario.periods):
        state = json.loads(json.dumps(planning_state(env)))
        parsed = parse_state(state, policy.card)
        action = policy.run(observation(parsed, policy.card))["action"][0]
        trimmed = env.preview(action, guardrails=False)
        guarded = env.preview(action)
        want = env.engine.state.protect[0, :, :, spot]
        got = policy.decide(state, scenario)["holdback"]
        assert [[got[loc][sku] for sku in policy.card.skus] for loc in policy.card.locations] == want.tolist()
        untrimmed = (trimmed.allocation == guarded.allocation).all()
        if untrimmed and (trimmed.transfers == guarded.transfers).all():
            np.testing.assert_array_equal(policy.decide_arrays(parsed).holdback, want)
            unguarded += 1
        same_day += int((on_hand_only.decide_arrays(parsed).holdback != want).any())
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    assert same_day > 0 and unguarded > 0


# ------------------------------------------------------------------ cards
def _card_data(policy: OnnxPolicy) -> dict[str, object]:
    return json.loads(policy.card.to_metadata()["allocsim.card"])


def test_a_card_before_same_day_holdbacks_still_loads(exported: tuple[Scenario, OnnxPolicy]) -> None:
    _, policy = exported
    data = _card_data(policy)
    for name in ("lead_time", "lane_lead", "lane_threshold", "lane_delay"):
        del data[name]
    card = PolicyCard.from_metadata({"allocsim.card": json.dumps(data)})
    assert card.lead_time == [] and card.lane_delay == []


@pytest.mark.parametrize(("name", "value", "says"), [
    ("lead_time", [0, 1], "lead_time has 2 entries, expected 3"),
    ("lane_delay", [0], "lane_delay has 1 entries, expected 2"),
    ("lead_time", [0, -1, 1], "lead_time must be in 0..")  ,
    ("lane_threshold", [5, -3], "lane_threshold must be in 0.."),
])
def test_a_card_with_bad_lead_times_is_refused_in_one_line(exported: tuple[Scenario, OnnxPolicy], name: str,
                                                            value: list[int], says: str) -> None:
    _, policy = exported
    data = {**_card_data(policy), name: value}
    with pytest.raises(CardError) as err:
        PolicyCard.from_metadata({"allocsim.card": json.dumps(data)}, source="p.onnx")
    assert says in str(err.value) and str(err.value).startswith("p.onnx: ") and "\n" not in str(err.value)


def test_written_cards_hold_plain_numbers(tmp_path: Path, exported: tuple[Scenario, OnnxPolicy]) -> None:
    _, policy = exported
    data = _card_data(policy)
    assert all(isinstance(v, int) for name in ("lead_time", "lane_lead", "lane_threshold", "lane_delay")
               for v in data[name])  # type: ignore[union-attr]
