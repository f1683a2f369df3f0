"""`allocsim scenarios` at a narrow terminal: each description folds as an indented block."""

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
        while body and not body[0].startswith("  "):  # the header line, folded by the terminal
            body = body[1:]
        assert body, f"{row['name']}: no indented description"
        assert all(line.startswith("  ") and len(line) <= columns for line in body), block
        assert " ".join(line.strip() for line in body) == row["description"]
