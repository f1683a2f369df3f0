"""Learning curves: which runs have a curve, what the figure is drawn from, and the report's section."""

from __future__ import annotations

from pathlib import Path

from report_fixtures import synthetic_page, synthetic_report

from allocsim.experiments.plots_learning import CURVE_COLUMNS, curves_figure, read_curves, step_unit

HEADER = "timesteps,steps_per_second,val_profit,rule_profit,wall_seconds\n"
ROWS = "0,0,100.5,101,12\n4096,385,,101,30\n8192,400,103.25,101,61\n"


def _run(root: Path, name: str, text: str | None) -> Path:
    run = root / name
    run.mkdir()
    if text is not None:
        (run / "metrics.csv").write_text(text)
    return run


def test_curves_keep_validation_rows_and_leave_out_runs_without_metrics(tmp_path: Path) -> None:
    runs = {
        "ppo-seed0": _run(tmp_path, "a", HEADER + ROWS),
        "ppo-seed1": _run(tmp_path, "b", None),  # never validated
        "ppo-seed2": _run(tmp_path, "c", "timesteps,val_profit\n0,99\n"),  # an older file without the rule
    }
    curves = read_curves(runs)
    assert list(curves) == ["ppo-seed0"]
    frame = curves["ppo-seed0"]
    assert list(frame.columns) == list(CURVE_COLUMNS)
    assert frame["timesteps"].tolist() == [0, 8192]  # the row without a validation is dropped
    assert frame["val_profit"].tolist() == [100.5, 103.25]
    assert frame["wall_seconds"].tolist() == [12, 61]


def test_figure_is_a_png_or_none(tmp_path: Path) -> None:
    run = _run(tmp_path, "a", HEADER + "0,0,100.5,101,12\n8192,400,103.25,101,61\n")
    title, png = curves_figure({"ppo-seed0": run}, "EUR") or ("", b"")
    assert png.startswith(b"\x89PNG") and "Learning curves" in title
    assert curves_figure({"ppo-seed1": _run(tmp_path, "b", None)}, "EUR") is None


def test_report_shows_the_section_only_with_the_figure() -> None:
    page = synthetic_page()
    assert "<h2>Learning curves</h2>" not in page
    figure = {"learning_curves.png": ("Learning curves: t", b"\x89PNG")}
    with_curves, _ = synthetic_report(extra_figures=figure)
    assert "<h2>Learning curves</h2>" in with_curves and 'alt="Learning curves: t"' in with_curves



def test_the_step_axis_names_what_the_runs_count(tmp_path: Path) -> None:
    """PPO counts env steps, DCL the states it labelled; a run without a config counts env steps."""
    def run(name: str, algo: str | None) -> Path:
        folder = _run(tmp_path, name, HEADER + ROWS)
        if algo is not None:
            (folder / "config.yaml").write_text(f"algo: {algo}\nseed: 0\n")
        return folder

    ppo, dcl, bare = run("p", "ppo"), run("d", "dcl"), run("b", None)
    assert step_unit({"ppo-seed0": ppo}) == "env steps"
    assert step_unit({"dcl-seed0": dcl, "dcl-seed1": dcl}) == "labelled states (DCL)"
    assert step_unit({"ppo-seed0": ppo, "dcl-seed0": dcl}) == "env steps / labelled states (DCL)"
    assert step_unit({"old": bare}) == "env steps"
