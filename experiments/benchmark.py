"""``allocsim benchmark``: every rule set on common random numbers, tables, plots and an HTML report.

Rules come from the registry (``allocsim.baselines.registry``), each with tuned
parameters where ``<tuned-dir>/<scenario>/<policy>.json`` exists (``allocsim tune``)
or the package ships them for this exact scenario (``allocsim.baselines.tuned_params``),
and its defaults otherwise; ``run.json`` names the source of each. Output, written file by file
with temp file + ``os.replace``, to the run directory:

======================  ================================================================
``episodes.parquet``    one row per policy x seed, flat KPI columns (breakdowns as
``episodes.csv``        ``by_location.<name>.<kpi>`` / ``by_channel.<name>.<kpi>``)
``summary.csv``         per policy: ``<kpi>_mean`` and ``<kpi>_ci95``, ranked by profit,
                        paired profit difference against the best rule with its CI,
                        and the share of the best-rule-to-bound gap it closes
``summary.md``          the same as readable tables
``paired.csv``          per policy x KPI: paired difference to the best with its 95% CI
``kpi_differences.png`` those paired differences, serious rules zoomed in
``service_margin.png``  paired Δ fill rate against paired Δ profit, with both CIs
``over_time.png``       fill rate, lost sales, DC stock vs supplier receipts and working
                        capital of the leading rules: median and band over traced seeds
``timeseries.csv``      per period x location of the traced episodes (stock value, units)
``timeseries_network.csv`` per period of the traced episodes: the series of ``over_time.png``
``allocation_plan.csv`` per traced episode: units shipped per period, location and SKU
``stock_by_location_sku.csv`` per traced episode, location and SKU: stock, its age, demand, shipped
``run.json``            settings, seeds and parameters of the run
``report.html``         one self-contained page (tables + embedded plots), opens offline
======================  ================================================================

Learned policies (``models``, from ``allocsim benchmark --model RUN_DIR``) join the table
as rows ``<algo>:<run name>``; they are never "the best tuned rule" the gaps are measured from
(``registry.best_tuned_rule``: every rule set with parameters and, where played, ``sp-mpc``).

Bounds (``experiments.bounds``): unless ``bound=False`` or a warm-up is set, the
clairvoyant LP bound and the penalised bound are solved once per seed (not per
policy) and every episode row gets ``bound``, ``gap_to_bound_pct``,
``penalised_bound`` and ``gap_to_reference_pct`` (against the gap reference:
the DP optimum where it exists, else the seed's tightest bound); on scenarios the exact
DP solves (tiny-dp) also ``gap_to_optimal_pct``. The Lagrangian bound is solved on the same seeds
where it applies, the history-priced bound (``history_store``: one exact value) where its prices are
shipped with the package or cached (never fitted here: ``run.json``'s ``history_bound`` says why it is
missing), and ``tightest_bound`` is the tightest of them per seed-mean
(``bounds.tightest_per_seed``): the bound side of the reference interval
(``experiments.reference_interval``; ``run.json``'s ``reference_interval``, ``summary.csv``'s
``best_gap_closed_pct``). ``dp``, ``rollout`` and ``sp-mpc`` run only when named in ``policies``;
``dp`` and ``rollout`` are never the best tuned rule the gaps are measured from, a played ``sp-mpc`` is
when its mean profit is the highest of the tuned rules.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from allocsim.baselines.registry import best_tuned_rule
from allocsim.baselines.tuned_params import DEFAULT_TUNED_DIR
from allocsim.core.atomic_files import atomic_write, write_bytes, write_text
from allocsim.envs.history_resample import describe
from allocsim.envs.scenario import Scenario
from allocsim.experiments.aggregation_gap import (
    gap_frame,
    has_holdbacks,
    holdback_frame,
    in_mode,
    without_holdbacks,
)
from allocsim.experiments.bounds import (
    attach_gaps,
    dp_value,
    gap_closed,
    seed_lagrangian,
    seed_penalised,
    tightest_per_seed,
)
from allocsim.experiments.comparisons import COMPARED, paired_frame
from allocsim.experiments.episode_store import EpisodeStore
from allocsim.experiments.evaluation import PolicySpec, Row, evaluate
from allocsim.experiments.history_store import history_record, seed_history
from allocsim.experiments.kpis import has_contracts
from allocsim.experiments.policy_specs import default_out as default_out  # re-exported: the benchmark API
from allocsim.experiments.policy_specs import effective_params as effective_params
from allocsim.experiments.policy_specs import rule_specs as rule_specs
from allocsim.experiments.policy_specs import source_lines as source_lines
from allocsim.experiments.policy_specs import with_demand_csv as with_demand_csv
from allocsim.experiments.recommendation import traced_policies
from allocsim.experiments.reference_interval import profits_by_seed, reference_interval, share_columns
from allocsim.experiments.report import RunInfo, report_html, run_record, summary_markdown
from allocsim.experiments.report_stock import allocation_plan, per_episode
from allocsim.experiments.summary import episodes_frame, summary_frame
from allocsim.experiments.traces import Trace, trace_episode

#: The report's figures, file name -> title (``figures``; ``rerender`` reads them back).
FIGURE_TITLES = {"kpi_differences.png": "Differences to the best policy, paired by seed",
                 "service_margin.png": "Service against margin",
                 "over_time.png": "The leading rules over time"}
DIFF_KPIS = ("profit", "fill_rate", "lost_sales_units", "holding_cost", "avg_inventory_value", "avg_age")
TRACED = 3  # leading policies whose per-period series are plotted
TRACED_SEEDS = 10  # seeds traced per policy (the first of the run): a trace costs one more episode


@dataclass
class BenchmarkResult:
    """Rows, tables and figures of one benchmark run."""

    rows: list[Row]
    summary: pd.DataFrame
    trace: pd.DataFrame  # period x location of the traced episodes
    info: RunInfo
    images: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    network: pd.DataFrame = field(default_factory=pd.DataFrame)  # period of the traced episodes
    paired: pd.DataFrame = field(default_factory=pd.DataFrame)  # policy x KPI paired differences
    gap: pd.DataFrame = field(default_factory=pd.DataFrame)  # events mode: policy x KPI, both modes
    holdback: pd.DataFrame = field(default_factory=pd.DataFrame)  # with holdbacks: policy x KPI, with/without
    stock: pd.DataFrame = field(default_factory=pd.DataFrame)  # traced episodes: period x location x SKU


def without_holdbacks_playable(scenario: Scenario, specs: Sequence[PolicySpec],
                               models: Sequence[PolicySpec]) -> list[PolicySpec]:
    """The policies the no-holdback pass plays: all but learned ones with a holdback block
    (``timing.holdback_decision``), which have no env without holdbacks."""
    decided = scenario.timing.holdback_decision is not None
    return [s for s in specs if not (decided and s in models)]


def bound_count(scenario: Scenario, bounded: bool, episodes: int) -> int:
    """Progress units of the bounds: a penalised bound per seed, and a Lagrangian one where it applies."""
    if not bounded:
        return 0
    from allocsim.baselines.lagrangian_bound import refusal
    from allocsim.experiments.evaluation import env_for

    env = env_for(scenario)
    return episodes * (1 + (refusal(env.network, env.profile) is None))


def progress_total(scenario: Scenario, specs: Sequence[PolicySpec], models: Sequence[PolicySpec],
                   episodes: int, bounded: bool) -> int:
    """How many ``on_done`` counts ``run_benchmark`` gives for ``specs`` (rules and ``models``) on
    ``episodes`` seeds: the one total of the CLI's bar and the results pipeline's log lines."""
    passes = 1 + (scenario.timing.mode == "events")  # + twins in the aggregated mode
    evaluated = len(specs) * episodes * passes
    if has_holdbacks(scenario):  # + the same episodes without holdbacks
        evaluated += len(without_holdbacks_playable(scenario, specs, models)) * episodes
    traced = min(TRACED, len(specs)) * min(TRACED_SEEDS, episodes)
    return evaluated + traced + bound_count(scenario, bounded, episodes)


def run_benchmark(
    scenario: Scenario,
    seeds: Sequence[int],
    *,
    policies: Sequence[str] | None = None,
    tuned_dir: Path | None = DEFAULT_TUNED_DIR,
    n_workers: int = 1,
    warm_up: int = 0,
    on_done: Callable[[int], None] | None = None,
    bound: bool = True,
    models: Sequence[PolicySpec] = (),
    store: EpisodeStore | None = None,
    before_figures: Callable[[], None] | None = None,
) -> BenchmarkResult:
    """Evaluate the rules on ``seeds``, bound each seed, summarise, trace the two best and draw the figures.
    In events mode the same episodes also run in aggregated mode (the aggregation gap); with
    holdbacks, also without them (what they are worth).

    ``on_done`` receives counts as they finish: ``len(policies) x len(seeds)``
    evaluation episodes (once more in events mode, once more with holdbacks), one per bounded
    seed (when bounds are on; again for the Lagrangian bound where it applies), then one per traced
    episode (each traced rule's first ``TRACED_SEEDS`` seeds).
    Bounds are skipped with a warm-up (they cover the whole horizon). With ``store`` (the run
    folder's, ``allocsim.experiments.episode_store``) every finished episode is kept there as it
    finishes and the ones it already holds are not played again (Ctrl-C, then ``--resume``).
    """
    started = time.perf_counter()
    specs, sources = rule_specs(scenario, policies, tuned_dir)
    specs += list(models)  # learned policies (``evaluation.learned_spec``), never "the best tuned rule"
    sources.update({m.label: {"params": {}, "source": f"model: {m.model}"} for m in models})
    rows = evaluate(scenario, specs, seeds, n_workers=n_workers, warm_up=warm_up, on_done=on_done,
                    store=store)
    gap = pd.DataFrame()
    if scenario.timing.mode == "events":  # the aggregation gap: the same episodes in aggregated mode
        twins = evaluate(in_mode(scenario, "aggregated"), specs, seeds, n_workers=n_workers, warm_up=warm_up,
                         on_done=on_done, store=store and store.pass_("aggregated"))
        gap = gap_frame(rows, twins)
    holdback = pd.DataFrame()
    if has_holdbacks(scenario):  # what they are worth: the same episodes without them
        playable = without_holdbacks_playable(scenario, specs, models)
        free = evaluate(without_holdbacks(scenario), playable, seeds, n_workers=n_workers, warm_up=warm_up,
                        on_done=on_done, store=store and store.pass_("no-holdback"))
        labels = {s.label for s in playable}
        holdback = holdback_frame([r for r in rows if r["policy"] in labels], free)
    bound_mean = penalised_mean = optimum = history_bound = None
    tight_kind, tight = None, None
    if bound and not warm_up:
        _, bounds = seed_penalised(scenario, seeds, n_workers, on_done)
        optimum = dp_value(scenario).value
        penalised = {b.seed: b.penalised for b in bounds}
        lagrangian = seed_lagrangian(scenario, seeds, n_workers, on_done)[0]
        history, history_why = seed_history(scenario, seeds, fit=False)  # shipped or cached prices only
        history_bound = history_record(scenario, history, history_why)
        tight_kind, tight = tightest_per_seed(penalised, lagrangian, history)
        # per seed (so the results table can rebuild the interval from episodes.csv) and the gap columns
        clairvoyant = {b.seed: b.clairvoyant.bound for b in bounds}
        attach_gaps(rows, clairvoyant, optimum, penalised, tight, tight_kind)
        bound_mean = sum(b.clairvoyant.bound for b in bounds) / len(bounds)
        penalised_mean = sum(b.penalised for b in bounds) / len(bounds)
    profits = profits_by_seed(rows)
    rule = best_tuned_rule(profits.mean().to_dict(), {s.label: s.name for s in specs if not s.model})
    interval = reference_interval(profits, rule, optimum, tight, tight_kind)
    summary = share_columns(gap_closed(summary_frame(rows), rule, optimum, tight_kind), interval)
    by_label = {s.label: s for s in specs}
    traced = Trace()
    leading = traced_policies(summary, rows, TRACED)  # the recommended policy among them
    for label in leading:
        for seed in seeds[:TRACED_SEEDS]:
            traced.extend(trace_episode(scenario, by_label[label], seed))
            if on_done:  # per traced episode: the bar moves every second or two, not every ten episodes
                on_done(1)
    network = pd.DataFrame(traced.network)
    paired = paired_frame(rows, str(summary["reference"].iloc[0]), COMPARED)
    currency = scenario.currency
    info = RunInfo(
        scenario=scenario.name,
        description=" ".join(scenario.description.split()),
        seeds=list(seeds),
        workers=n_workers,
        warm_up=warm_up,
        wall_seconds=time.perf_counter() - started,
        created=datetime.now().isoformat(timespec="seconds"),
        demand_csv=scenario.demand.csv,
        currency=currency,
        timing=scenario.timing.mode,
        demand_resample=(describe(scenario.demand.resample, scenario.demand.block_length)
                         if scenario.demand.csv else None),
        params=sources,
        bound_mean=bound_mean,
        penalised_mean=penalised_mean,
        dp_value=optimum,
        interval=interval,
        periods=scenario.periods - warm_up,
        history_bound=history_bound,
        contracts=has_contracts(scenario),
    )
    if before_figures is not None:  # seconds of plotting after the last episode: the caller says so
        before_figures()
    images = figures(summary, paired, network, leading, currency)
    info = RunInfo(**{**info.__dict__, "wall_seconds": time.perf_counter() - started})
    return BenchmarkResult(rows, summary, pd.DataFrame(traced.locations), info, images, network, paired, gap,
                           holdback, pd.DataFrame(traced.stock))


def figures(summary: pd.DataFrame, paired: pd.DataFrame, network: pd.DataFrame, leading: Sequence[str],
            currency: str) -> dict[str, tuple[str, bytes]]:
    """File name -> (title, PNG) of the report's figures (matplotlib is imported here, after the caller
    said it is writing the report: 1-2 s that the command's start no longer pays)."""
    from allocsim.experiments import plots, plots_time

    pngs = {
        "kpi_differences.png": plots.paired_differences(paired, summary, DIFF_KPIS, currency),
        "service_margin.png": plots.service_margin(summary, paired, currency),
        "over_time.png": plots_time.over_time(network, leading, currency),
    }
    return {name: (FIGURE_TITLES[name], png) for name, png in pngs.items()}


def write_outputs(result: BenchmarkResult, out: Path) -> list[Path]:
    """Write every file of the run to ``out`` (created if needed), each atomically; their paths."""
    out = Path(out)
    episodes = episodes_frame(result.rows)
    written = [
        atomic_write(out / "episodes.parquet", lambda p: episodes.to_parquet(p, index=False)),
        atomic_write(out / "episodes.csv", lambda p: episodes.to_csv(p, index=False)),
        atomic_write(out / "summary.csv", lambda p: result.summary.to_csv(p, index=False)),
        write_text(out / "summary.md", summary_markdown(result.summary, result.info, result.rows)),
        atomic_write(out / "paired.csv", lambda p: result.paired.to_csv(p, index=False)),
        atomic_write(out / "timeseries.csv", lambda p: result.trace.to_csv(p, index=False)),
        atomic_write(out / "timeseries_network.csv", lambda p: result.network.to_csv(p, index=False)),
        atomic_write(out / "allocation_plan.csv",
                     lambda p: allocation_plan(result.stock).to_csv(p, index=False)),
        atomic_write(out / "stock_by_location_sku.csv",
                     lambda p: per_episode(result.stock).to_csv(p, index=False)),
    ]
    if not result.gap.empty:
        written.append(atomic_write(out / "aggregation_gap.csv", lambda p: result.gap.to_csv(p, index=False)))
    if not result.holdback.empty:
        written.append(atomic_write(out / "holdback_value.csv",
                                    lambda p: result.holdback.to_csv(p, index=False)))
    written += [write_bytes(out / name, png) for name, (_, png) in result.images.items()]
    files = [p.name for p in written] + ["report.html", "run.json"]
    page = report_html(result.summary, result.info, result.images, result.paired, result.rows, result.gap,
                       result.holdback, result.stock, files)
    written.append(write_text(out / "report.html", page))
    run = json.dumps(run_record(result.info), indent=2) + "\n"
    written.append(write_text(out / "run.json", run))  # last: the run is whole
    return written


def write_partial(store: EpisodeStore, labels: Sequence[str], seeds: Sequence[int], out: Path) -> list[Path]:
    """What an interrupted benchmark has finished, as files in ``out``: ``episodes.csv`` of every
    finished episode (of the run itself, not its twins) and ``summary.csv`` over the seeds every
    policy finished (paired comparisons need the same seeds); none when nothing finished."""
    rows = store.rows(labels, seeds)
    if not rows:
        return []
    written = [atomic_write(out / "episodes.csv", lambda p: episodes_frame(rows).to_csv(p, index=False))]
    finished = {(r["policy"], int(r["seed"])) for r in rows}
    common = [s for s in seeds if all((label, s) in finished for label in labels)]
    if common:
        summary = summary_frame([r for r in rows if int(r["seed"]) in set(common)])
        written.append(atomic_write(out / "summary.csv", lambda p: summary.to_csv(p, index=False)))
    return written
