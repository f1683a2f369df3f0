"""Options several ``allocsim`` commands share (one definition, one help text)."""

from __future__ import annotations

from typing import Annotated

import typer

TIMING_HELP = ("within-period model, overriding the scenario's timing.mode: aggregated (one batch per "
               "period, the fast engine) or events (orders and receipts through the period, SimPy)")
#: The ``--timing`` option of simulate, benchmark, evaluate, sweep and tune.
TimingOption = Annotated[str | None, typer.Option(help=TIMING_HELP, metavar="[events|aggregated]")]
