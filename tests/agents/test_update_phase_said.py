"""`allocsim train`'s bar says when the network is updating between rollouts (issue 24 README walk: it
stood still 4-5 s per PPO update with nothing said)."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console

from allocsim.agents.callbacks import UPDATING, ProgressCallback
from allocsim.agents.hyperparams import load_hyperparams
from allocsim.agents.training import SeedCycle, TrainConfig, train
from allocsim.experiments.progress import RunProgress

SMALL = """
default:
  n_timesteps: 400
  n_envs: 2
  policy_kwargs: {net_arch: [8], activation_fn: tanh}
  n_steps: 100
  batch_size: 100
  n_epochs: 1
"""


def test_the_update_is_said_after_the_rollout_s_steps_and_cleared_when_the_next_starts() -> None:
    heard: list[str] = []
    callback = ProgressCallback(lambda n: heard.append(f"+{n}"), total=400, on_phase=heard.append)
    callback.model = SimpleNamespace(num_timesteps=0)  # type: ignore[assignment]
    callback.on_rollout_start()
    callback.model.num_timesteps = 200
    callback.on_rollout_end()
    callback.on_rollout_start()
    callback.model.num_timesteps = 400
    callback.on_rollout_end()  # the last rollout: its update is the end of training, not a pause
    callback.on_training_end()
    assert heard == ["+200", UPDATING, "", "+200"]


def test_a_whole_run_says_the_update_between_each_pair_of_rollouts(tmp_path: Path) -> None:
    hp = tmp_path / "hp.yaml"
    hp.write_text(SMALL)
    config = TrainConfig(scenario="tiny-dp", algo="ppo", seed=0,
                         hyperparams=load_hyperparams("ppo", "tiny-dp", hp),
                         seed_cycle=SeedCycle(20_000, 10_000), out=tmp_path / "run")
    heard: list[str] = []
    train(config, on_progress=lambda n: heard.append(f"+{n}"), on_phase=heard.append)
    steps = [h for h in heard if h.startswith("+")]
    assert sum(int(h) for h in steps) == 400
    assert heard.count(UPDATING) == 1 and heard.index(UPDATING) < heard.index("")  # said, then cleared
    assert heard[-1] != UPDATING


def test_the_bar_shows_the_phase_under_it_at_80_columns() -> None:
    terminal = Console(width=80, file=io.StringIO(), force_terminal=True, color_system=None)
    progress = RunProgress(400, "train ppo on tiny-dp", out=terminal, bar_console=terminal)
    with progress:
        progress.advance(200)
        progress.phase(UPDATING)
        assert progress._bar is not None
        shown = Console(width=80, file=io.StringIO(), record=True, color_system=None)
        for part in progress._bar.get_renderables():
            shown.print(part)
        lines = [line.rstrip() for line in shown.export_text().splitlines() if line.strip()]
        assert lines[1] == f"  {UPDATING} ..." and len(lines[1]) <= 80
        progress.phase("")
        assert len(list(progress._bar.get_renderables())) == 1
