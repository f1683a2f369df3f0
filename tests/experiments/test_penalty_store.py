"""The fitted penalty on disk: stored and read back exactly, refitted when unreadable or when the
scenario changes, and reused by later runs instead of fitting again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from allocsim.baselines.info_relaxation import SalesPenalty
from allocsim.envs.scenario import load_scenario
from allocsim.experiments import bounds
from allocsim.experiments.evaluation import env_for
from allocsim.experiments.penalty_store import load_penalty, penalty_key, save_penalty


def _penalty(note: str | None) -> SalesPenalty:
    rng = np.random.default_rng(3)
    return SalesPenalty(weight=rng.random((4, 2, 1)), survival=rng.random((4, 2, 1, 5)),
                        segments=rng.integers(0, 5, (4, 2, 1)), alpha=(0.3, 0.0), note=note,
                        fitted_on=(29_800, 29_801))


@pytest.mark.parametrize("note", [None, "no demand without advance notice"])
def test_a_stored_penalty_reads_back_exactly(tmp_path: Path, note: str | None) -> None:
    original = _penalty(note)
    back = load_penalty(save_penalty(tmp_path / "p.npz", original))
    assert back is not None
    np.testing.assert_array_equal(back.weight, original.weight)
    np.testing.assert_array_equal(back.survival, original.survival)
    np.testing.assert_array_equal(back.segments, original.segments)
    assert (back.alpha, back.note, back.fitted_on) == (original.alpha, original.note, original.fitted_on)


def test_missing_or_unreadable_files_are_none(tmp_path: Path) -> None:
    assert load_penalty(tmp_path / "absent.npz") is None
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    assert load_penalty(broken) is None


def test_the_key_follows_the_scenario_content() -> None:
    tiny = load_scenario("tiny-dp")
    edited = tiny.model_copy(update={"periods": 7})
    assert penalty_key(tiny, env_for(tiny).profile) == penalty_key(tiny, env_for(tiny).profile)
    assert penalty_key(tiny, env_for(tiny).profile) != penalty_key(edited, env_for(edited).profile)


def test_a_later_run_reuses_the_stored_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOCSIM_PENALTY_CACHE", str(tmp_path))
    monkeypatch.setattr(bounds, "_PENALTIES", {})
    first = bounds.penalty_for(load_scenario("tiny-dp"))
    assert len(list(tmp_path.glob("*.npz"))) == 1

    def refuse(*args: object, **kwargs: object) -> SalesPenalty:
        raise AssertionError("fitted again although the fit is stored")

    monkeypatch.setattr(bounds, "_PENALTIES", {})  # a new process: nothing in memory
    monkeypatch.setattr(bounds, "fit_penalty", refuse)
    again = bounds.penalty_for(load_scenario("tiny-dp"))
    np.testing.assert_array_equal(again.weight, first.weight)
    assert again.alpha == first.alpha and again.fitted_on == first.fitted_on
