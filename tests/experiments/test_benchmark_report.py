"""allocsim benchmark: files exist and parse, the report is self-contained, bad input exits 2."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from allocsim.experiments.cli import app

runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n"
EPISODES = 3
POLICIES = ("balanced", "random")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "run"
    args = [
        "benchmark", "--scenario", "retail-small", "--episodes", str(EPISODES), "--seed", "40000",
        "--policies", ",".join(POLICIES), "--workers", "1", "--out", str(out),
        "--tuned-dir", str(out.parent / "no-tuned"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "balanced" in result.stdout and "report:" in result.stdout
    return out


def test_a_rerender_rewrites_the_same_files(run_dir: Path, tmp_path: Path) -> None:
    """Re-rendered from its own episodes and run record, nothing played: the summary, report and run
    record are byte for byte those the benchmark wrote (a differential check of ``rerender``)."""
    import shutil

    from allocsim.experiments.rerender import rerender

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    for path in rerender(copy):
        assert path.read_bytes() == (run_dir / path.name).read_bytes(), path.name


def test_every_file_is_written(run_dir: Path) -> None:
    names = {p.name for p in run_dir.iterdir() if not p.name.startswith(".")}  # the CLI's own stamps aside
    assert names == {
        "episodes.parquet", "episodes.csv", "summary.csv", "summary.md", "paired.csv", "kpi_differences.png",
        "service_margin.png", "over_time.png", "timeseries.csv", "timeseries_network.csv", "run.json",
        "report.html", "allocation_plan.csv", "stock_by_location_sku.csv",
    }


def test_no_absolute_path_in_the_run_files(run_dir: Path) -> None:
    """The run folder can be shared: no file names a folder of this machine."""
    import allocsim

    needles = {str(run_dir.parent), str(Path.home()), str(Path(allocsim.__file__).resolve().parent),
               str(Path.cwd())}
    for name in ("report.html", "run.json", "summary.md"):
        text = (run_dir / name).read_text(encoding="utf-8")
        assert not [n for n in needles if n in text], name


def test_the_allocation_plan_ships_what_the_dc_has(run_dir: Path) -> None:
    """The plan's shipments add up to the stock file's, times each store's cost per unit they are its
    shipping cost (the engine's own account), and the stock file's demand is each store's."""
    plan = pd.read_csv(run_dir / "allocation_plan.csv")
    assert list(plan.columns) == ["policy", "seed", "period", "location", "sku", "units"]
    assert (plan["units"] > 0).all() and set(plan["policy"]) == set(POLICIES)
    stock = pd.read_csv(run_dir / "stock_by_location_sku.csv")
    per_store = plan.groupby(["policy", "seed", "location", "sku"])["units"].sum()
    merged = stock.set_index(["policy", "seed", "location", "sku"])["shipped"]
    assert (per_store == merged.loc[per_store.index]).all()
    episodes = pd.read_csv(run_dir / "episodes.csv").set_index(["policy", "seed"])
    cost = {"store-north": 0.8, "store-centre": 0.6, "store-south": 1.1}  # retail-small's shipping_cost
    keys = ["policy", "seed", "location"]
    for (policy, seed, location), units in plan.groupby(keys)["units"].sum().items():
        expected = episodes.loc[(policy, seed), f"by_location.{location}.shipping_cost"]
        assert units * cost[location] == pytest.approx(expected)
    for (policy, seed, location), asked in stock.groupby(keys)["demand"].sum().items():
        if location != "DC":
            assert asked == episodes.loc[(policy, seed), f"by_location.{location}.units_requested"]


def test_episode_files_have_one_row_per_policy_and_seed(run_dir: Path) -> None:
    parquet = pd.read_parquet(run_dir / "episodes.parquet")
    csv = pd.read_csv(run_dir / "episodes.csv")
    assert len(parquet) == len(csv) == len(POLICIES) * EPISODES
    assert set(zip(csv["policy"], csv["seed"], strict=True)) == {
        (p, s) for p in POLICIES for s in range(40_000, 40_000 + EPISODES)
    }
    assert {"fill_rate", "profit", "units_requested", "by_location.store-north.fill_rate"} <= set(csv.columns)
    assert parquet["profit"].tolist() == pytest.approx(csv["profit"].tolist())
    expected = 100 * csv["units_fulfilled"] / csv["units_requested"]
    assert csv["fill_rate"].tolist() == pytest.approx(expected.tolist())
    per_seed = csv.groupby("seed")["units_requested"].nunique()
    assert (per_seed == 1).all()


def test_summary_is_ranked_with_cis_and_paired_difference(run_dir: Path) -> None:
    summary = pd.read_csv(run_dir / "summary.csv")
    assert sorted(summary["policy"]) == sorted(POLICIES)
    assert list(summary["rank"]) == [1, 2]
    assert summary["profit_mean"].is_monotonic_decreasing
    assert {"profit_ci95", "fill_rate_mean", "fill_rate_ci95", "profit_vs_ref", "profit_vs_ref_ci95"} <= set(
        summary.columns
    )
    assert summary.loc[0, "profit_vs_ref"] == 0.0
    assert summary.loc[1, "profit_vs_ref"] < 0
    md = (run_dir / "summary.md").read_text()
    assert "| rank | policy |" in md and "±" in md
    run = json.loads((run_dir / "run.json").read_text())
    assert run["seeds"] == list(range(40_000, 40_000 + EPISODES))


def test_tightest_reference_columns_without_a_dp(run_dir: Path) -> None:
    """No DP on retail-small: the reference is each seed's tightest bound; old columns stay."""
    episodes = pd.read_csv(run_dir / "episodes.csv")
    assert {"bound", "gap_to_bound_pct", "penalised_bound", "tightest_bound", "gap_to_reference_pct"} <= set(
        episodes.columns)
    expected = 100 * (episodes["tightest_bound"] - episodes["profit"]) / episodes["tightest_bound"].abs()
    assert episodes["gap_to_reference_pct"].tolist() == pytest.approx(expected.tolist())
    assert "gap_to_optimal_pct" not in episodes
    summary = pd.read_csv(run_dir / "summary.csv").set_index("policy")
    best = summary.loc["balanced", "profit_mean"]
    reference = summary.loc["balanced", "tightest_bound_mean"]
    assert summary.loc["balanced", "reference_gap_closed_pct"] == pytest.approx(0.0)
    assert summary.loc["random", "reference_gap_closed_pct"] == pytest.approx(
        100 * (summary.loc["random", "profit_mean"] - best) / (reference - best))
    assert {"bound_gap_closed_pct", "gap_to_bound_pct_mean"} <= set(summary.reset_index().columns)
    run = json.loads((run_dir / "run.json").read_text())
    assert run["reference_interval"]["tightest_bound"] == pytest.approx(reference)
    md = (run_dir / "summary.md").read_text()
    assert "reference gap closed %" in md and "penalised bound" in md
    assert "Reference gap closed" in (run_dir / "report.html").read_text()


def test_plots_are_pngs(run_dir: Path) -> None:
    for name in ("kpi_differences.png", "service_margin.png", "over_time.png"):
        assert (run_dir / name).read_bytes().startswith(PNG)
    trace = pd.read_csv(run_dir / "timeseries.csv")
    assert set(trace["policy"]) == set(POLICIES)
    assert {"store-north", "DC"} <= set(trace["location"])
    network = pd.read_csv(run_dir / "timeseries_network.csv")
    assert set(network["seed"]) == set(range(40_000, 40_000 + EPISODES))  # every seed traced
    episodes = pd.read_csv(run_dir / "episodes.csv").set_index(["policy", "seed"])
    totals = network.groupby(["policy", "seed"])["lost_sales_units"].sum()
    for key, lost in totals.items():
        assert lost == pytest.approx(episodes.loc[key, "lost_sales_units"])
    paired = pd.read_csv(run_dir / "paired.csv").set_index(["policy", "kpi"])
    summary = pd.read_csv(run_dir / "summary.csv").set_index("policy")
    assert paired.loc[("random", "profit"), "mean"] == pytest.approx(summary.loc["random", "profit_vs_ref"])


def test_report_is_one_self_contained_page(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    assert "<table" in page and "</table>" in page
    assert "Use balanced." in page and "Glossary" in page and "Profit (EUR per episode)" in page
    assert "Profit per week (EUR)" in page and "What the policies do" in page and "By SKU" in page
    assert "Stock age by location" in page and 'href="allocation_plan.csv"' in page
    images = re.findall(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 3
    assert all(base64.b64decode(img).startswith(PNG) for img in images)
    assert not re.search(r'(src|href)="(https?:|//|[^d#][^"]*\.(png|css|js)")', page)
    links = re.findall(r'href="([^"]+)"', page)
    assert "allocation_plan.csv" in links and all((run_dir / link).is_file() for link in links)


def test_the_wall_time_says_what_it_leaves_out(run_dir: Path) -> None:
    """The report's wall time starts after the start-up, compile and bound fits: it says so, with the
    seconds run.json keeps for them (both as measured by this run)."""
    record = json.loads((run_dir / "run.json").read_text())
    wall, setup = record["wall_seconds"], record["setup_seconds"]
    assert wall > 0 and setup > 0
    line = (f"wall time: {wall:.1f} s on 1 worker(s) for the episodes, bounds, traces and figures "
            f"(not counted: {setup:.1f} s before them for start-up, the one-off compile and bound fits)")
    assert line in (run_dir / "report.html").read_text() and line in (run_dir / "summary.md").read_text()


def test_the_seconds_print_as_run_json_keeps_them_at_a_rounding_edge() -> None:
    """1.1504 s of set-up printed "1.2" while run.json kept 1.15, which a rerender prints "1.1" (1.15 is
    1.1499... in binary): the report now prints what run.json keeps, so both say 1.1."""
    from allocsim.experiments.report import RunInfo

    def info(setup: float) -> RunInfo:
        return RunInfo(scenario="x", description="", seeds=[1], workers=1, warm_up=0, wall_seconds=6.0,
                       created="now", setup_seconds=setup)

    raw, stored = info(1.1504), info(1.15)
    assert raw.setup_seconds == 1.15
    assert "(not counted: 1.1 s before them" in " ".join(raw.lines())
    assert raw.lines() == stored.lines()


def _one_line_exit_2(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_bad_demand_csv_exits_2_naming_row_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "history.csv"
    bad.write_text("period,sku,location,channel,quantity\n0,jacket,store-north,store,3\n1,jacket,store-north,store,x\n")
    line = _one_line_exit_2(["benchmark", "--demand-csv", str(bad), "--out", str(tmp_path / "out")])
    assert "row 3" in line and "quantity" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_demand_csv_is_replayed(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    history.write_text("period,sku,location,channel,quantity\n0,widget,store-a,store,2\n3,widget,store-b,store,1\n"
                       "7,widget,store-b,store,0\n")  # reaches tiny-dp's last period (8 periods)
    out = tmp_path / "out"
    args = ["benchmark", "--scenario", "tiny-dp", "--episodes", "2", "--policies", "hold,random",
            "--workers", "1", "--demand-csv", str(history), "--resample", "none", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    episodes = pd.read_csv(out / "episodes.csv")
    assert (episodes["units_requested"] == 3).all()  # the single history on every seed
    assert "replayed from" in (out / "summary.md").read_text()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["benchmark", "--policies", "balanced,nope"], "nope"),
        (["benchmark", "--scenario", "no-such-preset"], "retail-small"),
        (["benchmark", "--scenario", "tiny-dp", "--warm-up", "8"], "warm-up"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], needle: str) -> None:
    assert needle in _one_line_exit_2(args)


@pytest.mark.slow
def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "h.csv"
    bad.write_text("period,sku\n0,jacket\n")
    proc = subprocess.run(
        [sys.executable, "-m", "allocsim.experiments.cli", "benchmark", "--demand-csv", str(bad)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert "missing column" in proc.stderr


def test_the_console_names_no_folder_of_this_machine(tmp_path: Path) -> None:
    """The console's parameter lines name the shipped policy as allocsim/..., as the report does."""
    import allocsim

    args = ["benchmark", "--scenario", "retail-small", "--episodes", "1", "--policies", "hold",
            "--pretrained", "--no-bound", "--workers", "1", "--out", str(tmp_path / "run")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    flat = "".join(result.stdout.split())  # a long line may wrap anywhere
    assert "allocsim/agents/pretrained/retail-small.onnx" in flat
    assert str(Path(allocsim.__file__).resolve().parent).replace(" ", "") not in flat
