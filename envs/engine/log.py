"""The decision log kept as arrays by the kernels, turned into ``Trim`` rows when read."""

from __future__ import annotations

import numpy as np

from allocsim.envs.engine.state import EngineState
from allocsim.envs.guardrails import Trim

# (rule, part, array name, stage before, stage after), in the order the guardrails apply
_STAGES = (
    ("max_days_of_supply", "allocation", "log_allocation", 0, 1),
    ("capacity", "allocation", "log_allocation", 1, 2),
    ("capacity", "transfers", "log_transfers", 0, 1),
    ("supplier_capacity", "orders", "log_orders", 0, 1),
    ("working_capital_cap", "orders", "log_orders", 1, 2),
)


def decision_trims(state: EngineState, b: int, first: int = 0) -> list[Trim]:
    """Guardrail trims of copy ``b`` from period ``first`` to the last closed one (none without a log)."""
    trims: list[Trim] = []
    if state.log_allocation.shape[1] == 0:
        return trims
    for period in range(first, int(state.closes[b])):
        flags = int(state.log_flags[b, period])  # which stages changed, set by the kernel
        if not flags:
            continue
        for bit, (rule, part, name, before, after) in enumerate(_STAGES):
            if flags >> bit & 1:
                stages = getattr(state, name)[b, period]
                trims.append(Trim(period, rule, part, stages[before].copy(), stages[after].copy()))
        if flags >> len(_STAGES) & 1:
            delay = state.log_transfers[b, period, 2]
            trims.append(Trim(period, "approval", "transfer_delay", np.zeros_like(delay), delay.copy()))
    return trims
