"""The opt-in ``known_orders`` observation block (``observation: {known_orders: true}``, contracts-scarce).

Differential checks: the engine's block (single env and native vector env) against the orders a
rule reads in ``AllocationState.known_orders`` and against the torch-free runtime's observation
of the same state (``planning_state`` -> ``parse_state`` -> ``observation``); the block's rows sum
to ``open_orders``; presets that do not opt in keep their layout; the content hash ignores the option.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from allocsim.agents.export import policy_card
from allocsim.agents.policy_card import CardError, PolicyCard
from allocsim.agents.state_input import StateError, observation, parse_state
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.envs.scenario.scenario import ObservationSpec
from allocsim.envs.vector_env import AllocationVectorEnv
from allocsim.experiments.planning_state import planning_state

PRESET = "contracts-scarce"


def _expected_block(env: AllocationEnv) -> np.ndarray:
    """The block by hand from the rule's view: per period, the known orders summed over channels, over a
    week of expected demand, clipped to [-1, 10]."""
    by_period = env.state.known_orders.sum(axis=-1)  # (D, L, S)
    return np.clip(by_period / env.observation_layout.location_scale, -1.0, 10.0).astype(np.float32).ravel()


def test_contracts_scarce_opts_in_and_keeps_its_hash() -> None:
    """The preset asks for the block; the hash (tuned rules, golden results) is the one without it."""
    scenario = load_scenario(PRESET)
    assert scenario.observation.known_orders
    plain = scenario.model_copy(update={"observation": ObservationSpec()})
    assert scenario.content_hash() == plain.content_hash() == "c4cde66dfcd76bf8"
    with_block, without = AllocationEnv(scenario), AllocationEnv(plain)
    # 1 + 5 days of notice, 4 locations, 2 SKUs, appended after the 67 default entries
    assert with_block.observation_space.shape == (67 + 6 * 4 * 2,)
    assert without.observation_space.shape == (67,)
    assert with_block.observation_layout.describe()[:-1] == without.observation_layout.describe()


def test_other_presets_keep_the_default_layout() -> None:
    for preset in ("retail-small", "strategic-holdback", "tiny-dp"):
        names = [b["name"] for b in AllocationEnv(preset).observation_layout.describe()]
        assert names[-1] == "calendar" and "known_orders" not in names, preset


def test_engine_block_is_the_rules_known_orders_and_the_runtimes() -> None:
    """Every step of an episode: the env's block equals the rule's known orders scaled by hand, its rows
    sum to open_orders, the default part is the env's without the block, and the runtime builds the
    same observation, bit for bit, from the JSON state."""
    env = AllocationEnv(PRESET)
    plain = AllocationEnv(env.scenario.model_copy(update={"observation": ObservationSpec()}))
    layout, card = env.observation_layout, policy_card(env, "ppo", "test")
    block, opens = layout.blocks["known_orders"], layout.blocks["open_orders"]
    rng = np.random.default_rng(3)
    obs, _ = env.reset(seed=40000)
    base, _ = plain.reset(seed=40000)
    nonzero = 0
    for _ in range(env.network.periods):
        np.testing.assert_array_equal(obs[block], _expected_block(env))
        np.testing.assert_array_equal(obs[: layout.blocks["calendar"].stop], base)
        rows = obs[block].reshape(layout.depth, -1)
        np.testing.assert_allclose(rows.sum(axis=0), obs[opens], rtol=1e-5, atol=1e-6)
        runtime = observation(parse_state(json.loads(json.dumps(planning_state(env))), card), card)
        np.testing.assert_array_equal(runtime, obs)
        nonzero += int(np.count_nonzero(obs[block]))
        action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        obs, _, done, _, _ = env.step(action)
        base, *_ = plain.step(action)
        if done:
            break
    assert nonzero > 0  # the strategic lane's orders do show


def test_vector_env_block_matches_the_single_env() -> None:
    """The native vector env (the engine's batched path) writes the same block for every copy."""
    seeds = [40000, 40001, 40002]
    venv = AllocationVectorEnv(len(seeds), PRESET, seed_stream=lambda base, i, j: seeds[i])
    singles = [AllocationEnv(PRESET) for _ in seeds]
    obs, _ = venv.reset(seed=0)
    single = [env.reset(seed=s)[0] for env, s in zip(singles, seeds, strict=True)]
    action = np.zeros((len(seeds), *venv.single_action_space.shape), dtype=np.float32)
    for _ in range(8):
        for i in range(len(seeds)):
            np.testing.assert_array_equal(obs[i], single[i])
        obs, *_ = venv.step(action)
        single = [env.step(action[0])[0] for env in singles]


def test_runtime_refuses_a_known_orders_list_too_long_and_a_bad_card_block() -> None:
    env = AllocationEnv(PRESET)
    card = policy_card(env, "ppo", "test")
    env.reset(seed=40000)
    state = planning_state(env)
    state["locations"]["key-accounts"]["known_orders"]["chip-a"] = [1.0] * 7
    with pytest.raises(StateError, match=r"known_orders\.chip-a: must be a list of at most 6 values"):
        parse_state(state, card)
    meta = card.to_metadata()
    data = json.loads(meta["allocsim.card"])
    data["observation_layout"][-1]["shape"] = [6, 4, 3]
    with pytest.raises(CardError, match="block known_orders must have shape"):
        PolicyCard.from_metadata({"allocsim.card": json.dumps(data)})


def test_block_carries_what_ship_known_due_reads() -> None:
    """Tuned priority's ``ship_known_due`` (what the contracts-scarce warm start clones) ships the strategic
    lane its due on arrival; with the block, that due is a function of the observation alone: by hand,
    key-accounts (lead 1) keeps on hand less today's orders and backorders, and needs min(tomorrow's
    orders, rights) less that and its inbound. Without the block only the 6-day sum is seen."""
    from allocsim.baselines.priority import PriorityPolicy

    env = AllocationEnv(PRESET)
    layout, net = env.observation_layout, env.network
    rule = PriorityPolicy(env, review_periods=1.0, safety_factor=1.5, reserve_periods=3.0,
                          ship_known_due=True)
    scale = layout.location_scale[0]  # key-accounts, the only location serving the strategic channel
    rights = net.contract_rights[:, 0]
    obs, _ = env.reset(seed=40001)
    checked = 0
    for _ in range(net.periods - 1):
        def units(name: str, row: int | None = None, o: np.ndarray = obs) -> np.ndarray:
            values = o[layout.blocks[name]].reshape(layout.shapes[name])
            return np.rint((values[row, 0] if row is not None else values[0]) * scale)

        stock = np.maximum(units("on_hand") - units("known_orders", 0) - units("backlog"), 0.0)
        due = np.maximum(np.minimum(units("known_orders", 1), rights) - stock - units("inbound"), 0.0)
        np.testing.assert_array_equal(due, rule.known_due(env.state)[0, :, 0])
        checked += int(due.sum() > 0)
        obs, *_ = env.step(rule.predict(obs, deterministic=True)[0])
    assert checked > 10  # the lane is shipped its due on many days, not only zeros
