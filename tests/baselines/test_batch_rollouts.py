"""Rollouts from a state (issue 23 item 6): K candidates x M futures on the batch equal single-env replays.

Differential: copy (k, j) of the batch is replayed in a fresh single env from the same state with
future j's demand, candidate k's first action and the base rule deciding as a single-env rule; the
returns agree. Also: common random numbers across candidates, determinism per rollout seed, the
episode's own future is never read, and episodes end inside the horizon.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from allocsim.baselines.batch_rules import CopyRules, batch_policy
from allocsim.baselines.registry import make_policy
from allocsim.baselines.tuned_params import load_tuned
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.rollouts import FUTURE_SEEDS, ConstantAction, Rollouts, future_seed

SCENARIO = "retail-small"
RULES = ("base-stock", "priority", "hold")


def _tuned(name: str) -> dict:
    return {} if name == "hold" else (load_tuned(SCENARIO, name) or {})


@pytest.fixture(scope="module")
def env_at_period_3() -> tuple[AllocationEnv, np.ndarray]:
    """retail-small three periods into seed 40_001 under tuned base-stock."""
    env = AllocationEnv(SCENARIO)
    obs, _ = env.reset(seed=40_001)
    rule = make_policy("base-stock", env, **_tuned("base-stock"))
    for _ in range(3):
        obs, *_ = env.step(rule.predict(obs)[0])
    return env, obs


def _first_actions(env: AllocationEnv, obs: np.ndarray, names=RULES) -> np.ndarray:
    return np.stack([make_policy(n, env, **_tuned(n)).predict(obs)[0] for n in names])


def _rollouts(env: AllocationEnv, k: int, m: int, h: int, seed: int = 3) -> Rollouts:
    """K x M x H rollouts under tuned base-stock (batched)."""
    base = "base-stock"
    return Rollouts(env, k, m, h, base=lambda e: batch_policy(base, e, _tuned(base)), rollout_seed=seed)


def _replay(env: AllocationEnv, rollouts: Rollouts, first: np.ndarray, j: int) -> tuple[float, int]:
    """Candidate ``first`` on future ``j`` in a fresh single env from ``env``'s state: (return, periods)."""
    state = env.get_state()
    other = AllocationEnv(SCENARIO)
    other.reset(seed=0)
    other.set_state(state)
    other.engine.follow_future([0], [rollouts.future_seeds[j]])
    rule = make_policy("base-stock", other, **_tuned("base-stock"))
    action, total, periods = first, 0.0, 0
    for _ in range(rollouts.horizon):
        obs, reward, done, *_ = other.step(action)
        total, periods = total + reward, periods + 1
        if done:
            break
        action = rule.predict(obs)[0]
    return total, periods


def test_batch_returns_equal_single_env_replays(env_at_period_3):
    env, obs = env_at_period_3
    rollouts = _rollouts(env, len(RULES), 2, 5)
    assert isinstance(rollouts.base, ConstantAction)  # tuned base-stock is batched as a targets action
    first = _first_actions(env, obs)
    result = rollouts.run(env.get_state(), first)
    assert result.returns.shape == (len(RULES), 2) and result.periods == len(RULES) * 2 * 5
    for k in range(len(RULES)):
        for j in range(2):
            expected, _ = _replay(env, rollouts, first[k], j)
            assert result.returns[k, j] == pytest.approx(expected, rel=1e-12, abs=1e-9), (k, j)


def test_the_batched_base_stock_is_the_rule_copy_by_copy(env_at_period_3):
    env, obs = env_at_period_3
    first = _first_actions(env, obs)
    batched = _rollouts(env, len(RULES), 3, 6).run(env.get_state(), first, kpis=True)
    by_copy = Rollouts(env, len(RULES), 3, 6, base=lambda e: CopyRules("base-stock", e, _tuned("base-stock")),
                       rollout_seed=3).run(env.get_state(), first, kpis=True)
    np.testing.assert_array_equal(batched.returns, by_copy.returns)
    assert batched.kpis == by_copy.kpis


def test_the_base_decision_is_the_numpy_decode_every_period(env_at_period_3):
    """The batched base-stock (a constant ``targets`` action, parameters decoded once, the compiled batch
    decode) decides in every period of a rollout exactly what the numpy decode of the action gives."""
    env, obs = env_at_period_3
    rollouts = _rollouts(env, len(RULES), 2, 6)
    base, engine = rollouts.base, rollouts.engine
    assert isinstance(base, ConstantAction)
    assert pickle.loads(pickle.dumps(base)).action.tolist() == base.action.tolist()  # a worker can take it
    rollouts.start(env.get_state())
    frac = rollouts.first_fractions(_first_actions(env, obs))
    shipped = 0.0
    for _ in range(rollouts.horizon):
        engine.step_fractions(frac)
        frac = base.fractions(engine)
        rows = np.broadcast_to(base.mode.validate(base.action), (engine.batch, base.mode.size))
        numpy = base.mode.numpy_fractions(engine, rows)
        for name in ("allocation", "transfers", "orders"):
            np.testing.assert_array_equal(getattr(frac, name), getattr(numpy, name), err_msg=name)
        assert frac.holdback is None and numpy.holdback is None
        shipped += float(frac.allocation[..., :-1].sum())
    assert shipped > 0


