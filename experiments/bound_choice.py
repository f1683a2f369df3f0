"""Which bound is the tightest: seed-means compared by their upper 95 % confidence limit (``allocsim bound``).

Never a per-seed minimum, and not the lower mean alone: picking the lower of noisy means is biased
low, so a noisy mean must beat an exact bound by its whole half-width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: The bounds after the penalised one, in the order that wins a tie (the earlier).
KINDS = ("lagrangian_bound", "lane_penalty_bound", "history_bound")


#: What a user reads for each kind (console, report, results READMEs): the names docs/bounds.md uses.
#: The kinds themselves (``history_bound``, ...) are keys of ``bound --json``, ``run.json`` and the
#: episode files, and never change.
LABELS = {"penalised_bound": "penalised", "lagrangian_bound": "Lagrangian",
          "lane_penalty_bound": "lane-penalty", "history_bound": "history-priced", "dp_optimum": "DP optimum"}


def kind_label(kind: object) -> str:
    """A bound kind as every user-facing line prints it, the one place that names them:
    ``history_bound`` -> ``history-priced``, ``lagrangian_bound`` -> ``Lagrangian``; an unknown kind
    without its ``_bound`` suffix, dashed (``lane_penalty_bound`` -> ``lane-penalty``)."""
    return LABELS.get(str(kind), str(kind).removesuffix("_bound").replace("_", "-"))


def kind_name(kind: object) -> str:
    """A kind with its noun, as a sentence names it: ``history-priced bound``, ``DP optimum``."""
    text = kind_label(kind)
    return text if str(kind) == "dp_optimum" else f"{text} bound"


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and Student-t 95% half-width (nan with one value)."""
    from scipy import stats

    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))


def tightest(penalised: tuple[float, float], lagrangian: tuple[float, float] | None,
             lane: tuple[float, float] | None = None,
             history: tuple[float, float] | None = None) -> tuple[str, tuple[float, float]]:
    """The tightest of the (mean, 95 % half-width) bounds by upper confidence limit (a half-width of
    nan, one seed, counts as infinite), and its kind; on a tie the earlier of penalised, Lagrangian,
    lane-penalty, history-priced; the missing ones (None) do not compete."""

    def upper(bound: tuple[float, float]) -> float:
        return bound[0] + (bound[1] if math.isfinite(bound[1]) else math.inf)

    kind, best = "penalised_bound", penalised
    for name, other in zip(KINDS, (lagrangian, lane, history), strict=True):
        if other is not None and upper(other) < upper(best):
            kind, best = name, other
    return kind, best
