"""The reference interval: the best achievable profit against the tightest valid upper bound.

One implementation for every output that shows it (``allocsim bound --json``, ``allocsim benchmark``'s
console, ``summary.csv`` and ``run.json``, the HTML report, ``results/README.md``); the definitions are
in ``docs/bounds.md`` ("The reference interval"):

* rule ``R``: the best tuned rule, the played tuned rule with the highest mean profit over the seeds
  (``registry.best_tuned_rule``: every rule set with parameters and a played ``sp-mpc``; never random, hold,
  dp, rollout or a learned policy), the one choice of every output that names it;
* best achievable ``A``: the DP optimum (the exact expected profit of the optimal policy) where the
  scenario has one, else the played policy of any kind (rule, lookahead, learned) with the highest
  mean profit, named;
* tightest bound ``U``: the seed-mean of the bound the caller chose (``bounds.tightest``);
* interval ``U - A`` with its paired 95 % CI (``stats.paired_diff`` of bound and profit seed by seed;
  against the exact DP optimum, the bound's own t-interval), in % of ``|A|``;
* gap reference (the gap columns): the DP optimum where the scenario has one, else the tightest bound
  ``U`` (``gap_reference``);
* share closed by policy ``p``: ``100 x (mean_p - mean_R) / (A - mean_R)``, its CI the paired interval
  of ``p - R`` on the same scale (the denominator held at its estimate); undefined (NaN) when
  ``A - mean_R`` is not positive: the best rule is the best achievable, no gap is left to close.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from allocsim.baselines.registry import best_tuned_rule
from allocsim.experiments.bound_choice import kind_label
from allocsim.experiments.kpis import fmt_ci, fmt_number
from allocsim.experiments.stats import Estimate, mean_ci, paired_diff

DP_OPTIMUM = "DP optimum"  # the best achievable's name where it is the exact optimum, not a played policy
DP_KIND = "dp_optimum"  # the gap reference's kind where it is the DP optimum
SHARE = "best_gap_closed_pct"  # summary.csv: each policy's share of the rule -> best achievable gap
SHARE_CI = "best_gap_closed_pct_ci95"
_NAN = Estimate(math.nan, math.nan, 0)


@dataclass(frozen=True)
class ReferenceInterval:
    """The best achievable ``best_mean`` (named ``best``), the tightest bound, the gap between them, and
    each policy's share of the gap between the best tuned rule and the best achievable."""

    best: str
    best_mean: float
    rule: str | None = None  # the best tuned rule, None where no rule was played
    rule_mean: float = math.nan
    bound_kind: str | None = None  # penalised_bound, lagrangian_bound; None without a bound
    bound: Estimate = _NAN  # the bound's seed-mean and t-interval
    gap: Estimate = _NAN  # U - A, paired by seed
    shares: dict[str, Estimate] = field(default_factory=dict)  # policy -> share closed in %, CI

    @property
    def exact(self) -> bool:
        """True when the best achievable is the DP optimum (an expectation, no sampling error)."""
        return self.best == DP_OPTIMUM

    @property
    def gap_pct(self) -> Estimate:
        """The gap in % of the best achievable's magnitude, with its CI on the same scale."""
        scale = 100.0 / abs(self.best_mean) if self.best_mean else math.nan
        return Estimate(self.gap.mean * scale, self.gap.half_width * scale, self.gap.n)

    def record(self) -> dict[str, Any]:
        """JSON-ready keys (``run.json``, ``bound --json``); an undefined number is null."""
        return {
            "best_achievable": _num(self.best_mean), "best_achievable_policy": self.best,
            "best_rule": self.rule, "best_rule_profit": _num(self.rule_mean),
            "tightest_bound": _num(self.bound.mean), "tightest_bound_ci95": _num(self.bound.half_width),
            "tightest_bound_kind": self.bound_kind,
            "gap": _num(self.gap.mean), "gap_ci95": _num(self.gap.half_width),
            "gap_pct": _num(self.gap_pct.mean), "gap_pct_ci95": _num(self.gap_pct.half_width),
            "seeds": self.gap.n,
            "share_closed_pct": {p: {"mean": _num(e.mean), "ci95": _num(e.half_width)}
                                 for p, e in self.shares.items()},
        }

    def sentence(self, currency: str = "") -> str:
        """One line: best achievable, tightest bound, and the gap between them in money and in %."""
        money = f" {currency}" if currency else ""
        text = f"best achievable {self.best} {fmt_number(self.best_mean)}{money}"
        if self.bound_kind is not None:
            gap = self.gap_pct
            text += (f"; tightest bound ({kind_label(self.bound_kind)}) {money_ci(self.bound)}; gap "
                     f"{money_ci(self.gap)}{money} = {pct(gap)}")
        if self.rule is not None:
            text += f"; best tuned rule {self.rule} {fmt_number(self.rule_mean)}"
        return text


