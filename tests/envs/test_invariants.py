"""Properties that must hold on every preset under any sequence of actions.

Actions come from a numpy generator seeded by hypothesis, in one of several styles
(uniform, sparse, flood, hold-then-release, out-of-range), so the guardrails, the
clipping and the aging of held stock are all exercised.
"""

from __future__ import annotations

import numpy as np
import pytest
from envs_testkit import PRESETS, STYLES, cached_env, check_state, make_action, run_episode
from hypothesis import example, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=12, deadline=None)

seeds = st.integers(min_value=0, max_value=2**32 - 1)
styles = st.sampled_from(STYLES)
holds = st.integers(min_value=0, max_value=40)


def _play(preset, seed, action_seed, style, hold, check=None):
    env = cached_env(preset)
    rng = np.random.default_rng(action_seed)
    episode = run_episode(
        env, seed, lambda t: make_action(env, rng, style, t, hold), check=check
    )
    return env, episode


@pytest.mark.parametrize("preset", PRESETS)
@SETTINGS
@given(seed=seeds, action_seed=seeds, style=styles, hold=holds)
def test_units_conserved_nonnegative_and_within_capacity(preset, seed, action_seed, style, hold):
    """Checked after reset and after every step, i.e. at every period."""
    env, _ = _play(preset, seed, action_seed, style, hold, check=check_state)
    # open backorders become lost sales at the last close: nothing may be left waiting
    assert env.get_state().backlog.sum() == 0


@pytest.mark.parametrize("preset", PRESETS)
@SETTINGS
@given(seed=seeds, action_seed=seeds, style=styles, hold=holds)
def test_episode_kpis_add_up(preset, seed, action_seed, style, hold):
    _, episode = _play(preset, seed, action_seed, style, hold)
    k = episode.kpis
    assert k["units_requested"] > 0
    assert k["fill_rate"] == pytest.approx(100.0 * k["units_fulfilled"] / k["units_requested"])
    # every requested unit is, by the horizon, either fulfilled or lost
    assert k["units_requested"] == k["units_fulfilled"] + k["lost_sales_units"]
    assert k["backorder_units"] >= 0
    expected_profit = (
        k["gross_margin"]
        - k["holding_cost"]
        - k["shipping_cost"]
        - k["transfer_cost"]
        - k["writeoff_cost"]
        - k["shortage_penalty"]
        + k["salvage"]
    )
    assert k["gross_margin"] == pytest.approx(k["revenue"] - k["cogs"], abs=1e-6)
    assert k["profit"] == pytest.approx(expected_profit, rel=1e-9, abs=1e-6)
    # per-period KPIs add up to the episode's
    assert sum(i["kpis"]["units_requested"] for i in episode.infos) == k["units_requested"]
    assert sum(i["kpis"]["units_fulfilled"] for i in episode.infos) == k["units_fulfilled"]
    assert sum(i["kpis"]["lost_sales_units"] for i in episode.infos) == k["lost_sales_units"]
    assert sum(i["kpis"]["revenue"] for i in episode.infos) == pytest.approx(k["revenue"], abs=1e-6)
    # breakdowns add up to the totals
    for key in ("units_requested", "units_fulfilled", "lost_sales_units", "revenue", "cogs"):
        by_channel = sum(row[key] for row in k["by_channel"].values())
        assert by_channel == pytest.approx(k[key], abs=1e-6), key
    for key in ("holding_cost", "shipping_cost", "transfer_cost", "writeoff_cost"):
        by_location = sum(row[key] for row in k["by_location"].values())
        assert by_location == pytest.approx(k[key], abs=1e-6), key
    # only the last step carries the episode KPIs, and they are the env's
    assert all("episode_kpis" not in i for i in episode.infos[:-1])
    assert episode.infos[-1]["episode_kpis"]["profit"] == k["profit"]


@pytest.mark.parametrize("preset", PRESETS)
@SETTINGS
@given(seed=seeds, action_seed=seeds, style=styles, hold=holds)
# stock held at the DC until it is one period short of its shelf life, then shipped:
# on seasonal-aging it expires in transit and is written off on arrival
@example(seed=0, action_seed=0, style="hold-release", hold=11)
def test_rewards_sum_to_profit_under_default_weights(preset, seed, action_seed, style, hold):
    env = cached_env(preset)
    rng = np.random.default_rng(action_seed)
    env.reset(seed=seed)
    total = 0.0
    profit_before = 0.0
    terminated = False
    period = 0
    while not terminated:
        _, reward, terminated, _, info = env.step(make_action(env, rng, style, period, hold))
        total += reward
        profit_now = env.kpis()["profit"]
        assert reward == pytest.approx(info["reward_components"]["profit"])
        assert reward == pytest.approx(profit_now - profit_before, rel=1e-9, abs=1e-6), (
            f"period {period}: reward {reward} but the profit KPI moved by "
            f"{profit_now - profit_before} (writeoff so far {env.kpis()['writeoff_cost']})"
        )
        profit_before = profit_now
        period += 1
    assert total == pytest.approx(env.kpis()["profit"], rel=1e-9, abs=1e-6)
    assert env.kpis()["reward"] == pytest.approx(total, rel=1e-9, abs=1e-6)


def test_expiry_in_transit_is_written_off_and_in_the_reward():
    """Targeted: salad (shelf life 12) held 11 periods at the DC and then shipped with a
    lead time of 1 expires on the way; it must be written off on arrival, and that
    write-off must lower the reward exactly as it lowers the profit KPI."""
    env = cached_env("seasonal-aging")
    net = env.network
    salad = net.skus.index("salad")
    env.reset(seed=0)
    rewards = []
    for period in range(net.periods):
        state = env.state
        if period == 11:
            assert state.dc_available[salad] > 0
        action = make_action(env, np.random.default_rng(0), "hold-release", period, 11)
        _, reward, _, _, info = env.step(action)
        rewards.append(reward)
        if period == 11:
            assert info["decision_log"] == [] or all(
                t.part != "allocation" for t in info["decision_log"]
            ), "the shipment was trimmed; the scenario no longer sets up expiry in transit"
            shipped = env.state
            # the stock really left the DC: the two-day lane still has it on the way
            assert shipped.inbound[net.lead_time == 2, salad].sum() > 0
            lead_one = net.lead_time == 1
            # everything shipped at period 11 to next-day locations arrived expired
            assert shipped.on_hand[lead_one, salad].sum() == 0
            assert shipped.inbound[lead_one, salad].sum() == 0
    kpis = env.kpis()
    assert kpis["writeoff_cost"] > 0
    assert sum(rewards) == pytest.approx(kpis["profit"], rel=1e-9, abs=1e-6)
