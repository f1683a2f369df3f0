"""`allocsim benchmark` prints its first lines before pandas, matplotlib and the SciPy stats load (issue
24 README walk: 4-5.5 s under load before the first line). A subprocess runs the real CLI with an import
hook that writes a marker when a watched module's code starts to run; no timing is involved."""

from __future__ import annotations

from pathlib import Path

from import_watch import run_watching


def test_the_parameters_are_printed_before_the_heavy_libraries_load(tmp_path: Path) -> None:
    args = ["benchmark", "--scenario", "tiny-dp", "--episodes", "2", "--workers", "1", "--no-bound",
            "--policies", "myopic-lp,proportional", "--out", str(tmp_path / "run")]
    result = run_watching(args, ["pandas", "matplotlib", "scipy.stats", "scipy.optimize"], stream="stdout")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    first = lines.index("parameters:")
    loaded = [i for i, line in enumerate(lines) if line.startswith("<<import ")]
    watched = {"<<import pandas>>", "<<import matplotlib>>", "<<import scipy.stats>>"}
    assert {lines[i] for i in loaded} >= watched  # each does load, later
    assert first < min(loaded), lines[: first + 3]
    assert "myopic-lp" in lines[first + 1]  # the rule whose solver needs SciPy was listed before it loaded
