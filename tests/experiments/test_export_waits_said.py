"""`allocsim export` says each wait before it happens (issue 24 README walk: 9.7 s under load between
"loading PyTorch and stable-baselines3" and its result line with nothing said).

The 2-3 s import of ``torch._dynamo`` (torch makes it when the model's optimizer is built) is paid under
the loading note, and the export itself (the ONNX library, the model's load, the trace) is announced.
A subprocess runs the real CLI with an import hook that writes a marker when a watched module's code
starts to run; no timing is involved.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from allocsim.experiments.waits import LEARNING_NOTE

WATCH_IMPORTS = """
import importlib.abc, importlib.machinery, sys
WATCHED = {"torch._dynamo", "onnx"}
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name not in WATCHED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module
        def exec_module(module, name=name):
            sys.stderr.write(f"<<import {name}>>\\n")
            sys.stderr.flush()
            run(module)
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Watch())
sys.argv = ["allocsim", *{args!r}]
from allocsim.experiments.cli import app
app()
"""


def test_every_wait_of_export_is_said_before_it(
    tmp_path: Path, tiny_trainer: Callable[[Path, str], Path]
) -> None:
    run = tiny_trainer(tmp_path, "tiny-dp")
    code = WATCH_IMPORTS.replace("{args!r}", repr(["export", "--model", str(run), "--out",
                                                   str(tmp_path / "p.onnx")]))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
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
