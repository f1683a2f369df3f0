"""The lookahead over an exported policy: its candidates, its honesty, and that it plays the policy when
it tries nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from allocsim.agents.inference import OnnxPolicy
from allocsim.agents.lookahead import LookaheadPolicy
from allocsim.agents.mode_adapter import for_env
from allocsim.agents.pretrained import pretrained_path
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.evaluation import build_policy, learned_spec, run_episode

SHIPPED = pretrained_path("retail-small")
pytestmark = pytest.mark.skipif(SHIPPED is None, reason="no policy shipped for retail-small")


@pytest.fixture(scope="module")
def env() -> AllocationEnv:
    return AllocationEnv(load_scenario("retail-small"))


@pytest.fixture(scope="module")
def onnx() -> OnnxPolicy:
    return OnnxPolicy.load(SHIPPED)  # type: ignore[arg-type]


def test_candidates_are_the_action_and_each_coordinate_moved(env: AllocationEnv, onnx: OnnxPolicy) -> None:
    look = LookaheadPolicy(onnx, env, step=0.5)
    action = np.zeros(onnx.card.action_size)
    action[0], action[1] = 0.8, -0.9
    rows = look.candidate_rows(action)
    assert rows.shape == (1 + 2 * len(action), len(action))
    assert np.array_equal(rows[0], action)
    assert rows[1, 0] == pytest.approx(0.3) and rows[2, 0] == 1.0  # +0.5 clipped at 1
    assert rows[3, 1] == -1.0 and rows[4, 1] == pytest.approx(-0.4)  # -0.5 clipped at -1
    for i in range(len(action)):  # every other coordinate untouched
        others = np.delete(np.arange(len(action)), i)
        assert np.array_equal(rows[1 + 2 * i, others], action[others])
        assert np.array_equal(rows[2 + 2 * i, others], action[others])


def test_trying_nothing_plays_the_policy_itself(env: AllocationEnv, onnx: OnnxPolicy) -> None:
    plain = run_episode(env, for_env(onnx.fresh(), env), 40000)
    look = run_episode(env, LookaheadPolicy(onnx, env, seed=40000, coordinates=False), 40000)
    assert look["profit"] == plain["profit"]
    assert look["units_fulfilled"] == plain["units_fulfilled"]


def _decision_at(env: AllocationEnv, look: LookaheadPolicy, seed: int, period: int,
                 future_seed: int | None) -> np.ndarray:
    obs, _ = env.reset(seed=seed)
    for _ in range(period):
        obs, *_ = env.step(for_env(look.policy, env).predict(obs)[0])
    if future_seed is not None:  # the episode's own future replaced: the lookahead must not notice
        env.engine.follow_future([0], [future_seed])
    return look.predict(obs)[0]


def test_the_decision_never_reads_the_episode_s_own_future(env: AllocationEnv, onnx: OnnxPolicy) -> None:
    look = LookaheadPolicy(onnx, env, seed=7, samples=4, horizon=5, z=0.0, shift=0.5)
    same = _decision_at(env, look, 40001, 10, None)
    assert np.array_equal(same, _decision_at(env, look, 40001, 10, 123_456))
    assert look.last_returns is not None and look.last_returns.shape == (1 + 2 * onnx.card.action_size, 4)


def test_the_benchmark_plays_it_by_name(env: AllocationEnv) -> None:
    spec = learned_spec(f"lookahead:{SHIPPED}")
    assert spec.label == "lookahead:pretrained:dcl" and spec.name == "learned"
    assert isinstance(build_policy(spec, env, 40000), LookaheadPolicy)
    with pytest.raises(ValueError, match=r"exported \.onnx"):
        learned_spec("lookahead:runs/some-run-folder")


def test_unit_moves_shift_whole_units_between_locations_and_the_dc(env: AllocationEnv,
                                                                   onnx: OnnxPolicy) -> None:
    look = LookaheadPolicy(onnx, env, seed=3, shift=0.5)
    obs, _ = env.reset(seed=40002)
    for _ in range(5):
        obs, *_ = env.step(for_env(onnx, env).predict(obs)[0])
    shares = np.asarray(for_env(onnx, env).predict(obs)[0], dtype=np.float64)
    rows = look.unit_moves(shares)
    base = env.preview(rows[0], guardrails=False).allocation
    keep = env.state.dc_available - base.sum(axis=0)
    assert np.array_equal(rows[0], shares)
    seen = 0
    for row in rows[1:]:
        delta = env.preview(row, guardrails=False).allocation - base
        changed = np.argwhere(delta != 0)
        assert len(changed) in (1, 2) and len({int(s) for _, s in changed}) == 1  # one SKU
        if len(changed) == 2:  # from one location to another: units conserved
            assert delta.sum() == 0
        else:  # to or from the DC: up only from what the DC keeps
            loc, sku = changed[0]
            assert -base[loc, sku] <= delta[loc, sku] <= keep[sku]
        seen += 1
    assert seen == len(rows) - 1 >= 1
