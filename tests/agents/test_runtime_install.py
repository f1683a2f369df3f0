"""The runtime-only install: `allocsim infer` runs with numpy, onnxruntime, typer and rich alone.

A subprocess hides every other dependency (torch, SB3, simpy, gymnasium, numba, SciPy, pandas, ...)
behind an import hook that fails as a missing package does, so this checks what a venv made from
``requirements-runtime.txt`` plus ``pip install --no-deps allocsim`` can do, without building one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocsim.agents.inference import OnnxPolicy
from allocsim.experiments.cli import app

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_REQUIREMENTS = ROOT / "requirements-runtime.txt"
#: What a runtime-only venv does not have (every other dependency in pyproject.toml).
ABSENT = ("torch", "stable_baselines3", "sb3_contrib", "onnx", "tensorboard", "simpy", "gymnasium",
          "numba", "scipy", "pandas", "pyarrow", "matplotlib", "jinja2", "yaml", "filelock", "ray")

RUN_WITHOUT = """
import importlib.abc, sys
ABSENT = set({absent!r})
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ABSENT:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Hide())
sys.argv = ["allocsim", *{args!r}]
from allocsim.experiments.cli import app
app()
"""


def _run_without_simulator(*args: str) -> subprocess.CompletedProcess[str]:
    code = RUN_WITHOUT.format(absent=ABSENT, args=list(args))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_runtime_requirements_name_only_the_runtime_and_the_cli() -> None:
    names = {line.split(">")[0].split("<")[0].split("=")[0].strip()
             for line in RUNTIME_REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")}
    assert names == {"numpy", "onnxruntime", "typer", "rich"}


@pytest.fixture(scope="module")
def state_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    args = ["state", "--scenario", "retail-small", "--seed", "40000", "--period", "7"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    path = tmp_path_factory.mktemp("runtime") / "state.json"
    path.write_text(result.stdout)
    return path


def test_infer_runs_without_torch_or_the_simulator(retail_small_onnx: Path, state_file: Path) -> None:
    result = _run_without_simulator("infer", "--model", str(retail_small_onnx), "--state", str(state_file))
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    state = json.loads(state_file.read_text())
    assert decision == OnnxPolicy.load(retail_small_onnx).decide(state)  # same units as with everything


@pytest.mark.parametrize(
    ("args", "needs"),
    [(("simulate", "--episodes", "1"), "needs the simulator"),
     (("scenarios",), "needs the simulator")],
)
def test_a_command_that_needs_more_says_which_install_in_one_line(args: tuple[str, ...], needs: str) -> None:
    result = _run_without_simulator(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needs in lines[0] and "pip install allocsim" in lines[0], result.stderr


def test_infer_takes_the_shipped_policy_by_name_without_the_simulator(state_file: Path) -> None:
    from allocsim.agents.pretrained import pretrained_path, shipped_label

    name = shipped_label("retail-small")  # pretrained:<algo> of the file that ships
    assert name is not None
    result = _run_without_simulator("infer", "--model", name, "--state", str(state_file))
    assert result.returncode == 0, result.stderr
    shipped = pretrained_path("retail-small")
    assert shipped is not None
    assert json.loads(result.stdout) == OnnxPolicy.load(shipped).decide(json.loads(state_file.read_text()))
