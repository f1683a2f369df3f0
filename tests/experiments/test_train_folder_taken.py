"""`allocsim train` into a folder that holds a training run, without --resume: refused in one line
right after the PyTorch note, before the reference rule's validation episodes are prepared and a
progress bar is drawn (it came after 6 s of 'preparing: ...' and two 'validation: pending' lines)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocsim.agents import runfiles
from allocsim.experiments.cli import app
from allocsim.experiments.waits import LEARNING_NOTE

runner = CliRunner()


def test_a_taken_folder_is_refused_before_preparing(tmp_path: Path) -> None:
    (tmp_path / runfiles.MODEL).write_bytes(b"a run's model")
    result = runner.invoke(app, ["train", "--scenario", "tiny-dp", "--out", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line != LEARNING_NOTE]
    assert lines == [f"error: {tmp_path} already holds a training run; pass --resume or choose another --out"]
    assert (tmp_path / runfiles.MODEL).read_bytes() == b"a run's model"


def test_refuse_taken_by_hand(tmp_path: Path) -> None:
    runfiles.refuse_taken(tmp_path, resume=False)  # empty: free
    (tmp_path / runfiles.MODEL).write_bytes(b"")
    runfiles.refuse_taken(tmp_path, resume=True)  # resuming it is what --resume is for
    with pytest.raises(ValueError, match="already holds a training run"):
        runfiles.refuse_taken(tmp_path, resume=False)
