"""`allocsim train` makes its cheap checks before any expensive step (issue 24 README walk): a budget
below one rollout is refused, and a finished run is reported, before the compile and the reference
rule's validation episodes (about 5 and 12 s under load)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocsim.agents import runfiles
from allocsim.envs.scenario import load_scenario
from allocsim.experiments import train_cmd
from allocsim.experiments.cli import app
from allocsim.experiments.train_cmd import TrainingJob, plan_training

runner = CliRunner()

SMALL = """\
tiny-dp:
  n_envs: 2
  n_steps: 500
  batch_size: 100
  n_epochs: 1
  n_timesteps: 1000
"""


@pytest.fixture
def expensive(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The preparation's costly steps, replaced by spies that record that they were called."""
    called: list[str] = []

    def spy(name: str):  # type: ignore[no-untyped-def]
        def record(*_args: object, **_kwargs: object) -> None:
            called.append(name)
            raise AssertionError(f"{name} was called")
        return record

    monkeypatch.setattr(train_cmd, "compile_first", spy("compile_first"))
    monkeypatch.setattr(train_cmd, "best_rule", spy("best_rule"))
    return called


def test_a_budget_below_one_rollout_is_refused_before_any_preparation(
    tmp_path: Path, expensive: list[str]
) -> None:
    hp = tmp_path / "hp.yaml"
    hp.write_text(SMALL)
    result = runner.invoke(app, ["train", "--scenario", "tiny-dp", "--hyperparams", str(hp),
                                 "--timesteps", "400", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [line for line in errors if "a budget of 400 timesteps is less than one rollout" in line]
    assert len(errors) == 1
    assert expensive == []  # neither the compile nor the reference rule ran
    assert "preparing" not in result.stderr
    assert not (tmp_path / "run").exists()


def _finished_run(tmp_path: Path, seed: int = 0) -> tuple[Path, Path]:
    """A tiny-dp run folder of 1,000 finished timesteps trained with ``seed``, and its hyperparameters."""
    hp = tmp_path / "hp.yaml"
    hp.write_text(SMALL)
    run = tmp_path / "run"
    scenario = load_scenario("tiny-dp")
    config = plan_training(TrainingJob(scenario="tiny-dp", hyperparams=hp, out=run, seed=seed), scenario)
    run.mkdir()
    runfiles.write_config(run, {**config.to_yaml(scenario.name), "scenario_hash": scenario.content_hash()})
    (run / runfiles.MODEL).write_bytes(b"")
    runfiles.write_progress(run, 1000, True)
    return run, hp


def test_resuming_a_finished_run_says_so_before_any_preparation(tmp_path: Path, expensive: list[str]) -> None:
    run, hp = _finished_run(tmp_path)
    result = runner.invoke(app, ["train", "--scenario", "tiny-dp", "--hyperparams", str(hp),
                                 "--out", str(run), "--resume"])
    assert result.exit_code == 0, result.output
    assert f"{run} already finished (1,000 timesteps)" in " ".join(result.stdout.split())
    assert expensive == []
    assert "preparing" not in result.stderr


def test_a_resumed_run_of_other_settings_is_refused_before_any_preparation(
    tmp_path: Path, expensive: list[str]
) -> None:
    run, hp = _finished_run(tmp_path, seed=1)
    result = runner.invoke(app, ["train", "--scenario", "tiny-dp", "--hyperparams", str(hp),
                                 "--out", str(run), "--resume"])
    assert result.exit_code == 2 and "was trained with seed=1, not 0" in result.stderr
    assert expensive == []


@pytest.mark.parametrize(("args", "line"), [
    (["--action-mode", "levels"], "error: --action-mode: 'levels' is not one of shares, targets, residual"),
    (["--algo", "ppo2"], "error: --algo: 'ppo2' is not one of ppo, a2c, sac, td3, recurrent-ppo, dcl"),
    (["--vec", "threads"], "error: --vec: 'threads' is not one of native, subproc"),
    (["--hyperparams", "no/such.yaml"], "error: --hyperparams no/such.yaml: no such file or packaged name"),
])
def test_a_bad_name_is_refused_before_torch_loads(args: list[str], line: str) -> None:
    """In a fresh interpreter (torch not yet imported, as for a user): one error line of at most 80
    columns, exit 2, no loading note, and torch never imported (CI found the note printed first when no
    earlier test had loaded torch)."""
    import subprocess
    import sys

    code = ("import sys; from typer.testing import CliRunner; from allocsim.experiments.cli import app; "
            f"r = CliRunner().invoke(app, ['train', '--scenario', 'tiny-dp', *{args!r}]); "
            "print(r.exit_code); print(r.output, end=''); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         check=True).stdout.splitlines()
    assert out == ["2", line, "False"]
    assert len(line) <= 80


def test_the_torch_free_names_are_the_algorithms_and_layouts() -> None:
    """``train_args`` spells out what ``algorithms`` and ``training`` define with torch loaded."""
    from allocsim.agents.algorithms import ALGORITHMS
    from allocsim.agents.train_args import ALGO_NAMES, VECTORIZATION_NAMES
    from allocsim.agents.training import VECTORIZATIONS

    assert list(ALGORITHMS) == list(ALGO_NAMES)
    assert list(VECTORIZATIONS) == list(VECTORIZATION_NAMES)
