"""A planner's demand history (issue 24, item 5): one that stops before the horizon is refused in one
line; a ``date`` column counts days from a first date that is a Monday (period 0); semicolon- and
tab-separated files are read as such, and a header that still lacks columns says how it was read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from allocsim.envs.demand import DemandCsvError, read_demand_csv
from allocsim.envs.network import Network
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.cli import app

runner = CliRunner()
HEADER = "period,sku,location,channel,quantity\n"


@pytest.fixture(scope="module")
def net() -> Network:
    """tiny-dp: 8 periods, one SKU (widget), stores store-a and store-b on channel store."""
    return Network.compile(load_scenario("tiny-dp"))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "history.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_history_shorter_than_the_horizon_is_refused_in_one_line(tmp_path: Path, net: Network) -> None:
    """The issue's case, scaled: 4 of 8 periods would replay zero demand in periods 4..7."""
    rows = "".join(f"{t},widget,store-a,store,3\n" for t in range(4))
    with pytest.raises(DemandCsvError) as err:
        read_demand_csv(_write(tmp_path, HEADER + rows), net)
    message = str(err.value)
    assert "\n" not in message and "history.csv" in message
    assert "covers periods 0..3 (4 periods) but the scenario runs 8" in message
    assert "up to period 7" in message


def test_a_history_reaching_the_horizon_with_zero_rows_loads(tmp_path: Path, net: Network) -> None:
    rows = "0,widget,store-a,store,3\n7,widget,store-b,store,0\n"
    replay = read_demand_csv(_write(tmp_path, HEADER + rows), net)
    assert replay.shape[0] == 8 and int(replay.sum()) == 3


def test_a_date_column_counts_days_from_a_monday(tmp_path: Path, net: Network) -> None:
    """2024-01-01 is a Monday: it is period 0, 2024-01-08 period 7."""
    text = ("date,sku,location,channel,quantity\n2024-01-03,widget,store-b,store,5\n"
            "2024-01-01,widget,store-a,store,2\n2024-01-08,widget,store-a,store,1\n")
    replay = read_demand_csv(_write(tmp_path, text), net)
    a, b = net.locations.index("store-a"), net.locations.index("store-b")
    assert replay[0, a].sum() == 2 and replay[2, b].sum() == 5 and replay[7, a].sum() == 1
    assert int(replay.sum()) == 8


def test_a_date_history_starting_midweek_names_the_mondays_around_it(tmp_path: Path, net: Network) -> None:
    text = "date,sku,location,channel,quantity\n2024-01-03,widget,store-a,store,2\n"
    with pytest.raises(DemandCsvError) as err:
        read_demand_csv(_write(tmp_path, text), net)
    message = str(err.value)
    assert "2024-01-03, is a Wednesday" in message and "period 0 is a Monday" in message
    assert "2024-01-01" in message and "2024-01-08" in message


@pytest.mark.parametrize(("cell", "shown"), [("03/01/2024", "'03/01/2024'"), ("", "''")])
def test_a_bad_date_names_row_and_column(tmp_path: Path, net: Network, cell: str, shown: str) -> None:
    text = ("date,sku,location,channel,quantity\n2024-01-01,widget,store-a,store,2\n"
            f"{cell},widget,store-a,store,1\n")
    with pytest.raises(DemandCsvError) as err:
        read_demand_csv(_write(tmp_path, text), net)
    assert "row 3, column 'date'" in str(err.value) and shown in str(err.value)


def test_period_and_date_together_are_refused(tmp_path: Path, net: Network) -> None:
    with pytest.raises(DemandCsvError, match="both a 'period' and a 'date' column"):
        read_demand_csv(_write(tmp_path, "period,date,sku,location,channel,quantity\n"), net)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_separated_files_are_read(tmp_path: Path, net: Network, sep: str) -> None:
    rows = [["period", "sku", "location", "channel", "quantity"], ["0", "widget", "store-a", "store", "4"],
            ["7", "widget", "store-b", "store", "1"]]
    replay = read_demand_csv(_write(tmp_path, "".join(sep.join(r) + "\n" for r in rows)), net)
    expected = np.zeros_like(replay)
    expected[0, net.locations.index("store-a"), 0, 0] = 4
    expected[7, net.locations.index("store-b"), 0, 0] = 1
    assert np.array_equal(replay, expected)


def test_a_header_still_short_of_columns_says_how_it_was_read(tmp_path: Path, net: Network) -> None:
    with pytest.raises(DemandCsvError) as err:
        read_demand_csv(_write(tmp_path, "period;sku;store;channel;quantity\n0;widget;a;store;1\n"), net)
    message = str(err.value)
    assert "missing column(s) location" in message and "semicolon-separated" in message


def test_the_cli_help_says_period_0_is_a_monday() -> None:
    result = runner.invoke(app, ["benchmark", "--help"], env={"COLUMNS": "200"})
    assert "period 0 is a Monday" in " ".join(result.output.split())


def test_benchmark_with_a_short_history_exits_2_with_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "".join(f"{t},widget,store-a,store,3\n" for t in range(4)))
    result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--demand-csv", str(path),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "but the scenario runs 8" in lines[0]


@pytest.mark.parametrize("command", [["benchmark"], ["tune", "--policy", "base-stock"]])
def test_a_missing_history_is_named_as_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             command: list[str]) -> None:
    """The path the user typed, relative, not the absolute one the workers would read."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*command, "--scenario", "tiny-dp", "--demand-csv", "no/such.csv"])
    assert result.exit_code == 2, result.output
    assert result.stderr == "error: --demand-csv no/such.csv: no such file\n"


def test_a_long_missing_path_is_shortened_to_80_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    typed = "d" * 150 + "/history.csv"  # 162 characters
    result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--demand-csv", typed])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and len(result.stderr) - 1 <= 80, result.stderr
    assert result.stderr.startswith("error: --demand-csv ...dddd")
    assert result.stderr.endswith("dd/history.csv (162 characters): no such file\n")


def test_a_bad_history_is_named_as_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "period,sku\n0,widget\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--demand-csv", "history.csv"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: history.csv: missing column(s) location, channel, quantity")
    assert str(tmp_path) not in result.stderr
