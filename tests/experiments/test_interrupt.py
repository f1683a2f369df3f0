"""Ctrl-C stops a long command within 2 s, keeps what is finished and says how to go on (issue 24,
item 3); worker pools stop with it. A benchmark's resume: test_benchmark_resume.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import typer

from allocsim.core.processes import process_pool
from allocsim.experiments.interrupt import INTERRUPTED, interruptible, same_command


def _sleep(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_a_pool_left_by_an_interrupt_kills_its_workers_at_once() -> None:
    """``ProcessPoolExecutor`` would wait for the 30 s tasks; the pool kills them instead."""
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), process_pool(2) as pool:
        futures = [pool.submit(_sleep, 30.0) for _ in range(4)]
        time.sleep(0.5)
        workers = list(pool._processes.values())
        raise KeyboardInterrupt
    assert time.monotonic() - started < 5.0
    assert workers and not any(w.is_alive() for w in workers)
    assert all(f.cancelled() or f.done() for f in futures)


def test_pool_workers_leave_ctrl_c_to_the_parent() -> None:
    """A SIGINT to the whole process group must not kill a worker mid-task (with a traceback):
    the parent decides, and a task the parent still wants finishes."""
    with process_pool(1) as pool:
        pid = pool.submit(os.getpid).result()
        future = pool.submit(_sleep, 0.5)
        os.kill(pid, signal.SIGINT)
        assert future.result(timeout=10) == pid


def test_interruptible_says_what_was_kept_and_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as leaving, interruptible(lambda: "3 of 9 cells kept in OUT"):
        raise KeyboardInterrupt
    assert leaving.value.exit_code == INTERRUPTED
    assert capsys.readouterr().err == "interrupted: 3 of 9 cells kept in OUT\n"


def test_the_command_to_go_on_repeats_this_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/x/allocsim", "train", "--out", "my run"])
    assert same_command("--resume") == "allocsim train --out 'my run' --resume"
    monkeypatch.setattr(sys, "argv", ["/x/allocsim", "train", "--resume"])
    assert same_command("--resume") == "allocsim train --resume"


def _default_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(args: list[str], cwd: Path, ready: Callable[[], bool],
               timeout: float = 300.0) -> tuple[int, str, float]:
    """Run ``allocsim ARGS`` in its own process group and SIGINT the group once ``ready()``; the exit
    code, the output and the seconds from the signal to the exit."""
    exe = Path(sys.executable).with_name("allocsim")
    # SIGINT back to its default in the child: a test run started in the background (``make test &``
    # from a script) ignores it, an ignored signal stays ignored across exec, and Python then
    # installs no Ctrl-C handler
    proc = subprocess.Popen([str(exe), *args], cwd=cwd, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "200"},
                            preexec_fn=_default_ctrl_c)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    sent = time.monotonic()
    proc.wait(timeout=60)
    seconds = time.monotonic() - sent
    reader.join(timeout=10)
    return proc.returncode, "".join(lines), seconds


@pytest.mark.slow
def test_benchmark_stops_within_2_s_and_keeps_its_finished_episodes(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    started = time.monotonic()
    # 1,000 episodes a policy: minutes of work, so the signal lands mid-run however fast the engine is
    code, text, seconds = _interrupt(["benchmark", "--scenario", "retail-small", "--episodes", "1000",
                                      "--workers", "2", "--no-bound", "--out", str(out)], tmp_path,
                                     ready=lambda: len(list(out.glob("episodes-done/main/*.json"))) >= 3
                                     and time.monotonic() - started > 20)
    assert code == INTERRUPTED, text
    assert seconds < 2.0, seconds
    assert "finished episodes are kept in" in text and text.rstrip().endswith("--resume"), text
    assert (out / "episodes.csv").is_file() and not (out / "run.json").exists()
    refused = subprocess.run([str(Path(sys.executable).with_name("allocsim")), "benchmark", "--scenario",
                              "retail-small", "--episodes", "100", "--out", str(out)], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "pass --resume" in refused.stderr + refused.stdout


def test_a_benchmark_stopped_before_any_episode_leaves_no_empty_folder(tmp_path: Path) -> None:
    from allocsim.experiments.interrupt import benchmark_kept
    from allocsim.experiments.run_folder import LOCK, write_manifest

    out = tmp_path / "bench"
    out.mkdir()
    (out / LOCK).write_text("1\n")
    write_manifest(out, "benchmark", ["episodes-done"], digest="d", complete=False)
    assert "was removed (it was new and empty)" in benchmark_kept(0, 10, out, True)
    assert not out.exists()


@pytest.mark.slow
def test_sweep_keeps_finished_cells_and_a_rerun_skips_them(tmp_path: Path) -> None:
    config = tmp_path / "sw.yaml"
    config.write_text("scenarios: [retail-small]\npolicies: [{name: base-stock}, {name: balanced}]\n"
                      "seeds: {start: 0, count: 100}\n")  # 200 cells: still running when signalled
    out = tmp_path / "sweep"

    def cells() -> int:
        return len(list((out / "cells").glob("*.json")))

    code, text, seconds = _interrupt(["sweep", str(config), "--out", str(out), "--workers", "2"], tmp_path,
                                     ready=lambda: cells() >= 5)
    assert code == INTERRUPTED and seconds < 2.0, (text, seconds)
    assert f"interrupted: {cells()} of 200 cells are finished and kept" in text, text
    again = subprocess.run([str(Path(sys.executable).with_name("allocsim")), "sweep", str(config), "--out",
                            str(out), "--workers", "2"], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert cells() == 200


def test_an_interrupted_tune_names_what_was_saved_and_what_to_tune_again() -> None:
    from allocsim.experiments.interrupt import tune_kept

    message = tune_kept(["base-stock"], ["base-stock", "min-max", "priority"])
    assert message.startswith("best parameters saved for base-stock; the search of min-max was stopped")
    assert "allocsim tune --policy min-max" in message
    assert tune_kept([], ["priority"]).startswith("no parameters saved; the search of priority")


def test_a_benchmark_stopped_while_compiling_says_so(tmp_path: Path) -> None:
    """Before the benchmark's module loads (the compile comes first) the step count is not known yet."""
    from allocsim.experiments.interrupt import benchmark_kept

    assert benchmark_kept(0, 0, tmp_path / "nowhere", False).startswith("stopped while preparing; no episode")
