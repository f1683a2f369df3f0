"""Training callbacks: progress, KPIs and reward components to TensorBoard, evaluation, checkpoints."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from allocsim.agents.policy import LearnedPolicy, ObsNormalizer

#: ``evaluator(make_policy) -> {metric: value}``: plays fresh predictors from ``make_policy()``
#: (e.g. on validation seeds against the best rule) and returns what to log.
Evaluator = Callable[[Callable[[], LearnedPolicy]], dict[str, float]]


#: What the bar says while the network learns from a rollout (no steps move then: 4-5 s under load).
UPDATING = "updating the policy network on the last rollout"


class ProgressCallback(BaseCallback):
    """Reports the run's timesteps to ``on_progress(n_new)``, at most every ``every_s`` seconds: on a
    resumed run the steps done before come first, and the sum never passes ``total`` (the last
    rollout may overshoot the budget), so a bar of ``total`` ends full, never past it.

    ``on_phase`` hears ``UPDATING`` when a rollout ends (the update that follows moves no step) and
    ``""`` when the next rollout starts, so the pause is said, not silent."""

    def __init__(self, on_progress: Callable[[int], None], total: int, every_s: float = 0.25,
                 on_phase: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.on_progress = on_progress
        self.on_phase = on_phase
        self.total = total
        self.every_s = every_s
        self._reported = 0
        self._last = 0.0
        self._updating = False

    def _report(self) -> None:
        n = min(self.model.num_timesteps, self.total) - self._reported
        if n > 0:
            self.on_progress(n)
            self._reported += n
        self._last = time.monotonic()

    def _on_training_start(self) -> None:
        self._report()

    def _on_step(self) -> bool:
        if time.monotonic() - self._last >= self.every_s:
            self._report()
        return True

    def _on_rollout_start(self) -> None:
        if self._updating and self.on_phase is not None:
            self._updating = False
            self.on_phase("")

    def _on_rollout_end(self) -> None:
        self._report()
        if self.on_phase is not None and self._reported < self.total:  # the last rollout's update is short
            self._updating = True
            self.on_phase(UPDATING)

    def _on_training_end(self) -> None:
        self._report()
        self._on_rollout_start()


class EpisodeKpiCallback(BaseCallback):
    """Logs each finished episode's KPIs (``episode/<kpi>``) and summed reward components (``reward/<c>``).

    Reads ``info["reward_components"]`` every step and ``info["episode_kpis"]`` at an
    episode's end; keeps the episodes since the last ``take()`` for the metrics CSV.
    """

    def __init__(self) -> None:
        super().__init__()
        self._sums: dict[int, dict[str, float]] = {}
        self.finished: list[dict[str, float]] = []

    def _on_step(self) -> bool:
        for i, info in enumerate(self.locals.get("infos", ())):
            sums = self._sums.setdefault(i, {})
            for key, value in info.get("reward_components", {}).items():
                sums[key] = sums.get(key, 0.0) + float(value)
            kpis = info.get("episode_kpis")
            if kpis is None:
                continue
            sums = info.get("episode_reward_components", sums)  # the native vector env sums them itself
            scalars = {
                k: float(v) for k, v in kpis.items() if isinstance(v, int | float) and math.isfinite(float(v))
            }
            for key, value in scalars.items():
                self.logger.record_mean(f"episode/{key}", value)
            for key, value in sums.items():
                self.logger.record_mean(f"reward/{key}", value)
            self.finished.append(scalars)
            self._sums[i] = {}
        return True

    def take(self) -> list[dict[str, float]]:
        out, self.finished = self.finished, []
        return out


class CheckpointCallback(BaseCallback):
    """Every ``every`` timesteps (at a rollout start, so every collected step has been learned from):
    evaluate, log, save the checkpoint via ``save()`` and append a metrics row via ``record(row)``.
    """

    def __init__(
        self,
        every: int,
        save: Callable[[], None],
        record: Callable[[dict[str, Any]], None],
        kpis: EpisodeKpiCallback,
        evaluator: Evaluator | None = None,
        name: str = "learned",
        recurrent: bool = False,
        at_start: bool = False,
    ) -> None:
        super().__init__()
        self.every = max(1, every)
        self.save = save
        self.record = record
        self.kpis = kpis
        self.evaluator = evaluator
        self.name = name
        self.recurrent = recurrent
        self.at_start = at_start  # also checkpoint before the first rollout (e.g. a warm-started policy)
        self._next = 0
        self._since = (0, 0.0)

    def _on_training_start(self) -> None:
        self._next = self.model.num_timesteps + (0 if self.at_start else self.every)
        self._since = (self.model.num_timesteps, time.perf_counter())

    def _on_rollout_start(self) -> None:
        if self.model.num_timesteps >= self._next:
            self.checkpoint()
            self._next = self.model.num_timesteps + self.every

    def _on_step(self) -> bool:
        return True

    def current_policy(self) -> LearnedPolicy:
        normalizer = ObsNormalizer.of(self.model.get_vec_normalize_env())
        return LearnedPolicy(self.model, normalizer, name=self.name, recurrent=self.recurrent)

    def checkpoint(self) -> dict[str, Any]:
        """Evaluate (if an evaluator is set), save, and record one metrics row; the row."""
        steps, started = self._since
        now = time.perf_counter()
        row: dict[str, Any] = {
            "timesteps": self.model.num_timesteps,
            "steps_per_second": round((self.model.num_timesteps - steps) / max(now - started, 1e-9), 1),
        }
        episodes = self.kpis.take()
        row["train_episodes"] = len(episodes)
        for key in ("profit", "fill_rate"):
            values = [e[key] for e in episodes if key in e]
            row[f"train_{key}"] = float(np.mean(values)) if values else float("nan")
        if self.evaluator is not None:
            policy = self.current_policy()
            metrics = self.evaluator(policy.fresh)
            for key, value in metrics.items():
                self.logger.record(f"eval/{key}", value)
            row.update(metrics)
        self.logger.record("time/steps_per_second_window", row["steps_per_second"])
        self.save()
        self.record(row)
        self._since = (self.model.num_timesteps, time.perf_counter())
        return row
