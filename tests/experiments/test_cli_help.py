"""--help reads cleanly: flags show no type placeholder; counts take the right number."""

from __future__ import annotations

from typer.testing import CliRunner

from allocsim.experiments.cli import app

runner = CliRunner()


def test_help_shows_no_type_placeholder_for_flags_and_counts_read_right() -> None:
    """Flags take no value, so ``--help`` shows none (typer's rich help printed ``<bool>``)."""
    for command in ("benchmark", "bound", "train", "simulate", "scenarios", "results"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.stdout and "list[" not in result.stdout, command
    listing = runner.invoke(app, ["scenarios"]).stdout
    assert "1 SKU," in listing and "1 SKUs" not in listing


def test_help_shows_no_rst_markup() -> None:
    """Docstrings become help text: no ``literal`` markup shows (the top-level help and tune's did)."""
    for command in ([], ["tune"], ["benchmark"], ["train"], ["sweep"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, result.output
        assert "``" not in result.stdout, command
