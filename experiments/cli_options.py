"""Options several ``allocsim`` commands share (one definition, one help text)."""

from __future__ import annotations

from typing import Annotated

import typer

TIMING_HELP = ("within-period model, overriding the scenario's timing.mode: aggregated (one batch per "
               "period, the fast engine) or events (orders and receipts through the period, SimPy)")
#: The ``--timing`` option of simulate, benchmark, evaluate, sweep and tune.
TimingOption = Annotated[str | None, typer.Option(help=TIMING_HELP, metavar="[events|aggregated]")]

#: What ``--demand-csv`` takes: the columns, where period 0 falls, the separators read.
DEMAND_CSV_HELP = ("a demand history: columns period,sku,location,channel,quantity (period 0 is a Monday) "
                   "or date (YYYY-MM-DD, the first a Monday) instead of period; comma, semicolon or tab "
                   "separated; rows up to the scenario's last period (quantity 0 where nothing sold)")
