"""Contract attainment where the scenario has no contract: "–" in the console (simulate, evaluate), left
out of the report and summary.md's ranking, its value (100: nothing was due) kept in machine outputs
as the benchmark keeps it in summary.csv."""

from __future__ import annotations

import io

from report_fixtures import SEEDS, synthetic_rows
from rich.console import Console

from allocsim.envs.scenario import load_scenario
from allocsim.experiments.kpis import HEADLINE, has_contracts
from allocsim.experiments.report import RunInfo, summary_markdown
from allocsim.experiments.report_sections import every_kpi
from allocsim.experiments.summary import summary_frame
from allocsim.experiments.tables import headline_table


def test_presets_with_and_without_contracts() -> None:
    assert has_contracts(load_scenario("contracts-scarce"))
    assert not has_contracts(load_scenario("retail-small")) and not has_contracts(load_scenario("tiny-dp"))


def _console_lines(contracts: bool) -> list[str]:
    result = {"scenario": "retail-small", "policy": "pretrained:ppo", "timing": "aggregated",
              "summary": {k: 100.0 if k == "contract_attainment" else 1.0 for k in HEADLINE}}
    screen = Console(width=80, file=io.StringIO(), record=True, color_system=None)
    screen.print(headline_table(result, "pretrained:ppo · 2 episode(s)", "EUR", contracts))
    return [line for line in screen.export_text().splitlines() if "contract_attainment (%)" in line]


def test_the_console_shows_a_dash_without_a_contract() -> None:
    [without] = _console_lines(contracts=False)
    assert without.split("│")[2].strip() == "–" and "100" not in without
    [with_one] = _console_lines(contracts=True)
    assert with_one.split("│")[2].strip() == "100.00"


def _info(contracts: bool) -> RunInfo:
    return RunInfo(scenario="synthetic", description="", seeds=SEEDS, workers=1, warm_up=0, wall_seconds=1.0,
                   created="now", currency="EUR", contracts=contracts)


def test_the_report_leaves_it_out_and_says_why() -> None:
    rows = synthetic_rows()  # contract_attainment 100 on every row
    order = sorted({r["policy"] for r in rows})
    without = every_kpi(rows, order, "EUR", contracts=False)
    heads = [c.text for block in without for row in block.rows for c in row[:1]]
    assert not any(h.startswith("Contract attainment") for h in heads)
    assert "No contract in this scenario, left out: Contract attainment." in without[-1].note
    heads = [c.text for block in every_kpi(rows, order, "EUR") for row in block.rows for c in row[:1]]
    assert any(h.startswith("Contract attainment") for h in heads)


def test_summary_md_drops_it_from_the_ranking_and_dashes_it_but_summary_csv_keeps_it() -> None:
    rows = synthetic_rows()
    summary = summary_frame(rows)
    assert (summary["contract_attainment_mean"] == 100.0).all()  # the machine output keeps the value
    text = summary_markdown(summary, _info(False), rows)
    ranked = text.split("## Ranked by profit")[1].split("## Every KPI")[0]
    assert "contract_attainment" not in ranked
    every = text.split("## Every KPI")[1].split("## Parameters")[0]
    [line] = [r for r in every.splitlines() if r.startswith("| contract_attainment |")]
    assert set(line.strip("| ").split(" | ")[1:]) == {"–"}
    assert "contract_attainment" in summary_markdown(summary, _info(True), rows).split("## Every KPI")[0]
