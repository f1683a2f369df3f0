"""The report's first words: which policy to use, in plain words, and why.

The best policy by mean profit and every policy whose paired profit interval against it
contains 0 form the tied group. From that group the simplest is recommended: a rule before
the exact or simulation-based policies (``dp``, ``rollout``), those before ``random``, and a
learned policy (a black box) last; among rules, the one with fewer parameters to explain and
tune. The simplest is passed over when every other member of the group does better than it on the
first KPI that separates them (the first, in ``SEPARATORS`` order, whose paired interval excludes 0):
then the next simplest is recommended, unless that is a learned policy and the simplest is not (a
black box is recommended only for a significant profit lead). (At most one policy of a group can be
beaten so by all the others, as of two policies only one is the better on the KPI that separates
them.) The sentence then
names the KPI that separates the recommended policy from each other member of the group.
Money is given per episode and per week (7 periods: periods are days).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from allocsim.baselines.registry import NOT_RULES, POLICIES
from allocsim.experiments.evaluation import Row
from allocsim.experiments.kpi_labels import label
from allocsim.experiments.kpis import LOWER_IS_BETTER
from allocsim.experiments.stats import Estimate, paired_diff

WEEK = 7  # periods per week (a period is a day)
#: KPIs that may separate tied policies, in the order a planner asks about them.
SEPARATORS = ("fill_rate", "lost_sales_units", "avg_inventory_value", "holding_cost", "shipping_cost",
              "avg_age", "writeoff_cost", "markdown_cost", "shortage_penalty", "contract_attainment")


def is_learned(policy: str) -> bool:
    """A learned policy (``pretrained:ppo``, ``onnx:x``, ``ppo:run``): not a registered rule."""
    return policy not in POLICIES


def parameter_count(policy: str) -> int:
    """How many parameters a registered rule has (its ``Params`` model's fields); 0 without any."""
    params = getattr(POLICIES[policy], "Params", None)
    return len(params.model_fields) if params is not None else 0


def simplicity(policy: str) -> tuple[int, int]:
    """Sort key, simplest first: (kind, parameters); kind 0 rules, 1 dp/rollout, 2 random, 3 learned."""
    if is_learned(policy):
        return (3, 0)
    if policy == "random":
        return (2, 0)
    return (1 if policy in NOT_RULES else 0, parameter_count(policy))


def what_it_is(policy: str) -> str:
    """``3 parameters``, ``no parameters`` or ``a learned black box``: why it sorts where it does."""
    if is_learned(policy):
        return "a learned black box"
    n = parameter_count(policy)
    return f"{n} parameter{'s' if n != 1 else ''}" if n else "no parameters"


@dataclass(frozen=True)
class Separation:
    """How ``other`` differs from the recommended policy on ``kpi`` (``diff`` = other - recommended)."""

    other: str
    kpi: str | None  # None: no KPI of ``SEPARATORS`` differs significantly
    diff: Estimate | None = None


@dataclass(frozen=True)
class Recommendation:
    """The recommended policy, the group it was chosen from, and the figures the sentences quote."""

    use: str
    best: str  # best by mean profit
    tied: list[str]  # the best and every policy tied with it, ranked
    lead: Estimate | None  # best - runner-up (significant case) or best - recommended (tie)
    runner_up: str | None
    behind: tuple[str, Estimate] | None  # first policy significantly below the best: (name, its - best)
    separations: list[Separation]
    periods: int  # periods the money KPIs cover (for per week)
    passed_over: str | None = None  # the simplest tied policy, when every other one does better than it

    def per_week(self, amount: float) -> float:
        return amount * WEEK / self.periods + 0.0  # + 0.0: never print -0

    def money(self, e: Estimate, currency: str) -> str:
        """``94 EUR per episode (11 EUR per week)``; to the cent when the interval is under one unit wide."""
        amount, d = e.mean + 0.0, _places(e)  # + 0.0: never print -0
        return (f"{amount:,.{d}f} {currency} per episode ({self.per_week(amount):,.{d}f} {currency} per week)"
                if self.periods else f"{amount:,.{d}f} {currency} per episode")

    def sentences(self, currency: str) -> list[str]:
        """The recommendation in plain words: ``Use X.``, then one sentence per reason."""
        if self.runner_up is None:
            return [f"Use {self.use}.", "It is the only policy in this benchmark."]
        if self.lead is None or not math.isfinite(self.lead.half_width):
            return [f"Use {self.use} for now.", "It has the highest mean profit, but one episode gives no "
                    "interval: run 2 or more (20 by default) to know whether the difference is real."]
        if len(self.tied) == 1:
            return [f"Use {self.use}.",
                    f"It earns {self.money(self.lead, currency)} more profit than {self.runner_up}, the "
                    f"runner-up ({_ci(self.lead, currency)}).",
                    "The difference is significant: the paired interval excludes 0."]
        return [f"Use {self.use}.", *self._tie(currency)]

    def _tie(self, currency: str) -> list[str]:
        others = [p for p in self.tied if p != self.use]
        out = [f"On profit it ties with {_join(others)}: the paired 95% intervals contain 0, so these "
               "episodes cannot tell them apart."]
        if self.use != self.best and self.lead is not None:
            out.append(f"{self.best} has the highest mean, {self.money(self.lead, currency)} more "
                       f"({_ci(self.lead, currency)}), which is not significant.")
        simpler = ", ".join(f"{p} {what_it_is(p)}" for p in others)
        even = [p for p in others if simplicity(p) == simplicity(self.use)]
        tail = f"; of the equally simple, {self.use} ranks first by mean profit." if even else "."
        if self.passed_over is None:
            out.append(f"{self.use} is the simplest of them ({what_it_is(self.use)}; {simpler}){tail}")
        else:
            out.append(f"{self.passed_over} is the simplest of them, but every other one does better than it "
                       "on the first KPI that separates them, so the next simplest is recommended: "
                       f"{self.use} ({what_it_is(self.use)}; {simpler}){tail}")
        for s in self.separations:
            if s.kpi is None or s.diff is None:
                out.append(f"Between {self.use} and {s.other} no other KPI differs significantly either.")
            else:
                out.append(f"What separates {self.use} from {s.other}: {_kpi_words(s, currency)}.")
        if self.behind is not None:
            name, gap = self.behind
            less = Estimate(-gap.mean, gap.half_width, gap.n)
            out.append(f"The first policy significantly behind the best is {name}, "
                       f"{self.money(less, currency)} less ({_ci(less, currency)}).")
        return out


def _join(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _places(e: Estimate) -> int:
    """Decimals for money said in a sentence: whole units, cents when the interval is under a unit wide."""
    if not math.isfinite(e.half_width) or e.half_width >= 1:
        return 0
    return 0 if e.half_width == 0 and abs(e.mean) >= 1 else 2  # an exact difference of whole units


def _ci(e: Estimate, currency: str) -> str:
    d = _places(e)
    return f"paired 95% CI {e.low + 0.0:,.{d}f} to {e.high + 0.0:,.{d}f} {currency}"


def _kpi_words(s: Separation, currency: str) -> str:
    """``fill rate, 0.12 percentage points more with x (paired 95% CI 0.05 to 0.19): better with x``."""
    assert s.kpi is not None and s.diff is not None
    lab = label(s.kpi)
    unit = "percentage points" if lab.unit == "%" else lab.unit_in(currency)
    d = s.diff
    digits = 0 if max(abs(d.mean), d.half_width) >= 100 else 2
    size = f"{abs(d.mean):,.{digits}f}{' ' + unit if unit else ''}"
    good = other_better(s)
    return (f"{lab.name.lower()}, {size} {'more' if d.mean > 0 else 'less'} with {s.other} "
            f"(paired 95% CI {d.low:,.{digits}f} to {d.high:,.{digits}f}): {'better' if good else 'worse'} "
            f"with {s.other}")


def _paired(rows: Sequence[Row], kpi: str, policy: str, reference: str) -> Estimate | None:
    """Paired difference ``policy - reference`` of ``kpi`` over the seeds both played; None if absent."""
    by = {(r["policy"], r["seed"]): r.get(kpi) for r in rows}
    seeds = sorted({r["seed"] for r in rows if r["policy"] == reference}
                   & {r["seed"] for r in rows if r["policy"] == policy})
    a = [by[(policy, s)] for s in seeds]
    b = [by[(reference, s)] for s in seeds]
    if not seeds or any(v is None for v in (*a, *b)):
        return None
    return paired_diff([float(v) for v in a], [float(v) for v in b])


def other_better(s: Separation) -> bool:
    """Whether ``s.other`` does better than the policy it is compared with on the separating KPI."""
    if s.kpi is None or s.diff is None:
        return False
    return (s.diff.mean < 0) == (s.kpi in LOWER_IS_BETTER)


def beaten_by_all(rows: Sequence[Row], policy: str, others: Sequence[str]) -> bool:
    """Whether every one of ``others`` does better than ``policy`` on the first KPI separating the two."""
    return bool(others) and all(other_better(separation(rows, policy, p)) for p in others)


def separation(rows: Sequence[Row], use: str, other: str) -> Separation:
    """The first KPI of ``SEPARATORS`` on which ``other`` differs significantly from ``use``."""
    for kpi in SEPARATORS:
        diff = _paired(rows, kpi, other, use)
        if diff is not None and diff.excludes_zero() and abs(diff.mean) > 1e-9:
            return Separation(other, kpi, diff)
    return Separation(other, None)


def recommend(summary: pd.DataFrame, rows: Sequence[Row], periods: int) -> Recommendation:
    """From the ranked summary and the episode rows: the recommendation (see the module docstring)."""
    ranked = [str(p) for p in summary["policy"]]
    best = ranked[0]
    diffs = {str(r["policy"]): Estimate(float(r["profit_vs_ref"]), float(r["profit_vs_ref_ci95"]), 0)
             for _, r in summary.iterrows()}
    if len(ranked) < 2:
        return Recommendation(best, best, [best], None, None, None, [], periods)
    runner_up = ranked[1]
    first = diffs[runner_up]
    if not math.isfinite(first.half_width):
        return Recommendation(best, best, [best], first, runner_up, None, [], periods)
    tied = [best, *[p for p in ranked[1:] if not diffs[p].excludes_zero()]]
    behind = next(((p, diffs[p]) for p in ranked[1:] if diffs[p].excludes_zero() and diffs[p].mean < 0), None)
    if len(tied) == 1:
        lead = Estimate(-first.mean, first.half_width, first.n)
        return Recommendation(best, best, tied, lead, runner_up, behind, [], periods)
    simplest = sorted(tied, key=lambda p: (*simplicity(p), ranked.index(p)))
    use, passed = simplest[0], None
    black_box_next = is_learned(simplest[1]) and not is_learned(use)  # a black box must win on profit
    if not black_box_next and beaten_by_all(rows, use, simplest[1:]):
        use, passed = simplest[1], use
    gap = diffs[use] if use != best else diffs[runner_up]
    lead = Estimate(-gap.mean, gap.half_width, gap.n)
    separations = [separation(rows, use, p) for p in tied if p != use]
    return Recommendation(use, best, tied, lead, runner_up, behind, separations, periods, passed)


def traced_policies(summary: pd.DataFrame, rows: Sequence[Row], count: int) -> list[str]:
    """The ``count`` leading policies by profit, the recommended one among them (last if it ranks lower)."""
    ranked = [str(p) for p in summary["policy"]]
    use = recommend(summary, rows, 0).use
    leading = ranked[:count]
    return leading if use in leading else [*leading[: count - 1], use]
