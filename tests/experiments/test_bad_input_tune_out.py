"""``tune --out`` that cannot be written fails before the search, in one line (issue 24, item 13)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocsim.experiments.cli import app

runner = CliRunner()


def _tune(out: Path) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["tune", "--policy", "base-stock", "--scenario", "tiny-dp", "--episodes", "1",
                                 "--out", str(out), "--workers", "1"])
    return result.exit_code, result.stderr.strip().splitlines()


def test_an_out_that_is_a_folder_is_refused_before_the_search(tmp_path: Path) -> None:
    code, lines = _tune(tmp_path)
    assert code == 2 and len(lines) == 1, lines
    assert "is a folder; give a file name" in lines[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_out_in_a_read_only_folder_is_refused_before_the_search(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code, lines = _tune(folder / "p.json")
    finally:
        folder.chmod(0o700)
    assert code == 2 and len(lines) == 1 and "cannot write to" in lines[0], lines


def test_an_out_under_a_file_is_refused_before_the_search(tmp_path: Path) -> None:
    """A path whose folder is a file cannot be created: one line, before any grid point runs."""
    (tmp_path / "file").write_text("x")
    code, lines = _tune(tmp_path / "file" / "p.json")
    assert code == 2 and len(lines) == 1 and "cannot create output folder" in lines[0], lines
