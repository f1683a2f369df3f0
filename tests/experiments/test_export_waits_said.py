"""`allocsim export` says each wait before it happens (issue 24 README walk: 9.7 s under load between
"loading PyTorch and stable-baselines3" and its result line with nothing said).

The 2-3 s import of ``torch._dynamo`` (torch makes it when the model's optimizer is built) is paid under
the loading note, and the export itself (the ONNX library, the model's load, the trace) is announced.
A subprocess runs the real CLI with an import hook that writes a marker when a watched module's code
starts to run; no timing is involved.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from import_watch import run_watching

from allocsim.experiments.waits import LEARNING_NOTE


def test_every_wait_of_export_is_said_before_it(
    tmp_path: Path, tiny_trainer: Callable[[Path, str], Path]
) -> None:
    run = tiny_trainer(tmp_path, "tiny-dp")
    result = run_watching(["export", "--model", str(run), "--out", str(tmp_path / "p.onnx")],
                          ["torch._dynamo", "onnx"], timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    said = next(i for i, line in enumerate(lines) if line.startswith(f"exporting {run}: "))
    order = [lines.index(LEARNING_NOTE), lines.index("<<import torch._dynamo>>"), said,
             lines.index("<<import onnx>>")]
    assert order == sorted(order), result.stderr
    assert " ".join(result.stdout.split()).startswith(f"exported {run} -> ")  # folded at spaces


def test_a_folder_that_is_no_run_is_refused_before_the_export_is_announced(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from allocsim.experiments.cli import app

    result = CliRunner().invoke(app, ["export", "--model", str(tmp_path), "--out", str(tmp_path / "p.onnx")])
    assert result.exit_code == 2 and "is not a training run" in result.stderr
    assert "exporting" not in result.stderr