def gap_reference(optimum: float | None, bound: float | None,
                  bound_kind: str | None) -> tuple[str, float] | None:
    """The gap columns' reference and its kind: the DP optimum (``dp_optimum``) where the scenario has one,
    else the tightest valid bound (``bound`` of ``bound_kind``, the interval's upper end); None without
    either. The one rule for ``gap_to_reference_pct``, ``reference_gap_closed_pct`` and the results table."""
    if optimum is not None:
        return DP_KIND, float(optimum)
    if bound is None or bound_kind is None or not math.isfinite(bound):
        return None
    return bound_kind, float(bound)


def _num(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _exact(estimate: Estimate) -> bool:
    """A zero interval up to rounding: every seed gave the same value (an exact bound)."""
    return abs(estimate.half_width) <= 1e-9 * max(abs(estimate.mean), 1.0)


def money_ci(estimate: Estimate) -> str:
    """``123 ± 17``; a zero or undefined interval (a bound exact on every seed) is left out."""
    if _exact(estimate):
        return fmt_number(estimate.mean)
    return fmt_ci(estimate.mean, estimate.half_width)


def pct(estimate: Estimate) -> str:
    """``7.89 ± 13.27 %``: two decimals, a zero or undefined interval left out; ``n/a`` for NaN."""
    if not math.isfinite(estimate.mean):
        return "n/a"
    if not math.isfinite(estimate.half_width) or _exact(estimate):
        return f"{estimate.mean:,.2f} %"
    return f"{estimate.mean:,.2f} ± {estimate.half_width:,.2f} %"


def best_of(profits: pd.DataFrame, names: Collection[str]) -> str | None:
    """The column of ``profits`` among ``names`` with the highest mean (first on a tie); None if none."""
    present = [n for n in profits.columns if n in set(names)]
    if not present:
        return None
    means = profits[present].mean()
    return str(means.idxmax())


def reference_interval(
    profits: pd.DataFrame | None, rule: str | None, optimum: float | None = None,
    bound: pd.Series | None = None, bound_kind: str | None = None,
) -> ReferenceInterval | None:
    """The interval from per-seed profits (index seed, one column per policy), the best tuned rule's
    label (``registry.best_tuned_rule``; None where none was played), the DP optimum where there is
    one and the chosen bound per seed (index seed); None where there is no achievable side (no policy
    played and no DP optimum)."""
    profits = profits if profits is not None else pd.DataFrame()
    if optimum is not None:
        best, best_mean = DP_OPTIMUM, float(optimum)
    elif profits.shape[1]:
        best = str(best_of(profits, profits.columns))
        best_mean = float(profits[best].mean())
    else:
        return None
    rule = rule if rule in profits.columns else None
    interval = ReferenceInterval(best, best_mean, rule, float(profits[rule].mean()) if rule else math.nan)
    if bound is not None and bound_kind is not None:
        interval = _with_bound(interval, profits, bound.astype(float), bound_kind)
    if rule is not None:
        interval = replace(interval, shares=_shares(profits, rule, best_mean))
    return interval


def _with_bound(interval: ReferenceInterval, profits: pd.DataFrame, bound: pd.Series,
                kind: str) -> ReferenceInterval:
    """The bound's mean and the gap: against the exact optimum the bound's own interval, else paired by
    seed with the best policy's profit on the seeds both have."""
    if interval.exact:
        values = bound.to_numpy()
        gap = mean_ci(values - interval.best_mean)
    else:
        common = profits.index.intersection(bound.index)
        values = bound.loc[common].to_numpy()
        gap = paired_diff(values, profits.loc[common, interval.best].to_numpy(float))
    return replace(interval, bound_kind=kind, bound=mean_ci(values), gap=gap)


def _shares(profits: pd.DataFrame, rule: str, best_mean: float) -> dict[str, Estimate]:
    """Each policy's share (%) of the gap between the best rule's mean and ``best_mean``."""
    gap = best_mean - float(profits[rule].mean())
    shares = {}
    for policy in profits.columns:
        diff = paired_diff(profits[policy].to_numpy(float), profits[rule].to_numpy(float))
        if gap > 1e-9 * max(abs(best_mean), 1.0):
            shares[str(policy)] = Estimate(100.0 * diff.mean / gap, 100.0 * diff.half_width / gap, diff.n)
        else:
            shares[str(policy)] = Estimate(math.nan, math.nan, diff.n)
    return shares


def share_columns(summary: pd.DataFrame, interval: ReferenceInterval | None) -> pd.DataFrame:
    """``summary`` with ``best_gap_closed_pct`` and its ``_ci95`` per policy (NaN without an interval)."""
    out = summary.copy()
    shares = interval.shares if interval is not None else {}
    out[SHARE] = [shares.get(str(p), _NAN).mean for p in out["policy"]]
    out[SHARE_CI] = [shares.get(str(p), _NAN).half_width for p in out["policy"]]
    return out


def profits_by_seed(rows: Collection[dict[str, Any]]) -> pd.DataFrame:
    """Episode rows (or records) to a seed x policy frame of profit, policies in first-seen order."""
    return _wide(pd.DataFrame([{k: r[k] for k in ("policy", "seed", "profit")} for r in rows]))


def _wide(frame: pd.DataFrame) -> pd.DataFrame:
    """Long policy/seed/profit records to seed x policy, policies in first-seen order."""
    wide = frame.pivot(index="seed", columns="policy", values="profit")
    return wide[list(dict.fromkeys(frame["policy"]))].astype(np.float64)


def from_episodes(episodes: pd.DataFrame, run: dict[str, Any]) -> ReferenceInterval | None:
    """The interval of a stored benchmark (its ``episodes.csv`` and ``run.json``), without playing anything:
    the best tuned rule of its episodes (``registry.best_tuned_rule``; a rule's column is its name);
    the bound per seed is ``tightest_bound`` where the run wrote it (kind from its
    ``reference_interval``), else the stored ``penalised_bound`` (runs from before the Lagrangian bound
    joined the benchmark). A lane-penalty bound (``rerender --lane-penalty``) or a Lagrangian bound added
    by ``rerender --lagrangian`` is one mean on every row: its 95 % half-width comes from ``run.json``'s
    ``lane_penalty_bound`` or ``lagrangian_bound`` record."""
    profits = _wide(episodes)
    rule = best_tuned_rule(profits.mean().to_dict())
    kind, bound = stored_bound(episodes, run)
    interval = reference_interval(profits, rule, run.get("dp_value"), bound, kind)
    record = (run.get(str(kind)) or {}) if kind in ("lane_penalty_bound", "lagrangian_bound") else {}
    if interval is None or record.get("ci95") is None:
        return interval
    # its rows hold the seed-mean of the seeds it was solved on: the half-width is that mean's
    ci = float(record["ci95"])
    gap = interval.gap
    width = ci if interval.exact else math.hypot(gap.half_width, ci)
    return replace(interval, bound=Estimate(interval.bound.mean, ci, int(record["seeds"]["count"])),
                   gap=Estimate(gap.mean, width, gap.n))


def stored_bound(episodes: pd.DataFrame, run: dict[str, Any]) -> tuple[str | None, pd.Series | None]:
    """A stored benchmark's tightest bound: its kind and value per seed (``tightest_bound``, kind from
    ``run.json``'s ``reference_interval``; before the Lagrangian bound joined, ``penalised_bound``), or
    (None, None) where it stored none."""
    stored = run.get("reference_interval") or {}
    column, kind = (("tightest_bound", stored.get("tightest_bound_kind")) if "tightest_bound" in episodes
                    else ("penalised_bound", "penalised_bound"))
    if column not in episodes or not kind:
        return None, None
    return kind, episodes.groupby("seed")[column].first()


def markdown_table(rows: Sequence[tuple[str, ReferenceInterval]]) -> str:
    """The interval per scenario as Markdown: both ends named, the gap, every policy's share closed
    (best first; ``< -100`` below that, as it is unbounded below)."""
    head = ("| scenario | best tuned rule | best achievable | tightest bound (mean ± 95% CI) | "
            "gap: bound − best achievable, paired 95% CI | gap % | share of the rule → best achievable gap "
            "closed, per policy % |\n|---|---|---|---|---:|---:|---|\n")
    lines = []
    for name, r in rows:
        bounded = r.bound_kind is not None
        bound = f"{kind_label(r.bound_kind)} {money_ci(r.bound)}" if bounded else "–"
        ranked = sorted(r.shares.items(), key=lambda kv: -kv[1].mean if math.isfinite(kv[1].mean)
                        else math.inf)
        shares = ", ".join(f"{p} {_share(e.mean)}" for p, e in ranked) or "–"
        gap = f"{money_ci(r.gap)} | {pct(r.gap_pct)}" if bounded else "– | –"
        lines.append(f"| {name} | {r.rule or '–'} {_money(r.rule_mean)} | {r.best} {_money(r.best_mean)} | "
                     f"{bound} | {gap} | {shares} |")
    return head + "\n".join(lines) + "\n"


def _money(value: float) -> str:
    """Whole units from 1,000 up, else two decimals (as the results table writes money)."""
    if not math.isfinite(value):
        return ""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"


def _share(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return "< -100" if value < -100 else f"{value:+.0f}"
