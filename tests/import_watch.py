"""Run the real ``allocsim`` CLI in a subprocess with an import hook that writes ``<<import NAME>>``
the moment a watched module's code starts to run (a mere ``find_spec`` does not count).

Tests use it to check that a message comes before a slow import (the order of lines, never a
timing). Import it as ``from import_watch import run_watching`` (``tests/`` is on the path).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable

_PROGRAM = """
import importlib.abc, importlib.machinery, sys
WATCHED = set({watched!r})
OUT = sys.{stream}
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name not in WATCHED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module
        def exec_module(module, name=name):
            OUT.write(f"<<import {{name}}>>\\n")
            OUT.flush()
            run(module)
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Watch())
sys.argv = ["allocsim", *{args!r}]
from allocsim.experiments.cli import app
app()
"""


def marker(name: str) -> str:
    """The line written when module ``name`` starts to load."""
    return f"<<import {name}>>"


def run_watching(args: Iterable[str], watched: Iterable[str], stream: str = "stderr",
                 timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``allocsim ARGS`` with a marker on ``stream`` (stdout or stderr: the one whose messages the
    test orders against) when each module of ``watched`` starts to load."""
    if stream not in ("stdout", "stderr"):
        raise ValueError(f"stream must be stdout or stderr, got {stream!r}")
    code = _PROGRAM.format(watched=sorted(watched), stream=stream, args=list(args))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
