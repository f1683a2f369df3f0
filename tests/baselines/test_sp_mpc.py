"""``sp-mpc``: its LP on a hand-worked case, expiry by hand, its scenarios, and that it never reads the
episode's own demand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from allocsim.baselines.registry import make_policy
from allocsim.baselines.sp_mpc import end_cover, expiring_schedule, pipeline
from allocsim.baselines.sp_mpc_model import DCRule, Lookahead, SampleAverageLP, solve_first_period
from allocsim.baselines.sp_mpc_scenarios import sample_demand, scenario_rng
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.experiments.grids import grid_points


def _two_period(net_env: AllocationEnv, demand_b: list[list[float]]) -> Lookahead:
    """tiny-dp now: DC 3, stores a and b 1 each; store a asks 2 then 0 in every scenario."""
    W = len(demand_b)
    demand = np.zeros((W, 2, 2, 1, 1))
    demand[:, :, 0, 0, 0] = [2.0, 0.0]
    demand[:, :, 1, 0, 0] = demand_b
    return Lookahead(
        demand=demand, supplier_lead=np.ones((W, 2), dtype=np.int64), periods_left=8,
        on_hand=np.array([[1.0], [1.0]]), dc_on_hand=np.array([3.0]), dc_available=np.array([3.0]),
        arrivals=np.zeros((2, 2, 1)), dc_arrivals=np.zeros((2, 1)), expiring=np.zeros((2, 2, 1)),
        dc_expiring=np.zeros((2, 1)), terminal=np.array([-1.0]), cover=np.array([1.0]),
        beyond=np.array([-4.0]), pending=np.zeros(1), headroom=np.array([3.0, 3.0]), supply_room=None,
        order_cap=None, rule=None, transfer_cap=None, capital=None,
    )


def test_sample_average_lp_on_a_hand_worked_two_period_case() -> None:
    """Two scenarios for store b: [1, 1] and [2, 0]. By hand (unit margin 25 - 10 + penalty 4 = 19,
    holding 0.5 per unit and close, shipping 0.5 to a and 1.5 to b, lead 0):

    * ship one unit to each store now: scenario 1 sells 2 + 1 now, 1 later (b holds a unit and the
      DC one over close 0, the DC one over close 1): 76 - 16 penalties - 2 shipping - 1.5 holding
      - 1 for the last unit (within the terminal cover) = 55.5; scenario 2 sells all 4 now:
      76 - 16 - 2 - 1 - 1 = 56; mean 55.75;
    * holding b's unit back costs scenario 2 a sale (-19 - 4 penalty), which waiting saves nothing in
      scenario 1 (the same 1.5 shipping a period later): the shared first decision is (1, 1).
    """
    env = AllocationEnv("tiny-dp")
    net = env.network
    assert net.price[0, 0] == 25 and net.unit_cost[0] == 10 and net.shortage_penalty[0] == 4
    assert np.all(net.location_holding_cost == 0.5) and net.dc_holding_cost[0] == 0.5
    assert list(net.shipping_cost) == [0.5, 1.5] and list(net.lead_time) == [0, 0]
    first = solve_first_period(net, _two_period(env, [[1.0, 1.0], [2.0, 0.0]]))
    assert first.objective == pytest.approx(55.75, abs=1e-6)
    np.testing.assert_allclose(first.shipments, [[1.0], [1.0]], atol=1e-7)
    assert first.transfers.shape == (0, 1) and first.orders.tolist() == [0.0]


def test_units_kept_from_demand_at_a_location_are_not_shipped() -> None:
    """The two-period case with the end stock worth 30 a unit (cover 10), more than a sale's 19: the LP
    sells nothing and keeps each store's unit (lead 0, so they count in period 0) while a asks 2 and b
    1 or 2. The engine would sell them there: ``withheld`` is min(kept 1, unserved) = 1 at each store,
    in both scenarios; at the worth of -1 (the case above) the LP sells them and withholds nothing."""
    env = AllocationEnv("tiny-dp")
    look = _two_period(env, [[1.0, 1.0], [2.0, 0.0]])
    keeping = dataclasses.replace(look, terminal=np.array([30.0]), cover=np.array([10.0]))
    first = solve_first_period(env.network, keeping)
    np.testing.assert_allclose(first.shipments, [[0.0], [0.0]], atol=1e-7)
    np.testing.assert_allclose(first.withheld, [[1.0], [1.0]], atol=1e-7)
    np.testing.assert_allclose(solve_first_period(env.network, look).withheld, [[0.0], [0.0]], atol=1e-7)


def test_terminal_value_is_concave_past_the_cover() -> None:
    """One scenario where nobody buys: all 5 units stay; 1 earns -1, 4 earn -4 (salvage), holding
    0.5 x 3 DC units x 2 closes + 0.5 x 2 store units x 2 closes, no shipment: -17 - 5 = -22."""
    env = AllocationEnv("tiny-dp")
    look = _two_period(env, [[0.0, 0.0]])
    look = Lookahead(**{**look.__dict__, "demand": np.zeros_like(look.demand)})
    first = solve_first_period(env.network, look)
    assert first.objective == pytest.approx(-1.0 - 16.0 - 3.0 - 2.0, abs=1e-6)
    assert first.shipments.sum() == pytest.approx(0.0, abs=1e-9)


def test_expiring_schedule_by_hand() -> None:
    """Ages 0, 1, 2 with 5, 2, 1 units; age 3 has expired: they go at closes 2, 1 and 0."""
    expired = np.array([[False], [False], [False], [True]])
    cohorts = np.array([[5, 2, 1, 0]])  # (S = 1, A = 4)
    np.testing.assert_array_equal(expiring_schedule(cohorts, expired, 4)[:, 0], [1, 2, 5, 0])
    by_location = np.array([[[5, 2, 1, 0]], [[0, 0, 3, 0]]])  # (L = 2, S = 1, A)
    np.testing.assert_array_equal(expiring_schedule(by_location, expired, 3)[:, :, 0],
                                  [[1, 3], [2, 0], [5, 0]])


def test_scenarios_follow_the_forecast_not_the_demand() -> None:
    """The mean of many sampled futures is the de-biased forecast the policy sees (lanes without
    advance notice), and the draws are common to every caller of the same (seed, period)."""
    env = AllocationEnv("retail-small")
    env.reset(seed=3)
    state = env.state
    draws = sample_demand(state, env.profile, 3, 4000, scenario_rng(3, state.period))
    again = sample_demand(state, env.profile, 3, 4000, scenario_rng(3, state.period))
    np.testing.assert_array_equal(draws, again)
    free = env.network.advance_notice == 0
    expected = state.forecast[:3] / (1 + env.network.scenario.forecast.bias)
    mix = env.profile.mean[:3] / np.maximum(env.profile.mean[:3].sum(axis=3, keepdims=True), 1e-12)
    mean = draws.mean(axis=0)[..., free].sum(axis=-1)
    target = (expected[..., None] * mix)[..., free].sum(axis=-1)
    np.testing.assert_allclose(mean, target, rtol=0.08, atol=0.15)


def test_known_orders_enter_every_future_on_their_own_day() -> None:
    """Inside a channel's notice window each sampled future holds exactly the orders announced for that
    period (read here from the episode's demand ring, slot period % R), not their total spread over
    the window."""
    env = AllocationEnv("contracts-scarce")
    env.reset(seed=5)
    base = make_policy("base-stock", env)
    for _ in range(4):
        env.step(base.predict(np.zeros(1))[0])
    state, t = env.state, env.state.period
    net = env.network
    ring = env.engine.state.demand_ring[0]
    draws = sample_demand(state, env.profile, 8, 16, scenario_rng(5, t))
    (channel,) = np.flatnonzero(net.advance_notice > 0)
    notice = int(net.advance_notice[channel])
    serves = net.serves[:, channel]
    for h in range(notice + 1):
        announced = ring[(t + h) % ring.shape[0]][serves, :, channel]
        for w in range(draws.shape[0]):
            np.testing.assert_array_equal(draws[w, h][serves, :, channel], announced)
    assert announced.sum() > 0  # the check has something to match


def _decision(env: AllocationEnv) -> np.ndarray:
    policy = make_policy("sp-mpc", env, seed=0, scenarios=4, horizon=5)
    return policy.predict(np.zeros(1, dtype=np.float32))[0]


def test_sp_mpc_never_reads_the_episodes_own_demand() -> None:
    """Changing every future demand the policy cannot know leaves its decision as it was; changing
    the forecast it sees does not (so the check has power)."""
    env = AllocationEnv("contracts-scarce")
    env.reset(seed=11)
    base = make_policy("base-stock", env)
    obs = None
    for _ in range(6):
        obs, *_ = env.step(base.predict(np.zeros(1))[0])
    assert obs is not None
    state, t = env.engine.state, env.state.period
    before = _decision(env)
    notice = env.network.advance_notice
    rng = np.random.default_rng(0)
    ring = state.demand_ring[0].copy()  # the periods t .. t + R - 1 in slots period % R
    ahead = (np.arange(ring.shape[0]) - t) % ring.shape[0]  # how far ahead each slot's period is
    known = (ahead[:, None] <= notice[None, :])[:, None, None, :]  # open orders the policy sees
    state.demand_ring[0] = np.where(known, ring, ring + rng.integers(1, 9, size=ring.shape))
    state.demand_seed[0] = 424_242  # every later period's demand and lead from another future
    assert (state.demand_ring[0] != ring).any()
    np.testing.assert_array_equal(_decision(env), before)
    state.forecast_ring[0] *= 3.0
    assert not np.array_equal(_decision(env), before)


def test_pipeline_reads_stock_in_transit_by_arrival() -> None:
    """Period 0's shipments with lead d show up one period later at lookahead period d - 1; every unit
    on its way is counted once (to locations, to the DC, or after the lookahead)."""
    env = AllocationEnv("omnichannel-transfers")
    env.reset(seed=5)
    policy = make_policy("base-stock", env)
    env.step(policy.predict(np.zeros(1))[0])
    state = env.state
    arrivals, dc, later = pipeline(env, state, 4, window=60)
    assert state.inbound.sum() > 0 and state.dc_on_order.sum() > 0
    on_the_way = state.inbound.sum() + state.dc_on_order.sum()
    assert arrivals.sum() + dc.sum() + later.sum() == pytest.approx(on_the_way)
    lead = env.network.lead_time
    for loc in range(env.network.n_locations):  # period 0's shipments arrive at period lead = h + 1
        if lead[loc] >= 2:
            assert arrivals[lead[loc] - 1, loc].sum() == pytest.approx(state.inbound[loc].sum())


def test_pending_receipts_are_those_of_the_terminal_cover_only() -> None:
    """contracts-scarce at period 20, lookahead 10, cover 7: of the inbound schedule (120 chip-a and
    170 chip-b every 7 days from period 3) period 24's receipt lands inside the lookahead, period 31's
    in the cover after it (pending, in its period 1), and periods 38, 45 and 52 serve later demand
    (nowhere)."""
    env = AllocationEnv("contracts-scarce")
    env.reset(seed=1)
    policy = make_policy("priority", env)
    for _ in range(20):
        env.step(policy.predict(np.zeros(1))[0])
    state = env.state
    assert state.period == 20
    _, dc, later = pipeline(env, state, 10, window=7)
    np.testing.assert_array_equal(dc[4], [120.0, 170.0])  # period 24 = lookahead period 4
    assert dc.sum() == 290.0
    assert later.shape == (7, 2)
    np.testing.assert_array_equal(later[1], [120.0, 170.0])  # period 31 = 1 period past the lookahead
    assert later.sum() == 290.0
    _, _, everything = pipeline(env, state, 10, window=40)
    np.testing.assert_array_equal(everything.sum(axis=0), [480.0, 680.0])


def test_the_net_requirement_counts_the_days_short_before_each_receipt() -> None:
    """Receipts of 170 landing 3 and 10 periods past the lookahead, 28.5 a period asked, 14 periods:
    the window prices 14 x 28.5 = 399 of stock less the 340 received (59 of the end stock); the net
    requirement is the 11 periods' demand before the second receipt less the first: 313.5 - 170 =
    143.5 (the first shortfall, 4 x 28.5 = 114 before the first receipt, is smaller). Without
    receipts both ask the window's demand."""
    later = np.zeros((14, 1))
    later[[3, 10], 0] = 170.0
    rate = np.array([28.5])
    cover, pending = end_cover(rate, later, 14.0, need=False)
    assert (cover - pending)[0] == pytest.approx(59.0)
    cover, pending = end_cover(rate, later, 14.0, need=True)
    assert cover[0] == pytest.approx(143.5) and pending[0] == 0.0
    cover, pending = end_cover(rate, later, 3.0, need=True)  # 3 periods: 3 x 28.5 before any receipt
    assert cover[0] == pytest.approx(85.5)
    empty = np.zeros((7, 1))
    need, window = end_cover(rate, empty, 7.0, need=True), end_cover(rate, empty, 7.0, need=False)
    assert need[0][0] == pytest.approx(window[0][0]) == pytest.approx(199.5)


def test_waiting_backorders_owe_no_contract_rights_of_their_own() -> None:
    """contracts-scarce with nothing in stock: key-accounts is asked 9 chip-a now and 5 new ones next
    period, plus 4 waiting backorders that join it (9 in all). Nothing sells, so the LP's profit is
    the shortage penalties, 5 x 18 = 90, and the contract penalties on the rights owed: min(9, 8) now
    and min(5, 8) next period, 25 x 13 = 325 (the engine owes rights on the new orders only; counting
    the backorders as new would owe 8 next period, 25 x 16 = 400)."""
    env = AllocationEnv("contracts-scarce")
    net = env.network
    assert net.contract_rights[0, 0] == 8 and net.contract_penalty[0] == 25 and net.shortage_penalty[0] == 5
    demand = np.zeros((1, 2, net.n_locations, net.n_skus, net.n_channels))
    demand[0, :, 0, 0, 0] = [9.0, 9.0]
    carried = np.zeros((net.n_locations, net.n_skus, net.n_channels))
    carried[0, 0, 0] = 4.0
    zeros = np.zeros
    look = Lookahead(
        demand=demand, supplier_lead=np.ones((1, 2), dtype=np.int64), periods_left=10,
        on_hand=zeros((net.n_locations, net.n_skus)), dc_on_hand=zeros(net.n_skus),
        dc_available=zeros(net.n_skus), arrivals=zeros((2, net.n_locations, net.n_skus)),
        dc_arrivals=zeros((2, net.n_skus)), expiring=zeros((2, net.n_locations, net.n_skus)),
        dc_expiring=zeros((2, net.n_skus)), terminal=zeros(net.n_skus), cover=zeros(net.n_skus),
        beyond=zeros(net.n_skus), pending=zeros(net.n_skus), headroom=np.full(net.n_locations, np.inf),
        supply_room=None, order_cap=None, rule=None, transfer_cap=None, capital=None, carried=carried,
    )
    assert solve_first_period(net, look).objective == pytest.approx(-415.0)
    as_new = dataclasses.replace(look, carried=None)
    assert solve_first_period(net, as_new).objective == pytest.approx(-490.0)


def test_sp_mpc_is_tunable_and_plays_whole_units() -> None:
    points = grid_points("sp-mpc")
    assert len(points) > 1 and all({"horizon", "terminal_value"} <= set(p) for p in points)
    env = AllocationEnv("omnichannel-transfers")
    env.reset(seed=2)
    policy = make_policy("sp-mpc", env, seed=0, scenarios=3, horizon=4)
    for _ in range(4):
        state = env.state
        alloc, transfers, orders = policy.decide(state)
        assert alloc.dtype.kind == "i" and (alloc >= 0).all()
        assert (alloc.sum(axis=0) <= state.dc_available).all()
        assert transfers is not None and (transfers >= 0).all()
        assert orders is not None and (orders >= 0).all() and (orders <= 1).all()
        env.step(policy.predict(np.zeros(1))[0])


def test_the_dc_rule_refills_what_the_lp_ships_out() -> None:
    """tiny-dp with a DC order-up-to rule of level 1 and supplier lead 1: DC 1 unit, store a asks
    1, 0, 2. Shipping the unit now drops the DC position to 0, so the rule orders 1 (not 2: its
    level) at period 1, on hand at period 2 for one more sale: 2 x 19 - 3 x 4 penalties - 2 x 0.5
    shipping = 25."""
    env = AllocationEnv("tiny-dp")
    look = _two_period(env, [[0.0, 0.0]])
    demand = np.zeros((1, 3, 2, 1, 1))
    demand[0, :, 0, 0, 0] = [1.0, 0.0, 2.0]
    look = Lookahead(**{
        **look.__dict__, "demand": demand, "supplier_lead": np.ones((1, 3), dtype=np.int64),
        "on_hand": np.zeros((2, 1)), "dc_on_hand": np.array([1.0]), "dc_available": np.array([1.0]),
        "arrivals": np.zeros((3, 2, 1)), "dc_arrivals": np.zeros((3, 1)), "expiring": np.zeros((3, 2, 1)),
        "dc_expiring": np.zeros((3, 1)), "cover": np.array([0.0]), "order_cap": np.array([np.inf]),
        "rule": DCRule(first=np.array([0.0]), position=np.array([1.0]), ceiling=np.array([1.0])),
    })
    model = SampleAverageLP(env.network, look)
    model.stock(), model.transfers(), model.demand(), model.expiry(), model.supplier(), model.terminal()
    first = model.solve()
    assert first.objective == pytest.approx(25.0, abs=1e-6)
    np.testing.assert_allclose(first.shipments, [[1.0], [0.0]], atol=1e-7)
    orders = first.solution.x[model.order[0, :, 0]]
    np.testing.assert_allclose(orders, [0.0, 1.0, 0.0], atol=1e-7)


def test_shared_periods_take_away_the_clairvoyant_recourse() -> None:
    """Store a asks 2 then 0; store b (empty) asks 0 then 1 in scenario 1 and nothing in scenario 2.
    By hand (margin 19, holding 0.5 per unit and close, shipping 0.5 to a and 1.5 to b, lead 0,
    penalties 4 x 2.5 units asked on average as a constant):

    * shared_periods 1: scenario 1 ships b's unit at period 1 only where it sells: 38 + 19 - 0.5 - 1.5
      - DC holding 1 + 0.5 - 1 (one unit left, within the cover) = 52.5; scenario 2 ships only a's
      unit: 38 - 0.5 - 2 - 1 - 4 (two left: one past the cover) = 30.5; mean 41.5 - 10 = 31.5;
    * shared_periods 2: period 1's shipment is one for both futures; shipping b's unit (the
      sale is worth more than the 1.5 wasted in scenario 2) gives (52.5 + 29) / 2 - 10 = 30.75.
    """
    env = AllocationEnv("tiny-dp")
    look = _two_period(env, [[0.0, 1.0], [0.0, 0.0]])
    look = Lookahead(**{**look.__dict__, "on_hand": np.array([[1.0], [0.0]])})
    anticipative = solve_first_period(env.network, look)
    assert anticipative.objective == pytest.approx(31.5, abs=1e-6)
    np.testing.assert_allclose(anticipative.shipments, [[1.0], [0.0]], atol=1e-7)
    shared = solve_first_period(env.network, Lookahead(**{**look.__dict__, "shared": 2}))
    assert shared.objective == pytest.approx(30.75, abs=1e-6)
    assert shared.shipments[0, 0] == pytest.approx(1.0, abs=1e-7)


def test_a_locations_stock_past_its_own_cover_is_worth_salvage() -> None:
    """Nobody buys; store a holds 3 units, the DC and store b none; the network's cover is 3 units.
    Holding 0.5 x 3 units x 2 closes = 3. Without a cap per location the 3 units earn -1 each: -6;
    with store a able to sell 1 unit itself, 2 are stranded at salvage (-4 each): -3 - 1 - 8 = -12."""
    env = AllocationEnv("tiny-dp")
    look = _two_period(env, [[0.0, 0.0]])
    look = Lookahead(**{**look.__dict__, "demand": np.zeros_like(look.demand),
                        "on_hand": np.array([[3.0], [0.0]]), "dc_on_hand": np.array([0.0]),
                        "dc_available": np.array([0.0]), "cover": np.array([3.0])})
    assert solve_first_period(env.network, look).objective == pytest.approx(-6.0, abs=1e-6)
    capped = Lookahead(**{**look.__dict__, "location_cover": np.array([[1.0], [0.0]])})
    assert solve_first_period(env.network, capped).objective == pytest.approx(-12.0, abs=1e-6)


def test_max_cover_caps_what_a_location_may_receive_now() -> None:
    """Forecast 2 a period at both stores, cover 4 periods = 8 units: store a (3 on hand, 1 on its
    way) may take 4 more, store b (10 on hand) none; the days-of-supply room (2, 5) caps too."""
    from types import SimpleNamespace

    from allocsim.baselines.sp_mpc import room_under

    state = SimpleNamespace(on_hand=np.array([[3], [10]]), inbound=np.array([[1], [0]]), supply_room=None)
    rate = np.full((3, 2, 1), 2.0)
    np.testing.assert_allclose(room_under(state, rate, 4.0), [[4.0], [0.0]])  # type: ignore[arg-type]
    assert room_under(state, rate, 0.0) is None  # type: ignore[arg-type]
    state.supply_room = np.array([[2], [5]])
    np.testing.assert_allclose(room_under(state, rate, 4.0), [[2.0], [0.0]])  # type: ignore[arg-type]
    np.testing.assert_allclose(room_under(state, rate, 0.0), [[2.0], [5.0]])  # type: ignore[arg-type]


def test_fresh_margin_caps_a_sku_before_its_first_markdown() -> None:
    """seasonal-aging marks salad down from age 6, swimwear from 14, sunscreen from 20: with a margin of 3
    periods and max_cover 7, salad may cover 6 - 3 = 3 periods, the others 7; a margin past the
    markdown age still leaves one period; without a margin (or max_cover) nothing changes."""
    from allocsim.baselines.sp_mpc import cover_caps

    net = AllocationEnv("seasonal-aging").network
    assert list(net.skus) == ["salad", "swimwear", "sunscreen"]
    np.testing.assert_allclose(cover_caps(net, 7.0, 3.0), [3.0, 7.0, 7.0])
    np.testing.assert_allclose(cover_caps(net, 7.0, 16.0), [1.0, 1.0, 4.0])
    assert cover_caps(net, 7.0, 0.0) == 7.0
    assert cover_caps(net, 0.0, 3.0) == 0.0
    tiny = AllocationEnv("tiny-dp").network  # no markdowns: max_cover alone
    np.testing.assert_allclose(cover_caps(tiny, 5.0, 3.0), [5.0])
