"""An interrupted benchmark keeps its finished episodes in the run folder, and ``--resume`` plays
only the rest with the figures of one uninterrupted run (issue 24, item 3)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from allocsim.envs.scenario import load_scenario
from allocsim.experiments.benchmark import run_benchmark, write_partial
from allocsim.experiments.cli import app
from allocsim.experiments.episode_store import DONE, EpisodeStore, run_digest
from allocsim.experiments.evaluation import PolicySpec
from allocsim.experiments.interrupt import benchmark_kept
from allocsim.experiments.run_folder import MANIFEST, FolderInUse, claim, read_manifest, write_manifest

POLICIES = ["base-stock", "balanced", "random"]
SEEDS = [0, 1, 2, 3]
runner = CliRunner()


class StopAfter:
    """An ``on_done`` that raises Ctrl-C's exception once ``limit`` episodes have been counted."""

    def __init__(self, limit: int) -> None:
        self.limit, self.done = limit, 0

    def __call__(self, n: int) -> None:
        self.done += n
        if self.done >= self.limit:
            raise KeyboardInterrupt


def _bench(scenario_name: str, seeds: Sequence[int], store: EpisodeStore | None = None,
           on_done: StopAfter | None = None) -> pd.DataFrame:
    result = run_benchmark(load_scenario(scenario_name), seeds, policies=POLICIES, tuned_dir=None,
                           bound=False, store=store, on_done=on_done)
    return result.summary


