"""allocsim sweep on the local backend: determinism, resume, failures, bad config, no Ray import."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.experiments.cli import app
from allocsim.experiments.sweep import cell_id, expand, gather, run_sweep
from allocsim.experiments.sweep_config import SweepConfigError, parse_config
from allocsim.experiments.sweep_kinds import KINDS, ExpandContext, RuleKind, register_kind

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ROOT / "baselines" / "tuned" / load_scenario("tiny-dp").content_hash()  # tuned params shipped


def small_config(**extra: Any) -> dict[str, Any]:
    return {
        "scenarios": ["tiny-dp"],
        "policies": ["proportional", {"name": "base-stock", "params": "tuned"}],
        "seeds": {"start": 100, "count": 3},
        **extra,
    }


def write_config(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class CountingKind:
    """A test kind: a rule cell that logs each execution to a file and fails on chosen seeds."""

    def expand(self, entry: dict[str, Any], scenario: Scenario, ctx: ExpandContext) -> dict[str, Any]:
        return {"kind": "counting", "name": "proportional", "params": {},
                "label": entry.get("label", "counting"), "log": entry["log"],
                "fail_seeds": entry.get("fail_seeds", []), "die_seeds": entry.get("die_seeds", [])}

    def check(self, policy: dict[str, Any], scenario: Scenario) -> None:
        pass

    def run(self, cell: dict[str, Any]) -> dict[str, Any]:
        policy = cell["policy"]
        with open(policy["log"], "a", encoding="utf-8") as log:
            log.write(f"{cell['seed']}\n")
        if cell["seed"] in policy["fail_seeds"]:
            raise RuntimeError(f"boom on seed {cell['seed']}")
        if cell["seed"] in policy["die_seeds"]:
            os._exit(3)
        return RuleKind().run(cell)


@pytest.fixture
def counting() -> Any:
    register_kind("counting", CountingKind())
    yield
    KINDS.pop("counting", None)


def test_expand_gives_scenario_x_policy_x_seed_cells_with_stable_ids() -> None:
    cells = expand(parse_config(small_config()), ROOT / "x.yaml")
    assert len(cells) == 1 * 2 * 3
    assert [c["seed"] for c in cells[:3]] == [100, 101, 102]
    assert {c["policy"]["label"] for c in cells} == {"proportional", "base-stock-tuned"}
    tuned = json.loads((PACKAGED / "base-stock.json").read_text())["params"]
    assert cells[3]["policy"]["params"] == tuned
    ids = [cell_id(c) for c in cells]
    assert len(set(ids)) == len(ids)
    again = expand(parse_config(small_config()), ROOT / "x.yaml")
    assert [cell_id(c) for c in again] == ids
    json.dumps(cells[0])  # a plain dict: JSON all the way down


def test_one_and_two_workers_give_identical_rows(tmp_path: Path) -> None:
    cells = expand(parse_config(small_config()), tmp_path / "x.yaml")
    one = run_sweep(cells, tmp_path / "one", workers=1)
    two = run_sweep(cells, tmp_path / "two", workers=2)
    assert one.ran == two.ran == len(cells) and not one.failed and not two.failed
    a, b = gather(cells, tmp_path / "one"), gather(cells, tmp_path / "two")
    assert len(a) == len(cells)
    pd.testing.assert_frame_equal(a, b)
    for cell in cells:  # cell by cell, the stored rows are equal
        cid = cell_id(cell)
        ra = json.loads((tmp_path / "one" / "cells" / f"{cid}.json").read_text())["row"]
        rb = json.loads((tmp_path / "two" / "cells" / f"{cid}.json").read_text())["row"]
        assert ra == rb


def test_resume_skips_finished_cells(tmp_path: Path, counting: Any) -> None:
    log = tmp_path / "runs.log"
    data = small_config(policies=[{"kind": "counting", "log": str(log)}], seeds=[1, 2, 3, 4])
    cells = expand(parse_config(data), tmp_path / "x.yaml")
    out = tmp_path / "out"
    first = run_sweep(cells, out, workers=2)
    assert (first.ran, first.skipped) == (4, 0)
    assert sorted(log.read_text().split()) == ["1", "2", "3", "4"]
    (out / "cells" / f"{cell_id(cells[2])}.json").unlink()  # as if killed with seed 3 in flight
    second = run_sweep(cells, out, workers=2)
    assert (second.ran, second.skipped) == (1, 3)
    assert sorted(log.read_text().split()) == ["1", "2", "3", "3", "4"]
    third = run_sweep(cells, out, workers=2)
    assert (third.ran, third.skipped) == (0, 4)
    assert len(log.read_text().split()) == 5
    assert len(gather(cells, out)) == 4


def test_a_failing_cell_is_recorded_and_the_sweep_goes_on(tmp_path: Path, counting: Any) -> None:
    log = tmp_path / "runs.log"
    data = small_config(policies=[{"kind": "counting", "log": str(log), "fail_seeds": [2]}], seeds=[1, 2, 3])
    path = write_config(tmp_path, data)
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--workers", "2"])
    assert result.exit_code == 0, result.output
    cells = expand(parse_config(data), path)
    error = json.loads((out / "cells" / f"{cell_id(cells[1])}.error.json").read_text())
    assert error["ok"] is False and "boom on seed 2" in error["error"] and "Traceback" in error["traceback"]
    frame = pd.read_csv(out / "results.csv")
    assert list(frame["seed"]) == [1, 3]
    assert "1 failed" in result.stdout


def test_a_dying_worker_is_recorded_and_the_sweep_goes_on(tmp_path: Path, counting: Any) -> None:
    log = tmp_path / "runs.log"
    data = small_config(policies=[{"kind": "counting", "log": str(log), "die_seeds": [1]}],
                        seeds=list(range(1, 9)))
    cells = expand(parse_config(data), tmp_path / "x.yaml")
    out = tmp_path / "out"
    report = run_sweep(cells, out, workers=1)
    assert report.ran == 8
    dead = out / "cells" / f"{cell_id(cells[0])}.error.json"
    assert dead.is_file() and "BrokenProcessPool" in json.loads(dead.read_text())["error"]
    finished = len(gather(cells, out))
    assert finished >= 8 - 2  # at most the cells in flight with it are lost (workers=1: 2 in flight)
    rerun = run_sweep(cells, out, workers=1)
    assert (rerun.skipped, rerun.ran) == (finished, 8 - finished)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"colour": "red"}, "colour"),
        ({"seeds": [1, 1]}, "seeds: seeds must be distinct"),
        ({"seeds": {"start": 0}}, "seeds.count"),
        ({"scenarios": ["no-such-scenario"]}, "scenarios.0: unknown scenario"),
        ({"policies": ["no-such-rule"]}, "policies.0: unknown rule 'no-such-rule'"),
        ({"policies": [{"kind": "magic"}]}, "policies.0.kind: unknown policy kind 'magic'"),
        ({"policies": [{"kind": "model", "path": "nowhere"}]}, "nowhere: no such file or folder"),
        ({"policies": [{"kind": "train", "algo": "ppo"}]}, "policies.0.timesteps: Field required"),
        ({"policies": [{"kind": "train", "algo": "dqn", "timesteps": 5}]}, "unknown algorithm 'dqn'"),
        ({"policies": [{"kind": "train", "timesteps": 5, "hyperparams": {"lr": 1}}]}, "hyperparams"),
        ({"policies": [{"kind": "train", "timesteps": 5, "hyperparams": {"n_steps": 64}}]},
         "a budget of 5 timesteps is less than one rollout"),
        ({"policies": [{"kind": "train", "timesteps": 5, "action_mode": "levels"}]},
         "policies.0.action_mode: 'levels' is not one of shares, targets, residual"),
        ({"policies": [{"kind": "train", "timesteps": 64, "action_mode": "residual",
                        "hyperparams": {"n_envs": 1, "n_steps": 64, "warm_start": {"episodes": 2}}}]},
         "policies.0: action_mode residual: warm_start clones a rule's shares actions"),
        ({"policies": [{"kind": "onnx", "path": "m.onnx"}]}, "policies.0: path: cannot read"),
        ({"policies": [{"kind": "onnx", "path": "pretrained"}]}, "policies.0: fits none of the scenarios"),
        ({"policies": [{"kind": "onnx", "path": "m.onnx", "colour": 1}]}, "policies.0.colour"),
        ({"policies": [{"name": "min-max", "params": {"nonsense": 1}}]}, "policies.0"),
        ({"policies": [{"name": "min-max", "colour": 1}]}, "policies.0.colour"),
        ({"policies": ["proportional", "proportional"]}, "labels must be unique"),
        ({"warm_up": 10_000}, "warm_up"),
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path: Path, change: dict[str, Any], needle: str) -> None:
    path = write_config(tmp_path, small_config(**change))
    result = runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert not (tmp_path / "out" / "cells").exists()


def test_missing_file_unknown_backend_and_bad_yaml_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["sweep", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    path = write_config(tmp_path, small_config())
    backend = runner.invoke(app, ["sweep", str(path), "--backend", "slurm"])
    assert backend.exit_code == 2 and "unknown backend 'slurm'; valid: local, ray" in backend.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenarios: [tiny-dp\n", encoding="utf-8")
    broken = runner.invoke(app, ["sweep", str(bad)])
    assert broken.exit_code == 2 and len(broken.stderr.strip().splitlines()) == 1
    with pytest.raises(SweepConfigError, match="top level"):
        parse_config([1, 2])


@pytest.mark.slow
def test_local_sweep_never_imports_ray(tmp_path: Path) -> None:
    path = write_config(tmp_path, small_config())
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from allocsim.experiments.cli import app\n"
        f"r = CliRunner().invoke(app, ['sweep', {str(path)!r}, '--out', {str(tmp_path / 'out')!r},"
        " '--workers', '2'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('ray' in sys.modules, any(m.startswith('ray.') for m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False False"
    assert (tmp_path / "out" / "results.csv").is_file()
    assert (tmp_path / "out" / "results.parquet").is_file()


def test_example_config_is_valid() -> None:
    path = ROOT / "experiments" / "configs" / "sweep-example.yaml"
    cfg = parse_config(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    cfg = cfg.model_copy(update={"tuned_dir": str(ROOT / "no-such-folder")})  # the packaged ones
    cells = expand(cfg, path)
    shipped = [c for c in cells if c["policy"]["kind"] == "onnx"]
    assert len(cells) == 45 and len(shipped) == 5
    assert {c["scenario"] for c in shipped} == {"retail-small"}


@pytest.mark.slow
def test_a_killed_sweep_leaves_no_process_keeps_its_finished_cells_and_resumes(
    tmp_path: Path, process_tree: Any
) -> None:
    """``kill -9`` of the driver alone (not its group): its workers go with it, finished cells stay
    whole, and the resumed sweep runs exactly the missing cells."""
    data = small_config(scenarios=["retail-medium"], policies=["proportional"], seeds=list(range(30)))
    path = write_config(tmp_path, data)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "allocsim.experiments.cli", "sweep", str(path), "--out", str(out),
           "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers: set[tuple[int, int]] = set()
    try:
        deadline = time.monotonic() + 180
        while len(list((out / "cells").glob("*.json"))) < 3 and time.monotonic() < deadline:
            workers |= process_tree.descendants(proc.pid)
            time.sleep(0.05)
        workers |= process_tree.descendants(proc.pid)
        proc.kill()  # SIGKILL to the driver only, as ``kill -9 <pid>``
        proc.wait(timeout=30)
        assert len(workers) >= 2, "the pool's workers were never seen"
        assert not process_tree.wait_gone(workers, 10), "a worker outlived the killed sweep"
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left, so a failure does not leak
            os.killpg(proc.pid, signal.SIGKILL)
    finished = list((out / "cells").glob("*.json"))
    assert 3 <= len(finished) < 30, "the sweep finished before it could be killed"
    assert all(json.loads(f.read_text())["ok"] for f in finished)  # no half-written result
    cells = expand(parse_config(data), path)
    report = run_sweep(cells, out, workers=2)
    assert report.skipped == len(finished) and report.ran == 30 - len(finished) and not report.failed
    assert len(gather(cells, out)) == 30


def test_onnx_entries_run_where_they_fit_and_match_evaluate(tmp_path: Path, retail_small_onnx: Path) -> None:
    """An exported policy sweeps like a rule: skipped on scenarios it was not exported for, its rows equal
    to ``allocsim evaluate`` on the same seeds, the model bytes not copied into the cell records."""
    config = small_config(scenarios=["retail-small", "tiny-dp"],
                          policies=["proportional", {"kind": "onnx", "path": str(retail_small_onnx)}],
                          seeds=[40000, 40001])
    path = write_config(tmp_path, config)
    result = runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "out" / "results.csv")
    onnx_rows = frame[frame["kind"] == "onnx"].sort_values("seed")
    assert set(onnx_rows["scenario"]) == {"retail-small"} and list(onnx_rows["seed"]) == [40000, 40001]
    assert len(frame[frame["scenario"] == "tiny-dp"]) == 2  # proportional only
    args = ["evaluate", "--model", str(retail_small_onnx), "--episodes", "2", "--json"]
    evaluated = runner.invoke(app, args)
    profits = [e["profit"] for e in json.loads(evaluated.stdout)["episodes"]]
    assert list(onnx_rows["profit"]) == pytest.approx(profits)
    for record in (tmp_path / "out" / "cells").glob("*.json"):
        text = record.read_text()
        assert "model_b64" not in text and len(text) < 20_000


@pytest.mark.slow
def test_training_jobs_train_once_and_give_the_same_rows_on_any_worker_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``train`` entry trains one model per job (cached under a lock) on its ``n_envs`` native copies
    and plays it on every seed."""
    job = {"kind": "train", "timesteps": 128, "train_seed": 2,
           "hyperparams": {"n_envs": 2, "n_steps": 64, "batch_size": 32, "n_epochs": 1,
                           "policy_kwargs": {"net_arch": [16, 16]}}}
    path = write_config(tmp_path, small_config(policies=[job], seeds=[40000, 40001, 40002]))
    frames = []
    for workers in ("1", "2"):  # a cache each: the model is trained afresh in each sweep
        monkeypatch.setenv("ALLOCSIM_TRAIN_CACHE", str(tmp_path / f"cache-{workers}"))
        out = tmp_path / f"out-{workers}"
        result = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--workers", workers])
        assert result.exit_code == 0, result.output
        frames.append(pd.read_csv(out / "results.csv").sort_values("seed").reset_index(drop=True))
    assert list(frames[0]["policy"]) == ["ppo-train2"] * 3
    pd.testing.assert_frame_equal(frames[0].drop(columns=["cell_id"]), frames[1].drop(columns=["cell_id"]))
    for workers in ("1", "2"):  # one training per job, even with two workers asking for it at once
        runs = [p for p in (tmp_path / f"cache-{workers}").iterdir() if p.is_dir()]
        assert len(runs) == 1 and json.loads((runs[0] / "progress.json").read_text())["done"]
        saved = yaml.safe_load((runs[0] / "config.yaml").read_text())
        assert (saved["n_envs"], saved["vectorization"]) == (2, "native")


