"""The report's tables as plain data (header, rows, cell classes), ready for the HTML template.

Wide tables are transposed (KPIs as rows, policies as columns) and split into blocks of
policies that fit ``PAGE_CHARS`` characters of table text, so nothing scrolls at 1,024 px. Rows that are zero
for every policy are left out and named in the table's note.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from allocsim.baselines.registry import POLICIES
from allocsim.experiments.bound_choice import kind_label
from allocsim.experiments.bounds import CLOSED, GAP_KPIS, REFERENCE_CLOSED
from allocsim.experiments.comparisons import better, describe
from allocsim.experiments.evaluation import Row, scalar_kpis
from allocsim.experiments.kpi_labels import LABELS, label
from allocsim.experiments.kpis import CONTRACT_KPIS, fmt_ci
from allocsim.experiments.recommendation import WEEK
from allocsim.experiments.reference_interval import ReferenceInterval, money_ci, pct
from allocsim.experiments.stats import mean_ci

PAGE_CHARS = 132  # characters of .82rem table text (about 6.5 px each, with padding) in a 1,024 px window
CELL_PAD = 3  # characters' worth of padding and border per column
CLOSED_FLOOR = -100.0  # gap closed below this is shown as "< -100" (unbounded below)
LOCATION_KPIS = ("fill_rate", "lost_sales_units", "units_requested", "avg_inventory_value", "holding_cost",
                 "shipping_cost", "writeoff_cost")
CHANNEL_KPIS = ("fill_rate", "lost_sales_units", "backorder_units", "units_requested", "revenue",
                "shortage_penalty")


def code_spans(line: str) -> Markup:
    """A fact line for the HTML page: escaped, its Markdown code spans (a command between backticks, as
    summary.md writes them) as ``<code>`` elements, so the page never shows a literal backtick."""
    parts = line.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick is text, not a code span
        return Markup(escape(line))
    return Markup("").join(Markup("<code>{}</code>").format(p) if i % 2 else escape(p)
                           for i, p in enumerate(parts))


@dataclass
class Cell:
    text: str
    css: str = "num"


@dataclass
class HtmlTable:
    """A table for the template: header texts, rows of cells, and an optional note under it."""

    header: list[str]
    rows: list[list[Cell]]
    note: str = ""
    classes: str = ""
    blocks: list[HtmlTable] = field(default_factory=list)


def _split(first: list[str], columns: Sequence[str], rows: list[tuple[list[Cell], dict[str, Cell]]],
           note: str = "") -> list[HtmlTable]:
    """Blocks of policy columns that fit ``PAGE_CHARS``, as even as possible; the row heads repeat."""
    def chars(texts: Iterable[str]) -> int:
        return max((len(t) for t in texts), default=0) + CELL_PAD

    heads = sum(chars([h, *[r[0][i].text for r in rows]]) for i, h in enumerate(first))
    widths = [chars([c, *[r[1][c].text for r in rows]]) for c in columns]
    blocks_needed = 1
    while blocks_needed < len(columns):
        size = math.ceil(len(columns) / blocks_needed)
        if all(heads + sum(widths[s:s + size]) <= PAGE_CHARS for s in range(0, len(columns), size)):
            break
        blocks_needed += 1
    size = math.ceil(len(columns) / blocks_needed) if columns else 1
    blocks = []
    for start in range(0, len(columns), size):
        chunk = list(columns[start:start + size])
        body = [[*head, *[cells[c] for c in chunk]] for head, cells in rows]
        blocks.append(HtmlTable([*first, *chunk], body))
    if blocks:
        blocks[-1].note = note
    return blocks


def _closed(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"< {CLOSED_FLOOR:,.0f}" if value < CLOSED_FLOOR else f"{value:,.1f}"


def _verdict(policy: str, ref: str, low: float, high: float) -> Cell:
    if policy == ref:
        return Cell("best", "txt best")
    if not (math.isfinite(low) and math.isfinite(high)):
        return Cell("no CI", "txt tie")
    if high < 0:
        return Cell("worse", "txt worse")
    if low > 0:
        return Cell("better", "txt better")
    return Cell("tie", "txt tie")


def ranked(summary: pd.DataFrame, currency: str, periods: int = 0) -> HtmlTable:
    """Rank, policy, profit per episode and per week, paired Δ profit and its verdict, the headline KPIs,
    and the gap to the gap reference (else to the clairvoyant bound) with the share of it closed."""
    ref = str(summary["reference"].iloc[0])
    tight = REFERENCE_CLOSED in summary and "gap_to_reference_pct_mean" in summary
    gaps = ("gap_to_reference_pct",) if tight else tuple(k for k in GAP_KPIS[:1] if f"{k}_mean" in summary)
    closed = REFERENCE_CLOSED if tight else (CLOSED if CLOSED in summary else None)
    kpis = [k for k in ("fill_rate", "lost_sales_units", "avg_inventory_value", *gaps)
            if f"{k}_mean" in summary]
    week = [f"Profit per week ({currency})"] if periods else []
    header = ["rank", "policy", f"Profit ({currency} per episode)", *week,
              f"Δ profit vs {ref.replace(':', ':' + chr(0x200B))} ({currency} per episode, paired 95% CI)",
              "verdict",
              *[label(k).titled(currency) for k in kpis],
              *([("Reference gap" if tight else "Gap") + " closed (%)"] if closed else [])]
    rows = []
    for _, r in summary.iterrows():
        policy = str(r["policy"])
        per_week = [Cell(f"{float(r['profit_mean']) * WEEK / periods:,.0f}")] if periods else []
        rows.append([
            Cell(str(r["rank"])), Cell(policy + (" *" if r["pareto"] else ""), "txt name"),
            Cell(fmt_ci(r["profit_mean"], r["profit_ci95"])), *per_week,
            Cell(fmt_ci(r["profit_vs_ref"], r["profit_vs_ref_ci95"])),
            _verdict(policy, ref, float(r["profit_vs_ref_low"]), float(r["profit_vs_ref_high"])),
            *[Cell(fmt_ci(r[f"{k}_mean"], r[f"{k}_ci95"])) for k in kpis],
            *([Cell(_closed(float(r[closed])))] if closed else []),
        ])
    return HtmlTable(header, rows, classes="ranked")


def interval_tables(interval: ReferenceInterval | None, order: Sequence[str],
                    currency: str) -> tuple[HtmlTable, list[HtmlTable]] | None:
    """The reference interval (best tuned rule, best achievable, tightest bound, the gap) and each
    policy's share of the rule-to-best-achievable gap closed, in blocks of policies that fit the page."""
    if interval is None:
        return None
    body = [[Cell("best tuned rule", "txt"), Cell(interval.rule or "none played", "txt"),
             Cell(fmt_ci(interval.rule_mean, math.nan))],
            [Cell("best achievable", "txt"), Cell(interval.best, "txt"),
             Cell(fmt_ci(interval.best_mean, math.nan))]]
    if interval.bound_kind is not None:
        body += [[Cell("tightest bound", "txt"), Cell(kind_label(interval.bound_kind), "txt"),
                  Cell(money_ci(interval.bound))],
                 [Cell("gap: bound - best achievable", "txt"), Cell(pct(interval.gap_pct), "num"),
                  Cell(money_ci(interval.gap))]]
    summary = HtmlTable(["", "which", f"{currency} per episode (95% CI)"], body, classes="interval")
    cells = {p: Cell(_share(interval, p)) for p in order}
    shares = _split(["share of the gap closed"], order, [([Cell("% (paired 95% CI)", "txt")], cells)])
    return summary, shares