@pytest.mark.parametrize("scenario_name", ["tiny-dp", "strategic-holdback-decision"])
def test_a_resumed_benchmark_gives_the_figures_of_an_uninterrupted_one(tmp_path: Path,
                                                                       scenario_name: str) -> None:
    """strategic-holdback-decision has a second pass (without holdbacks): it is kept and resumed too."""
    whole = _bench(scenario_name, SEEDS)
    store = EpisodeStore(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        _bench(scenario_name, SEEDS, store, StopAfter(5))
    kept = store.count()
    assert 0 < kept < len(POLICIES) * len(SEEDS)
    counted = StopAfter(10**9)
    resumed = _bench(scenario_name, SEEDS, store, counted)
    pd.testing.assert_frame_equal(resumed, whole, check_exact=True)
    assert store.count() == len(POLICIES) * len(SEEDS)  # every episode of the run is kept now


def test_kept_episodes_are_not_played_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from allocsim.experiments import evaluation

    store = EpisodeStore(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        _bench("tiny-dp", SEEDS, store, StopAfter(6))
    kept = store.load()
    played: list[tuple[str, int]] = []
    original = evaluation._run_chunk

    def spy(scenario, spec, seeds, warm_up):  # type: ignore[no-untyped-def]
        played.extend((spec.label, s) for s in seeds)
        return original(scenario, spec, seeds, warm_up)

    monkeypatch.setattr(evaluation, "_run_chunk", spy)
    _bench("tiny-dp", SEEDS, store)
    assert played and not set(played) & set(kept)
    assert len(played) + len(kept) == len(POLICIES) * len(SEEDS)


def test_the_interrupted_folder_holds_csvs_of_what_finished(tmp_path: Path) -> None:
    store = EpisodeStore(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        _bench("tiny-dp", SEEDS, store, StopAfter(5))  # 5 of 12, in chunks of one seed
    kept = store.load()
    common = [s for s in SEEDS if all((p, s) in kept for p in POLICIES)]
    assert 0 < len(common) < len(SEEDS)
    written = write_partial(store, POLICIES, SEEDS, tmp_path)
    assert {p.name for p in written} == {"episodes.csv", "summary.csv"}
    episodes = pd.read_csv(tmp_path / "episodes.csv")
    assert len(episodes) == len(kept)
    assert set(zip(episodes["policy"], episodes["seed"], strict=True)) == set(kept)
    summary = pd.read_csv(tmp_path / "summary.csv")  # paired: only the seeds every policy finished
    assert sorted(summary["policy"]) == sorted(POLICIES) and set(summary["episodes"]) == {len(common)}
    profit = {p: sum(kept[p, s]["profit"] for s in common) / len(common) for p in POLICIES}
    means = dict(zip(summary["policy"], summary["profit_mean"], strict=True))
    assert means == pytest.approx(profit, rel=1e-12)


def test_the_message_names_what_was_kept_and_the_command_that_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["allocsim", "benchmark", "--scenario", "tiny-dp", "--out", str(tmp_path)]
    monkeypatch.setattr("sys.argv", argv)
    write_manifest(tmp_path, "benchmark", [DONE], digest="d", complete=False)
    store = EpisodeStore(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        _bench("tiny-dp", SEEDS, store, StopAfter(4))
    message = benchmark_kept(4, 12, tmp_path, True, POLICIES, SEEDS)
    assert "the 4 finished episodes are kept in" in message and "episodes.csv" in message
    assert message.endswith(f"allocsim benchmark --scenario tiny-dp --out {tmp_path} --resume")
    manifest = read_manifest(tmp_path)
    assert manifest is not None and set(manifest["files"]) == {DONE, "episodes.csv", "summary.csv"}
    assert manifest["digest"] == "d" and manifest["complete"] is False


def test_nothing_finished_leaves_no_folder(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    folder.mkdir()
    write_manifest(folder, "benchmark", [DONE], digest="d", complete=False)
    message = benchmark_kept(0, 12, folder, True, POLICIES, SEEDS)
    assert "no episode was finished" in message and not folder.exists()


def test_an_interrupted_folder_is_resumed_only_by_the_same_run(tmp_path: Path) -> None:
    write_manifest(tmp_path, "benchmark", [DONE], digest="abc", complete=False)
    EpisodeStore(tmp_path).save("random", [{"seed": 0, "policy": "random", "profit": 1.0}])
    with pytest.raises(FolderInUse) as err, claim(tmp_path, "benchmark"):
        pass
    assert "pass --resume" in str(err.value)
    with pytest.raises(FolderInUse) as err, claim(tmp_path, "benchmark", same_run={"digest": "other"}):
        pass
    assert "of other settings" in str(err.value)
    with claim(tmp_path, "benchmark", same_run={"digest": "abc"}):
        assert EpisodeStore(tmp_path).count() == 1
    with claim(tmp_path, "benchmark", force=True):  # --force removes the kept episodes
        assert not (tmp_path / DONE).exists() and not (tmp_path / MANIFEST).exists()


def test_the_digest_changes_with_what_changes_the_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    text = load_scenario("tiny-dp").model_dump_json()
    base = run_digest(text, [PolicySpec("base-stock", {"safety_factor": 1.0})], SEEDS, 0)
    assert base == run_digest(text, [PolicySpec("base-stock", {"safety_factor": 1.0})], SEEDS, 0)
    assert base != run_digest(text, [PolicySpec("base-stock", {"safety_factor": 1.5})], SEEDS, 0)
    assert base != run_digest(text, [PolicySpec("base-stock", {"safety_factor": 1.0})], SEEDS[:3], 0)
    assert base != run_digest(text, [PolicySpec("base-stock", {"safety_factor": 1.0})], SEEDS, 1)
    other = load_scenario("retail-small").model_dump_json()
    assert base != run_digest(other, [PolicySpec("base-stock", {"safety_factor": 1.0})], SEEDS, 0)
    monkeypatch.setattr("allocsim.envs.engine.cache_dir", lambda: Path("/cache/0123456789abcdef"))
    assert base != run_digest(text, [PolicySpec("base-stock", {"safety_factor": 1.0})], SEEDS, 0)  # new code


def test_the_cli_resumes_and_removes_the_kept_episodes_when_whole(tmp_path: Path) -> None:
    """A folder left by an interrupt (manifest marked unfinished, some episodes kept) is refused without
    --resume and finished with it, to the figures of an uninterrupted run; the finished folder holds no
    kept episodes and a whole manifest."""
    out, tuned = tmp_path / "bench", tmp_path / "none"
    args = ["benchmark", "--scenario", "tiny-dp", "--episodes", "3", "--seed", "0", "--policies",
            "base-stock,random", "--no-bound", "--workers", "1", "--tuned-dir", str(tuned)]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "whole")])
    assert first.exit_code == 0, first.output
    whole = read_manifest(tmp_path / "whole")
    assert whole is not None and whole["complete"] is True and not (tmp_path / "whole" / DONE).exists()
    store = EpisodeStore(out)
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(load_scenario("tiny-dp"), [0, 1, 2], policies=["base-stock", "random"], tuned_dir=tuned,
                      bound=False, store=store, on_done=StopAfter(4))
    write_manifest(out, "benchmark", [DONE], scenario="tiny-dp", digest=whole["digest"], complete=False)
    refused = runner.invoke(app, [*args, "--out", str(out)])
    assert refused.exit_code == 2 and "--resume" in refused.output
    resumed = runner.invoke(app, [*args, "--out", str(out), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    for name in ("summary.csv", "episodes.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / name), pd.read_csv(tmp_path / "whole" / name))
    assert not (out / DONE).exists() and (read_manifest(out) or {}).get("complete") is True
