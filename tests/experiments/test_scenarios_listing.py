"""`allocsim scenarios` at a narrow terminal: each heading folds with its rest indented four (never
back at column 0: at 80 columns 'online' of contracts-scarce's channels stood alone there), each
description as a block indented two."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from allocsim.experiments.cli import app

runner = CliRunner()


@pytest.mark.parametrize("columns", [60, 80])
def test_descriptions_fold_indented_within_the_width(columns: int) -> None:
    """Every description line starts with two spaces and fits the width; no word is lost."""
    listed = runner.invoke(app, ["scenarios"], env={"COLUMNS": str(columns)})
    rows = json.loads(runner.invoke(app, ["scenarios", "--json"]).stdout)
    assert listed.exit_code == 0
    blocks = listed.stdout.strip("\n").split("\n\n")
    assert len(blocks) == len(rows)
    for block, row in zip(blocks, rows, strict=True):
        lines = block.split("\n")
        assert lines[0].startswith(row["name"])
        body = lines[1:]
        while body and body[0].startswith("    "):  # the heading's rest, folded indented four
            body = body[1:]
        assert body, f"{row['name']}: no indented description"
        assert all(len(line) <= columns for line in lines), block
        assert all(line.startswith("  ") and not line.startswith("   ") for line in body), block
        assert " ".join(line.strip() for line in body) == row["description"]
