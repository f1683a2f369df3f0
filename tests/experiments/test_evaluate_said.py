"""`allocsim evaluate` of an ONNX policy plays it on the torch-free runtime: PyTorch and
stable-baselines3 are never imported (they cost 3-4 s of a 4 s command) and no note about loading
them is printed; a refusal found while it evaluates stays one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from import_watch import marker, run_watching

import allocsim
from allocsim.experiments.waits import LEARNING_NOTE

STACK = ("torch", "stable_baselines3")
SHIPPED = Path(allocsim.__file__).parent / "agents" / "pretrained" / "retail-small.onnx"


@pytest.mark.parametrize("model", ["pretrained:dcl", str(SHIPPED)])
def test_an_onnx_policy_is_evaluated_without_pytorch(model: str) -> None:
    result = run_watching(["evaluate", "--model", model, "--episodes", "1", "--workers", "1"], STACK,
                          timeout=300)
    assert result.returncode == 0, result.stderr
    assert not any(marker(name) in result.stderr for name in STACK), result.stderr
    assert LEARNING_NOTE not in result.stderr
    assert "pretrained:dcl" in result.stdout and "profit" in result.stdout


def test_a_refusal_while_evaluating_is_one_line() -> None:
    result = run_watching(["evaluate", "--model", "pretrained:dcl", "--scenario", "tiny-dp", "--episodes",
                           "2", "--workers", "1"], STACK, timeout=300)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