@pytest.mark.slow
def test_warm_started_training_jobs_clone_the_best_tuned_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``train`` entry with ``warm_start`` names its teacher (the best tuned rule) and trains from it."""
    job = {"kind": "train", "timesteps": 64, "train_seed": 0,
           "hyperparams": {"n_envs": 1, "n_steps": 64, "batch_size": 32, "n_epochs": 1,
                           "policy_kwargs": {"net_arch": [16]},
                           "warm_start": {"episodes": 2, "epochs": 2, "dagger_rounds": 0}}}
    config = parse_config(small_config(policies=[job], seeds=[40000]))
    cells = expand(config, tmp_path / "sweep.yaml")
    files = PACKAGED.glob("*.json")
    tuned = {p.stem: json.loads(p.read_text())["profit_mean"] for p in files}
    assert tuned[cells[0]["policy"]["teacher"]["name"]] == max(tuned.values())
    monkeypatch.setenv("ALLOCSIM_TRAIN_CACHE", str(tmp_path / "cache"))
    report = run_sweep(cells, tmp_path / "out", workers=1)
    assert report.ran == 1 and not report.failed
    (run,) = [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]
    assert "warm_start_fit" in (run / "config.yaml").read_text()


@pytest.mark.slow
def test_residual_training_jobs_train_in_their_mode_and_play_the_shares_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``action_mode: residual`` trains around the tuned base-stock and is recorded in the run config."""
    job = {"kind": "train", "timesteps": 64, "train_seed": 0, "action_mode": "residual",
           "hyperparams": {"warm_start": None,  # the packaged tiny-dp entry warm starts (shares only)
                           "n_envs": 1, "n_steps": 64, "batch_size": 32, "n_epochs": 1,
                           "policy_kwargs": {"net_arch": [16]}}}
    config = parse_config(small_config(policies=[job], seeds=[40000]))
    cells = expand(config, tmp_path / "sweep.yaml")
    policy = cells[0]["policy"]
    tuned = json.loads((PACKAGED / "base-stock.json").read_text())["params"]
    assert policy["action_mode"] == "residual"
    assert policy["residual_around"]["safety_factor"] == tuned["safety_factor"]
    shares = parse_config(small_config(policies=[{**job, "action_mode": "shares"}], seeds=[40000]))
    assert "action_mode" not in expand(shares, tmp_path / "sweep.yaml")[0]["policy"]  # old job hashes kept
    monkeypatch.setenv("ALLOCSIM_TRAIN_CACHE", str(tmp_path / "cache"))
    report = run_sweep(cells, tmp_path / "out", workers=1)
    assert report.ran == 1 and not report.failed
    (run,) = [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["action_mode"] == "residual" and saved["residual_around"] == policy["residual_around"]


@pytest.mark.slow
def test_model_entries_carry_the_run_folder_and_match_evaluate(
    tmp_path: Path, tiny_trainer: Any
) -> None:
    run = tiny_trainer(tmp_path, "retail-small")
    policies = ["proportional", {"kind": "model", "path": str(run)}]
    config = small_config(scenarios=["retail-small", "tiny-dp"], policies=policies, seeds=[40000, 40001])
    path = write_config(tmp_path, config)
    result = runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "2"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "out" / "results.csv")
    rows = frame[frame["kind"] == "model"].sort_values("seed")
    assert set(rows["scenario"]) == {"retail-small"} and list(rows["policy"]) == [f"ppo:{run.name}"] * 2
    evaluated = runner.invoke(app, ["evaluate", "--model", str(run), "--episodes", "2", "--json"])
    profits = [e["profit"] for e in json.loads(evaluated.stdout)["episodes"]]
    assert list(rows["profit"]) == pytest.approx(profits)
    for record in (tmp_path / "out" / "cells").glob("*.json"):
        assert '"files"' not in record.read_text()