def test_rollouts_on_two_threads_equal_one_thread(env_at_period_3):
    """The batch cut into two spans on two threads gives the very same returns and KPIs (5 copies: 2 + 3)."""
    env, obs = env_at_period_3
    first = _first_actions(env, obs, ("priority", "base-stock", "hold", "proportional", "balanced"))
    base = "base-stock"
    one, two = (Rollouts(env, 5, 1, 6, base=lambda e: batch_policy(base, e, _tuned(base)), rollout_seed=3,
                         threads=n).run(env.get_state(), first, kpis=True) for n in (1, 2))
    assert one.periods == two.periods == 5 * 6
    np.testing.assert_array_equal(one.returns, two.returns)
    assert one.kpis == two.kpis


def test_common_random_numbers_across_candidates_and_different_futures(env_at_period_3):
    env, obs = env_at_period_3
    first = _first_actions(env, obs, ("priority", "priority", "base-stock"))
    result = _rollouts(env, 3, 4, 6).run(env.get_state(), first, kpis=True)
    np.testing.assert_array_equal(result.returns[0], result.returns[1])  # same decision, same futures
    assert len(set(result.returns[2].tolist())) == 4  # the four futures differ
    for j in range(4):  # every candidate met the same customers in future j
        asked = {result.kpis[k][j]["units_requested"] for k in range(3)}
        assert len(asked) == 1


def test_determinism_per_rollout_seed_and_futures_never_evaluation_seeds(env_at_period_3):
    env, obs = env_at_period_3
    first = _first_actions(env, obs)
    a = _rollouts(env, 3, 2, 4, seed=11).run(env.get_state(), first).returns
    b = _rollouts(env, 3, 2, 4, seed=11).run(env.get_state(), first).returns
    c = _rollouts(env, 3, 2, 4, seed=12).run(env.get_state(), first).returns
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    seeds = {future_seed(s, j) for s in range(20) for j in range(50)}
    assert len(seeds) == 1000 and min(seeds) >= FUTURE_SEEDS


def test_the_episodes_own_future_is_never_read(env_at_period_3):
    env, obs = env_at_period_3
    first = _first_actions(env, obs)
    rollouts = _rollouts(env, 3, 2, 4)
    before = rollouts.run(env.get_state(), first).returns
    other = AllocationEnv(SCENARIO)
    other.reset(seed=0)
    other.set_state(env.get_state())
    other.engine.follow_future([0], [123_456])  # a very different future for this episode
    state = other.get_state()
    assert not np.array_equal(state.demand_ring, env.get_state().demand_ring)
    np.testing.assert_array_equal(rollouts.run(state, first).returns, before)


def test_rollouts_stop_at_the_episode_end():
    env = AllocationEnv(SCENARIO)
    obs, _ = env.reset(seed=5)
    rule = make_policy("hold", env)
    for _ in range(env.network.periods - 2):
        obs, *_ = env.step(rule.predict(obs)[0])
    rollouts = _rollouts(env, 2, 2, 10)
    first = _first_actions(env, obs, ("hold", "base-stock"))
    result = rollouts.run(env.get_state(), first)
    assert result.periods == 2 * 2 * 2
    expected, periods = _replay(env, rollouts, first[1], 1)
    assert periods == 2 and result.returns[1, 1] == pytest.approx(expected, rel=1e-12)


def test_bad_calls_are_refused_in_one_line(env_at_period_3):
    env, obs = env_at_period_3
    with pytest.raises(ValueError, match="samples must be a whole number"):
        Rollouts(env, 2, 0, 3)
    rollouts = Rollouts(env, 2, 2, 3)
    with pytest.raises(ValueError, match=r"expected \(2, "):
        rollouts.run(env.get_state(), _first_actions(env, obs, ("hold", "hold", "hold")))
    with pytest.raises(ValueError, match="need a base policy"):
        rollouts.run(env.get_state(), _first_actions(env, obs, ("hold", "hold")))
    with pytest.raises(ValueError, match="events mode"):
        Rollouts(AllocationEnv(SCENARIO, timing="events"), 1, 1, 1)


def test_the_batched_base_stock_keeps_its_order_stop():
    """omnichannel-transfers (the policy orders) 42 periods in: rollouts to the end under base-stock with an
    order stop of 12 are the same batched as copy by copy, and differ from those without the stop."""
    env = AllocationEnv("omnichannel-transfers")
    obs, _ = env.reset(seed=40_002)
    stop = {"review_periods": 2.0, "safety_factor": 1.0, "order_stop_periods": 12.0}
    rule = make_policy("base-stock", env, **stop)
    for _ in range(42):
        obs, *_ = env.step(rule.predict(obs)[0])
    first = np.stack([rule.predict(obs)[0]] * 2)

    def run(base) -> np.ndarray:
        return Rollouts(env, 2, 3, 18, base=base, rollout_seed=4).run(env.get_state(), first).returns

    batched = run(lambda e: batch_policy("base-stock", e, stop))
    np.testing.assert_array_equal(batched, run(lambda e: CopyRules("base-stock", e, stop)))
    no_stop = {**stop, "order_stop_periods": 0.0}
    assert not np.array_equal(batched, run(lambda e: batch_policy("base-stock", e, no_stop)))
