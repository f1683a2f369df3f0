"""`train`, `export`, `evaluate` and `benchmark --model RUN_DIR` say they are loading PyTorch before
the 4-7 s import, not after.

A subprocess runs the real CLI with an import hook that writes a marker on stderr the moment
``torch``'s module code starts to run; the note must come before the marker. No timing is involved.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from allocsim.experiments.waits import LEARNING_NOTE

MARKER = "<<torch import starts>>"
WATCH_IMPORT = """
import importlib.abc, importlib.machinery, sys
class Watch(importlib.abc.MetaPathFinder):
    # torch's own loader, wrapped: the marker is written when its module code starts to run
    # (a mere importlib.util.find_spec does not count)
    def find_spec(self, name, path=None, target=None):
        if name != "torch":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module
        def exec_module(module):
            sys.stderr.write({marker!r} + "\\n")
            sys.stderr.flush()
            run(module)
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Watch())
sys.argv = ["allocsim", *{args!r}]
from allocsim.experiments.cli import app
app()
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    code = WATCH_IMPORT.format(marker=MARKER, args=list(args))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args", [
    ("train", "--scenario", "tiny-dp", "--algo", "no-such-algo"),
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
