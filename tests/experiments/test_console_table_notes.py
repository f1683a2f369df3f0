"""A continued table's title and the caption fold at the console's width, not at a narrow table's."""

from __future__ import annotations

import io

from rich.console import Console

from allocsim.experiments.tables import Col, FittedTable

WIDTH = 80
TITLE = "tune base-stock on my-network: 24 grid points x 20 tuning seeds"  # 79 with "(continued 3/3)"
CAPTION = ("mean ± 95% CI per episode; * = Pareto front of fill rate vs profit; best gap closed % = "
           "share of the gap from the best tuned rule to the best achievable (rule 0, best 100)")


def _render(table: FittedTable) -> list[str]:
    console = Console(width=WIDTH, file=io.StringIO(), record=True, color_system=None)
    console.print(table)
    return [line.rstrip() for line in console.export_text().splitlines()]


def _narrow_continuation() -> FittedTable:
    """Key columns and seven wide value columns: the last of three tables holds one narrow column."""
    keys = [Col("rank", ["1", "2"]), Col("policy", ["base-stock", "min-max"], justify="left")]
    values = [Col(f"kpi_{i} (EUR)", ["12,345.67 ± 1.00", "12,000.00 ± 2.00"]) for i in range(7)]
    return FittedTable(TITLE, keys, values, caption=CAPTION)


def test_the_continued_title_is_one_line() -> None:
    table = _narrow_continuation()
    groups = table.groups(WIDTH)
    assert len(groups) >= 2 and len(groups[-1]) == 1  # the case: a narrow last table
    lines = _render(table)
    last = f"(continued {len(groups)}/{len(groups)})"
    assert f"{TITLE} {last}" in lines


def test_the_caption_folds_at_the_console_width() -> None:
    lines = _render(_narrow_continuation())
    start = next(i for i, line in enumerate(lines) if line.startswith("mean ± 95% CI"))
    caption = lines[start:]
    assert " ".join(caption).split() == CAPTION.split()  # all of it, in order, nothing after it
    assert all(WIDTH - 20 < len(line) <= WIDTH for line in caption[:-1])  # not folded at a narrow table
