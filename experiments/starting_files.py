"""A planner's starting files: a preset as a commented YAML, and a sampled demand history as CSV.

``allocsim scenarios --show NAME`` prints the first; ``allocsim demand-history`` writes the
second in the format ``--demand-csv`` replays (``period, sku, location, channel, quantity``).
Both load back to exactly what they came from (tests hold the round trips).
"""

from __future__ import annotations

import csv
import io
import textwrap
from importlib import resources

from allocsim.envs.demand import CSV_COLUMNS, DemandProfile, sample_episode
from allocsim.envs.network import Network
from allocsim.envs.scenario import Scenario, ScenarioError, preset_names

#: One comment per top-level key of a scenario file (the schema is in docs/scenarios.md).
KEY_NOTES = {
    "name": "rename it for your network (your `allocsim tune` results are filed under this name; the "
            "presets' shipped tuning applies only while the content is unchanged)",
    "description": "free text shown by `allocsim scenarios`",
    "periods": "horizon in periods (days by default)",
    "currency": "the currency every money KPI is reported in",
    "skus": "unit_cost, price by channel, holding_cost per unit-period, shelf_life, markdown, salvage_value",
    "channels": "unmet: lost/backorder/mix, patience, shortage_penalty, priority, receivable_days, contract",
    "supplier": "lead_time, capacity_per_period, payable_days, inbound_schedule, replenishment rule",
    "dc": "the allocation node: initial_stock, safety_reserve (committed, not allocatable), holding_cost",
    "locations": "stores, e-commerce and wholesale points: channels, capacity, lead_time, shipping_cost, "
                 "holding_cost",
    "transfers": "lateral lanes: from, to, lead_time, cost_per_unit, approval_threshold",
    "demand": "parametric streams (later streams override earlier; `*` = all) or csv: a history to replay",
    "forecast": "the noisy forecast the policy sees: noise_cv, bias, horizon",
    "guardrails": "working-capital cap, location capacity, days of supply, aging goal",
    "objective": "reward weights (profit only by default, so the return equals the profit KPI)",
}


#: The comments' width: they read whole in an 80-column terminal or editor.
COMMENT_WIDTH = 79


def commented_preset(name: str) -> str:
    """The preset's YAML with a header and a comment above each top-level key; loads back unchanged."""
    if name not in preset_names():
        raise ScenarioError(f"unknown preset {name[:80]!r}; valid: {', '.join(preset_names())}")
    text = (resources.files("allocsim.envs") / "presets" / f"{name}.yaml").read_text(encoding="utf-8")
    lines = [
        *textwrap.wrap(f"# allocsim scenario, copied from the preset {name!r}. Edit it, then:", COMMENT_WIDTH,
                       subsequent_indent="# "),
        "#   allocsim benchmark --scenario THIS_FILE.yaml",
        "# Every key is checked (a misspelt key is an error); the full schema is in the",
        "# repository's docs/scenarios.md. Money is in `currency` units, time in periods.",
    ]
    for line in text.splitlines():
        key = line.split(":", 1)[0]
        if line[:1].isalpha() and key in KEY_NOTES:
            lines += ["", *textwrap.wrap(f"# {key}: {KEY_NOTES[key]}", COMMENT_WIDTH, break_long_words=False,
                                         subsequent_indent="#   ", break_on_hyphens=False)]
        lines.append(line)
    return "\n".join(lines) + "\n"


def sampled_history_csv(scenario: Scenario, seed: int) -> str:
    """The demand of episode ``seed`` as CSV text: one row per period and served lane (zeros included)."""
    net = Network.compile(scenario)
    demand = sample_episode(DemandProfile.build(net), net, seed).demand  # (T, L, S, C)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for period in range(net.periods):
        for li, location in enumerate(net.locations):
            for si, sku in enumerate(net.skus):
                for ci, channel in enumerate(net.channels):
                    if net.serves[li, ci]:
                        writer.writerow((period, sku, location, channel, int(demand[period, li, si, ci])))
    return out.getvalue()
