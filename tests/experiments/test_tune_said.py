"""`allocsim tune` says what it searches before SciPy's stats load (2.5 s on a busy machine) and the
kernels load: at 80 columns and load 6 it was silent 4 s before its progress bar.

A subprocess runs the real CLI with an import hook that writes a marker the moment ``scipy.stats``
starts to load; the line must come before it. No timing is involved.
"""

from __future__ import annotations

from pathlib import Path

from import_watch import marker, run_watching

MARKER = marker("scipy.stats")


def test_tune_names_the_search_before_scipy_stats_loads(tmp_path: Path) -> None:
    out = tmp_path / "base-stock.json"
    result = run_watching(["tune", "--scenario", "tiny-dp", "--policy", "base-stock", "--episodes", "1",
                           "--workers", "1", "--out", str(out)], ["scipy.stats"], timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    said = [i for i, line in enumerate(lines) if line.startswith("tuning base-stock on tiny-dp: ")]
    assert said and MARKER in lines, result.stderr
    assert said[0] < lines.index(MARKER), result.stderr
    assert lines[said[0]].endswith(" grid points x 1 tuning seeds"), result.stderr
    assert out.exists()


def test_a_bad_tune_says_nothing_before_its_error(tmp_path: Path) -> None:
    result = run_watching(["tune", "--scenario", "tiny-dp", "--policy", "no-such-rule", "--out",
                           str(tmp_path / "x.json")], [], timeout=300)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: "), result.stderr