def _share(interval: ReferenceInterval, policy: str) -> str:
    share = interval.shares.get(policy)
    if share is None or not math.isfinite(share.mean):
        return "n/a"
    if share.mean < CLOSED_FLOOR:
        return f"< {CLOSED_FLOOR:,.0f}"
    if share.half_width == 0:  # the best rule itself
        return f"{share.mean:,.0f}"
    return fmt_ci(share.mean, share.half_width, 0 if abs(share.half_width) >= 10 else 1)


def rules(order: Sequence[str], params: Mapping[str, tuple[str, str]]) -> HtmlTable:
    """Policy, what it does (one sentence, from its class's docstring), its parameters and their source."""
    body = [[Cell(p, "txt"), Cell(what_it_does(p), "wrap"),
             Cell(f"{params[p][1]} ({params[p][0]})" if p in params else "", "wrap small")] for p in order]
    return HtmlTable(["policy", "what it does", "parameters (source)"], body, classes="rules")


def what_it_does(policy: str) -> str:
    """The first paragraph of the rule class's docstring; for a learned policy, what it is."""
    if policy not in POLICIES:
        return ("A learned policy: a neural network trained by reinforcement learning on the training seeds "
                "and played through its exported ONNX file. A black box: no rule states what it does.")
    doc = inspect.getdoc(POLICIES[policy]) or policy
    return doc.split("\n\n")[0].replace("``", "").replace("\n", " ")


def paired_blocks(paired: pd.DataFrame, order: Sequence[str], currency: str) -> list[HtmlTable]:
    """KPI rows x policy columns: each policy's paired difference to the best, coloured by verdict."""
    rows, dropped = [], []
    for kpi, part in paired.groupby("kpi", sort=False):
        part = part.set_index("policy")
        if (part["mean"].abs() < 1e-12).all() and (part["ci95"].fillna(0).abs() < 1e-12).all():
            dropped.append(label(str(kpi)).name)
            continue
        cells = {}
        for policy in order:
            r = part.loc[policy]
            css = "num tie" if r["tie"] else ("num better" if better(str(kpi), r["mean"]) else "num worse")
            cells[policy] = Cell(fmt_ci(r["mean"], r["ci95"]), "num" if abs(r["mean"]) < 1e-12 else css)
        rows.append(([Cell(describe(str(kpi), currency), "txt")], cells))
    note = f"No difference for any policy, left out: {', '.join(dropped)}." if dropped else ""
    return _split(["KPI (unit, direction)"], order, rows, note)


