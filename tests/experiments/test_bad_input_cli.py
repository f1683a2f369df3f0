"""Bad-input corpus, part 3: sweep configs, tuned-parameter and hyperparameter files, option values
(in process and through a real process). See corpus_kit for what a clean exit is.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from corpus_kit import clean_exit, dump, runner

from allocsim.experiments.cli import app
from allocsim.experiments.sweep import expand
from allocsim.experiments.sweep_config import load_config

# ==================================================================== sweep configs
SWEEP_BASE: dict[str, Any] = {"scenarios": ["tiny-dp"], "policies": ["proportional"],
                              "seeds": {"start": 40000, "count": 2}}
SWEEP_CASES: dict[str, tuple[Callable[[], Any], list[str]]] = {
    "seed start 1e26": (lambda: {**SWEEP_BASE, "seeds": {"start": 1e26, "count": 2}},
                        ["seeds.start", "1e+26"]),
    "seed start of 30 digits": (lambda: {**SWEEP_BASE, "seeds": {"start": 10**30, "count": 2}},
                                ["seeds.start", str(10**30)]),
    "seed start negative": (lambda: {**SWEEP_BASE, "seeds": {"start": -1, "count": 2}},
                            ["seeds.start", "-1"]),
    "seed start a bool": (lambda: {**SWEEP_BASE, "seeds": {"start": True, "count": 2}},
                          ["seeds.start", "True"]),
    "seed count 0": (lambda: {**SWEEP_BASE, "seeds": {"start": 0, "count": 0}}, ["seeds.count", "0"]),
    "seed count 1e7": (lambda: {**SWEEP_BASE, "seeds": {"start": 0, "count": 10**7}},
                       ["seeds.count", "10000000"]),
    "seed count a float": (lambda: {**SWEEP_BASE, "seeds": {"start": 0, "count": 2.5}},
                           ["seeds.count", "2.5"]),
    "seed list empty": (lambda: {**SWEEP_BASE, "seeds": []}, ["seeds", "at least one"]),
    "seed list with a float": (lambda: {**SWEEP_BASE, "seeds": [1, 2.5]}, ["seeds.1", "2.5"]),
    "seed list with a huge seed": (lambda: {**SWEEP_BASE, "seeds": [1, 2**40]}, ["seeds.1", str(2**40)]),
    "seed list with repeats": (lambda: {**SWEEP_BASE, "seeds": [1, 1]}, ["seeds", "distinct"]),
    "warm_up 1e9": (lambda: {**SWEEP_BASE, "warm_up": 10**9}, ["warm_up", "1000000000"]),
    "warm_up a bool": (lambda: {**SWEEP_BASE, "warm_up": True}, ["warm_up", "True"]),
    "no scenarios": (lambda: {**SWEEP_BASE, "scenarios": []}, ["scenarios"]),
    "unknown scenario": (lambda: {**SWEEP_BASE, "scenarios": ["nowhere"]}, ["scenarios.0", "nowhere'"]),
    "unknown policy": (lambda: {**SWEEP_BASE, "policies": ["nope"]}, ["policies.0", "'nope'"]),
    "2 MB value under an unknown key": (lambda: {**SWEEP_BASE, "colour": "x" * 2_000_000},
                                         ["colour", "characters)"]),
    "train timesteps 0": (lambda: {**SWEEP_BASE, "policies": [{"kind": "train", "timesteps": 0}]},
                          ["policies.0", "timesteps", "0"]),
    "train seed 1e30": (lambda: {**SWEEP_BASE, "policies": [{"kind": "train", "timesteps": 10,
                                                              "train_seed": 10**30}]},
                        ["policies.0", "train_seed", str(10**30)]),
    "tuned parameters missing from the relative tuned_dir": (
        lambda: {**SWEEP_BASE, "policies": [{"name": "hold", "params": "tuned"}],  # none packaged
                 "tuned_dir": "my-tuned"},
        ["my-tuned/tiny-dp/hold.json"]),
    "not a mapping": (lambda: [1, 2], ["mapping", "list"]),
    "rule parameter 1e300": (lambda: {**SWEEP_BASE, "policies": [{"name": "min-max",
                                                                  "params": {"min_days": 1e300}}]},
                             ["policies.0", "min_days", "1e+300"]),
    "rule parameter NaN": (lambda: {**SWEEP_BASE, "policies": [{"name": "min-max",
                                                                "params": {"max_days": math.nan}}]},
                           ["policies.0", "max_days", "nan"]),
}


@pytest.mark.parametrize("case", sorted(SWEEP_CASES))
def test_broken_sweep_config(tmp_path: Path, case: str) -> None:
    make, needles = SWEEP_CASES[case]
    config = tmp_path / "sweep.yaml"
    config.write_text(dump(make()))
    result = runner.invoke(app, ["sweep", str(config), "--out", str(tmp_path / "out")])
    text = clean_exit(result, str(config), *needles)
    if "tuned_dir" in make():
        assert str(tmp_path / "my-tuned") in text  # relative to the sweep file, not the working folder


@pytest.mark.parametrize(("data", "needle"), [(b"\xff\xfe\x00\x01", "not UTF-8"),
                                               ("seeds: [1]\n".encode("utf-16"), "not UTF-8"),
                                               (b"scenarios: [\n", "line 2")])
def test_unreadable_sweep_file(tmp_path: Path, data: bytes, needle: str) -> None:
    config = tmp_path / "sweep.yaml"
    config.write_bytes(data)
    clean_exit(runner.invoke(app, ["sweep", str(config)]), str(config), needle)


def test_a_relative_tuned_dir_is_read_from_the_sweep_files_folder(tmp_path: Path, monkeypatch: Any) -> None:
    folder = tmp_path / "configs"
    tuned = folder / "my-tuned" / "tiny-dp"
    tuned.mkdir(parents=True)
    (tuned / "base-stock.json").write_text(json.dumps({"params": {"safety_factor": 0.5}}))
    config = folder / "sweep.yaml"
    config.write_text(dump({**SWEEP_BASE, "policies": [{"name": "base-stock", "params": "tuned"}],
                                      "tuned_dir": "my-tuned"}))
    monkeypatch.chdir(tmp_path)  # the working folder has no my-tuned/
    cells = expand(load_config(config), config)
    assert {c["policy"]["label"] for c in cells} == {"base-stock-tuned"}
    assert all(c["policy"]["params"] == {"safety_factor": 0.5} for c in cells)


TUNED_FILES: dict[str, bytes] = {
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "an integer of 5,000 digits": b'{"params": {"max_days": ' + b"9" * 5000 + b"}}",
    "latin-1": '{"params": {"café": 1}}'.encode("latin-1"),
    "not an object": b"[1, 2]",
    "a parameter of 1e300": b'{"params": {"max_days": 1e300}}',
}


@pytest.mark.parametrize("case", sorted(TUNED_FILES))
def test_broken_tuned_parameters_file(tmp_path: Path, case: str) -> None:
    folder = tmp_path / "tuned" / "tiny-dp"
    folder.mkdir(parents=True)
    (folder / "min-max.json").write_bytes(TUNED_FILES[case])
    result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--policies", "min-max",
                                 "--episodes", "1", "--tuned-dir", str(tmp_path / "tuned"),
                                 "--out", str(tmp_path / "out")])
    clean_exit(result, "min-max")
    assert not (tmp_path / "out").exists()


HYPERPARAM_FILES: dict[str, tuple[bytes, list[str]]] = {
    "latin-1": ("default:\n  policy: café\n".encode("latin-1"), ["not UTF-8"]),
    "binary": (bytes(range(256)), ["not UTF-8"]),
    "n_steps 1e12": (b"default:\n  n_steps: 1e12\n", ["n_steps", "1000000"]),
    "n_timesteps of 23 digits": (b"default:\n  n_timesteps: 99999999999999999999999\n",
                                 ["n_timesteps", "10000000000"]),
    "learning rate NaN": (b"default:\n  learning_rate: .nan\n", ["learning_rate", "finite"]),
    "buffer of 1e12": (b"default:\n  buffer_size: 1000000000000\n", ["buffer_size"]),
}


@pytest.mark.parametrize("case", sorted(HYPERPARAM_FILES))
def test_broken_hyperparameter_file(tmp_path: Path, case: str) -> None:
    data, needles = HYPERPARAM_FILES[case]
    file = tmp_path / "hp.yaml"
    file.write_bytes(data)
    result = runner.invoke(app, ["train", "--scenario", "tiny-dp", "--hyperparams", str(file),
                                 "--out", str(tmp_path / "run")])
    clean_exit(result, "hp.yaml", *needles)
    assert not (tmp_path / "run").exists()


# ==================================================================== option values
OPTION_CASES: list[tuple[list[str], list[str]]] = [
    (["simulate", "--episodes", "0"], ["--episodes", "1..1000000", "'0'"]),
    (["simulate", "--episodes", "99999999999999999999999"], ["--episodes", "99999999999999999999999"]),
    (["simulate", "--episodes", "-3"], ["--episodes", "'-3'"]),
    (["simulate", "--episodes", "2.5"], ["--episodes", "'2.5'"]),
    (["simulate", "--seed", "abc"], ["--seed", "0..4294967295", "'abc'"]),
    (["simulate", "--seed", "-1"], ["--seed", "'-1'"]),
    (["simulate", "--seed", "4294967296"], ["--seed", "'4294967296'"]),
    (["simulate", "--seed", "x" * 100_000], ["--seed", "characters)"]),
    (["simulate", "--epsiodes", "3"], ["--epsiodes", "--episodes"]),
    (["simulate", "--json=3"], ["--json"]),
    (["simulate", "stray"], ["stray"]),
    (["tune"], ["--policy"]),
    (["tune", "--policy", "min-max", "--episodes", "0"], ["--episodes", "'0'"]),
    (["tune", "--policy", "min-max", "--workers", "0"], ["--workers", "1..1024", "'0'"]),
    (["benchmark", "--workers", "0"], ["--workers", "'0'"]),
    (["benchmark", "--workers", "100000"], ["--workers", "'100000'"]),
    (["benchmark", "--warm-up", "-1"], ["--warm-up", "0..3650", "'-1'"]),
    (["benchmark", "--warm-up", "99999"], ["--warm-up", "'99999'"]),
    (["benchmark", "--episodes", "1e3"], ["--episodes", "'1e3'"]),
    (["benchmark", "--seed", "1e26"], ["--seed", "'1e26'"]),
    (["benchmark", "--polices", "x"], ["--polices"]),
    (["bound", "--episodes", "0"], ["--episodes", "'0'"]),
    (["bound", "--workers", "0"], ["--workers", "'0'"]),
    (["sweep", "c.yaml", "--workers", "0"], ["--workers", "'0'"]),
    (["sweep"], ["config"]),
    (["train", "--timesteps", "0"], ["--timesteps", "1..10000000000", "'0'"]),
    (["train", "--timesteps", "99999999999999999999999"], ["--timesteps", "99999999999999999999999"]),
    (["train", "--n-envs", "0"], ["--n-envs", "'0'"]),
    (["train", "--eval-every", "0"], ["--eval-every", "'0'"]),
    (["train", "--eval-episodes", "0"], ["--eval-episodes", "'0'"]),
    (["train", "--seed", "nan"], ["--seed", "'nan'"]),
    (["train", "--timestep", "5"], ["--timestep"]),
    (["train", "--action-mode", "levels"], ["--action-mode", "'levels'", "shares, targets, residual"]),
    (["train", "--scenario", "strategic-holdback", "--action-mode", "targets", "--timesteps", "8192",
      "--eval-episodes", "1", "--workers", "1"], ["warm_start", "--action-mode targets",
                                                 "leave out --action-mode"]),
    (["train", "--scenario", "retail-medium", "--action-mode", "shares", "--timesteps", "16384",
      "--eval-episodes", "1", "--workers", "1"], ["residual_start", "--action-mode shares",
                                                 "no residual_start"]),
    (["evaluate", "--model", "m", "--episodes", "0"], ["--episodes", "'0'"]),
    (["evaluate", "--model", "m", "--workers", "0"], ["--workers", "'0'"]),
    (["evaluate"], ["--model"]),
    (["results", "--workers", "0"], ["--workers", "'0'"]),
    (["state", "--period", "99999"], ["--period", "0..3650", "'99999'"]),
    (["state", "--seed", "-5"], ["--seed", "'-5'"]),
    (["infer", "--model", "m.onnx"], ["--state"]),
    (["export"], ["--model"]),
    (["no-such-command"], ["no-such-command"]),
]


@pytest.mark.parametrize(("args", "needles"), OPTION_CASES, ids=[" ".join(a)[:60] for a, _ in OPTION_CASES])
def test_bad_option_is_one_line_naming_it(args: list[str], needles: list[str]) -> None:
    text = clean_exit(runner.invoke(app, args), *needles)
    assert len(text.strip().splitlines()) == 1 and text.startswith("error: ")


def test_help_is_unchanged() -> None:
    result = runner.invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0 and "--episodes" in result.stdout and "Usage" in result.stdout


# ==================================================================== through a real process
@pytest.mark.parametrize(
    ("args", "needle"),
    [(["benchmark", "--seed", "abc"], "--seed"), (["simulate", "--scenario", "BAD_YAML"], "not UTF-8")],
)
def test_console_entry_gives_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes("name: café\n".encode("latin-1"))
    args = [str(bad) if a == "BAD_YAML" else a for a in args]
    done = subprocess.run([sys.executable, "-m", "allocsim.experiments.cli", *args],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
