"""`train`, `export`, `evaluate` and `benchmark --model RUN_DIR` say they are loading PyTorch before
the 4-7 s import, not after.

A subprocess runs the real CLI with an import hook that writes a marker on stderr the moment
``torch``'s module code starts to run; the note must come before the marker. No timing is involved.
"""

from __future__ import annotations

import subprocess

import pytest
from import_watch import marker, run_watching

from allocsim.experiments.waits import LEARNING_NOTE

MARKER = marker("torch")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_watching(args, ["torch"], timeout=300)


@pytest.mark.parametrize("args", [
    ("train", "--scenario", "tiny-dp", "--timesteps", "1"),  # a budget below one rollout
    ("export", "--model", "no-such-run-folder"),
    ("evaluate", "--model", "no-such-run-folder"),
    ("benchmark", "--scenario", "tiny-dp", "--model", "no-such-run-folder"),  # a run folder's model
])
def test_the_note_comes_before_torch_is_imported(args: tuple[str, ...]) -> None:
    result = _run(*args)
    assert result.returncode == 2, result.stderr  # each fails on its bad argument, after the import
    lines = result.stderr.splitlines()
    assert LEARNING_NOTE in lines and MARKER in lines, result.stderr
    assert lines.index(LEARNING_NOTE) < lines.index(MARKER), result.stderr
    assert lines[-1].startswith("error: "), result.stderr


def test_a_bad_scenario_is_refused_before_the_wait() -> None:
    result = _run("train", "--scenario", "no-such-preset")
    assert result.returncode == 2
    assert LEARNING_NOTE not in result.stderr and MARKER not in result.stderr, result.stderr