def _derived(rows: Sequence[Row]) -> list[Row]:
    """Rows with ``avg_working_capital`` = average stock value / inventory_to_working_capital."""
    out = []
    for r in rows:
        ratio = float(r.get("inventory_to_working_capital", math.nan))
        wc = float(r["avg_inventory_value"]) / ratio if ratio and math.isfinite(ratio) else math.nan
        out.append({**r, "avg_working_capital": wc})
    return out


def _estimates(rows: Sequence[Row], order: Sequence[str], get: Any) -> dict[str, tuple[float, float]]:
    return {p: (e.mean, e.half_width) for p in order
            for e in [mean_ci([get(r) for r in rows if r["policy"] == p])]}


def _zero(values: Iterable[tuple[float, float]]) -> bool:
    return all((m == 0 or (isinstance(m, float) and math.isnan(m))) for m, _ in values)


def every_kpi(rows: Sequence[Row], order: Sequence[str], currency: str,
              contracts: bool = True) -> list[HtmlTable]:
    """Every scalar KPI (plus the derived average working capital) as mean ± 95% CI per policy; without
    ``contracts`` in the scenario its contract KPIs are left out and the note says why."""
    rows = _derived(rows)
    kpis = [k for k in scalar_kpis(rows) if k != "reward" and (contracts or k not in CONTRACT_KPIS)]
    no_contract = [] if contracts else [label(k).name for k in CONTRACT_KPIS]
    if "inventory_to_working_capital" in kpis:
        kpis.insert(kpis.index("inventory_to_working_capital"), "avg_working_capital")
    body, dropped = [], []
    for kpi in dict.fromkeys(kpis):
        est = _estimates(rows, order, lambda r, k=kpi: float(r.get(k, math.nan)))
        if _zero(est.values()):
            dropped.append(label(kpi).name)
            continue
        body.append(([Cell(label(kpi).titled(currency), "txt")],
                     {p: Cell(fmt_ci(*est[p])) for p in order}))
    note = f"Zero for every policy, left out: {', '.join(dropped)}." if dropped else ""
    if no_contract:
        note += f"{' ' if note else ''}No contract in this scenario, left out: {', '.join(no_contract)}."
    return _split(["KPI (unit)"], order, body, note)


def breakdown(rows: Sequence[Row], order: Sequence[str], key: str, kpis: Sequence[str],
              currency: str) -> list[HtmlTable]:
    """``by_location`` or ``by_channel`` means per policy: one row per (place, KPI).

    Rows zero for every policy are left out, and so is fill rate where no customer asks (the DC).
    """
    places = list(rows[0].get(key, {}))
    body: list[tuple[list[Cell], dict[str, Cell]]] = []
    dropped: list[str] = []
    for place in places:
        for kpi in kpis:
            if kpi not in rows[0][key][place]:
                continue
            est = _estimates(rows, order, lambda r, k=kpi, pl=place: float(r[key][pl][k]))
            demand = _estimates(rows, order, lambda r, pl=place: float(r[key][pl].get("units_requested", 0)))
            if _zero(est.values()) or (kpi == "fill_rate" and _zero(demand.values())):
                dropped.append(f"{place} {label(kpi).name.lower()}")
                continue
            body.append(([Cell(place, "txt"), Cell(label(kpi).titled(currency), "txt")],
                         {p: Cell(fmt_ci(*est[p])) for p in order}))
    note = f"Zero for every policy (or no demand there), left out: {', '.join(dropped)}." if dropped else ""
    return _split([key.removeprefix("by_"), "KPI (unit)"], order, body, note)


def glossary(kpis: Iterable[str], currency: str) -> list[tuple[str, str]]:
    """(name with unit and key, meaning) for every KPI shown."""
    seen = [k for k in dict.fromkeys(kpis) if k in LABELS]
    return [(f"{label(k).titled(currency)} · {k}", label(k).meaning) for k in seen]


def working_capital_note(summary: pd.DataFrame, currency: str) -> str:
    """Why ``inventory_to_working_capital`` is negative, when it is for the best policy; else ''."""
    ratio = float(summary["inventory_to_working_capital_mean"].iloc[0]) \
        if "inventory_to_working_capital_mean" in summary else math.nan
    if not (math.isfinite(ratio) and ratio < 0):
        return ""
    stock = float(summary["avg_inventory_value_mean"].iloc[0])
    policy = str(summary["policy"].iloc[0])
    return (f"for {policy} the average stock is worth {stock:,.0f} {currency} and stock / working capital is "
            f"{ratio:.2f}, so average operating working capital is about {stock / ratio:,.0f} {currency}. "
            "Suppliers are paid after their payable days while stock turns in a few days and customers pay "
            "after their receivable days: payables exceed stock plus receivables, the supplier finances the "
            "stock, and the ratio turns negative. The time figure shows it: working capital starts at the "
            "initial stock's value and falls below 0 as unpaid supplier invoices pile up.")
