"""`allocsim evaluate` says it loads PyTorch before anything slow (the console tables loaded pandas
and the tuning module first: 3.6 s of silence at load 7), and a refusal found while it evaluates
stays the one line after that note (its progress bar leaves nothing off a terminal)."""

from __future__ import annotations

from import_watch import marker, run_watching

from allocsim.experiments.waits import LEARNING_NOTE

WATCHED = ("allocsim.experiments.tables", "allocsim.experiments.tuning")


def test_the_note_comes_before_the_tables_load_and_the_table_follows() -> None:
    result = run_watching(["evaluate", "--model", "pretrained:dcl", "--episodes", "1", "--workers", "1"],
                          WATCHED, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert LEARNING_NOTE in lines and marker(WATCHED[0]) in lines, result.stderr
    loaded = [lines.index(marker(name)) for name in WATCHED if marker(name) in lines]
    assert all(lines.index(LEARNING_NOTE) < at for at in loaded), result.stderr
    assert "profit" in result.stdout


def test_a_refusal_while_evaluating_is_one_line_after_the_note() -> None:
    result = run_watching(["evaluate", "--model", "pretrained:dcl", "--scenario", "tiny-dp", "--episodes",
                           "2", "--workers", "1"], [], timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[0] == LEARNING_NOTE
    assert len(result.stderr.splitlines()) == 2 and result.stderr.splitlines()[1].startswith("error: "), (
        result.stderr)
