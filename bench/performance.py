"""The README's Performance table, made from the figures the bench scripts wrote to ``bench/results/``.

Prints Markdown: one row per measured target of every ``bench/results/*.json`` (its figure,
the target, PASS / MISS; targets a run did not measure are left out), each script's rows
under the command that measured them, with the machine and load of that run. Current
figures only: no history of earlier runs.
Usage: ``python bench/performance.py [--results DIR] [--write docs/performance.md]``: prints the
table, or writes it between the page's ``<!-- bench:start -->`` and ``<!-- bench:end -->`` lines
(a test checks the page holds exactly what the JSON says).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness import RESULTS, shown


def rows_of(figures: dict[str, Any]) -> list[str]:
    """Markdown rows of one script's measured targets (a ``target`` entry counts as a one-item list)."""
    targets = figures.get("targets") or ([figures["target"]] if "target" in figures else [])
    return [f"| {t['target']} | {shown(t['measured'], t['unit'])} | {t['op']} "
            f"{shown(t['threshold'], t['unit'])} | {t['status']} |" for t in targets if t["status"] != "SKIP"]


def table(folder: Path) -> str:
    """The whole section body for every results file in ``folder`` with targets."""
    out: list[str] = []
    for path in sorted(folder.glob("*.json")):
        figures = json.loads(path.read_text(encoding="utf-8"))
        rows = rows_of(figures)
        if not rows:
            continue
        machine = figures.get("machine", {})
        load = " ".join(f"{x:.1f}" for x in machine.get("load_avg", []))
        out += [f"`{figures.get('command', path.stem)}` ({figures.get('written', '?')}, "
                f"{machine.get('cpus', '?')} CPUs, load average {load or '?'}):", "",
                "| case | figure | target | status |", "|---|---:|---:|---|", *rows, ""]
    return "\n".join(out)


START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def with_table(page: str, body: str) -> str:
    """``page`` with the text between its START and END lines replaced by ``body``."""
    head, found, rest = page.partition(START)
    _, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise ValueError(f"the page has no {START} ... {END} block")
    return f"{head}{START}\n{body.rstrip()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the JSON figures")
    parser.add_argument("--write", type=Path, default=None, help="page whose bench block to rewrite")
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        print(f"performance: no results folder {args.results}; run the bench scripts first", file=sys.stderr)
        return 2
    if args.write is None:
        print(table(args.results))
        return 0
    args.write.write_text(with_table(args.write.read_text(encoding="utf-8"), table(args.results)),
                          encoding="utf-8")
    print(f"performance: wrote the figures of {args.results} into {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
