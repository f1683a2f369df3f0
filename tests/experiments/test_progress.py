"""Progress: plain periodic lines when the output is not a terminal, a closing summary for bound."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

from allocsim.experiments.cli import app
from allocsim.experiments.progress import RunProgress, duration, rate_text

runner = CliRunner()


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "0 s"), (42, "42 s"), (185, "3 min 05 s"),
                                               (3720, "1 h 02 min")])
def test_duration_reads_like_a_person_writes_it(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(("per_second", "text"), [(812.4, "812 steps/s"), (10.0, "10 steps/s"),
                                                   (0.28, "17 steps/min"), (0.1, "6.0 steps/min"),
                                                   (0.0, "0 steps/s")])
def test_a_slow_rate_is_given_per_minute_not_as_zero_per_second(per_second: float, text: str) -> None:
    """DCL labels about 0.3 states a second: "17 steps/min", never "0 steps/s" beside a moving count."""
    assert rate_text(per_second, "steps") == text


def test_plain_lines_when_not_on_a_terminal() -> None:
    out = io.StringIO()
    with RunProgress(10, "job", out=Console(file=out, width=200), every_s=0.0) as progress:
        progress.advance(4)
        progress.note("validation: +3")
        progress.advance(6)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("job: 4/10 steps (40%), ") and "steps/s" in lines[0]
    assert lines[1].startswith("job: 4/10 steps (40%)") and lines[1].endswith("; validation: +3")
    assert lines[-1].startswith("job: 10/10 steps (100%)") and lines[-1].endswith("; validation: +3")
    assert len(lines) == 3  # the closing line is not repeated when nothing changed


def test_plain_lines_are_spaced_in_time() -> None:
    out = io.StringIO()
    with RunProgress(100, "job", out=Console(file=out, width=200), every_s=3600.0) as progress:
        for _ in range(100):
            progress.advance(1)
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[-1]]  # only the closing line
    assert out.getvalue().startswith("job: 100/100 steps (100%)")


def test_bound_ends_with_a_summary_line() -> None:
    result = runner.invoke(app, ["bound", "--scenario", "tiny-dp", "--episodes", "2"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stdout.split())  # the summary wraps at spaces on a narrow console
    assert re.search(r"tiny-dp: clairvoyant bound on 2 seed\(s\), mean [\d,.]+ \(min [\d,.]+, max [\d,.]+\); "
                     r"penalised bound mean [\d,.]+ \([\d.]+ % (tighter|looser)\); "
                     r"Lagrangian bound mean [\d,.]+; "  # the same on every seed: on the 2 asked for
                     r"lane-penalty bound mean [\d,.]+ \(200 seeds\); history-priced bound 122\.75; "
                     r"tightest: lane-penalty bound 122\.18; "  # history-priced values, 200 seeds
                     r"DP optimum 121\.34; [\d.]+ s$",
                     flat)
    assert "bound tiny-dp: 2/2 seeds (100%)" in result.stdout



def test_the_bar_is_one_line_at_80_columns() -> None:
    """The rate keeps its unit on the bar's line at 80 columns (it fell onto a line of its own)."""
    import time

    terminal = Console(width=80, file=io.StringIO(), force_terminal=True, color_system=None)
    progress = RunProgress(98304, "train ppo on retail-small", out=terminal, bar_console=terminal)
    with progress:
        progress.advance(50000)
        time.sleep(0.2)
        progress.advance(27568)
        assert progress._bar is not None
        table = progress._bar.make_tasks_table(progress._bar.tasks)
    shown = Console(width=80, file=io.StringIO(), record=True, color_system=None)
    shown.print(table)
    lines = [line.rstrip() for line in shown.export_text().splitlines() if line.strip()]
    assert len(lines) == 1 and "77568/98304" in lines[0] and "steps/s" in lines[0], lines


def test_a_long_note_under_the_bar_folds_indented_at_80_columns() -> None:
    """train's residual-start note (93 characters) folds between words with both lines indented two;
    its second line stood at column 0."""
    from allocsim.experiments.progress import BarWithNote

    note = ("residual start: searching the best constant residual action on 400 episodes "
            "(once, before learning; about a minute)")
    terminal = Console(width=80, file=io.StringIO(), record=True, color_system=None)
    bar = BarWithNote(console=terminal, auto_refresh=False)
    bar.note, bar.phase = note, "updating the network"
    for renderable in list(bar.get_renderables())[1:]:
        terminal.print(renderable)
    lines = [line.rstrip() for line in terminal.export_text().splitlines()]
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[0] == "  updating the network ..."
    assert lines[1:] == ["  residual start: searching the best constant residual action on 400 episodes",
                         "  (once, before learning; about a minute)"], lines


def test_the_summary_names_the_seeds_of_a_mean_taken_over_more_than_were_asked_for() -> None:
    """contracts-scarce on 5 seeds: its Lagrangian mean is over seeds 40000..40099 (random there), which
    the line says, else it reads as a mean over the 5 seeds of the table."""
    from allocsim.experiments.tables import bound_summary

    rows = [{"bound": b} for b in (44_920.48, 45_177.18, 45_100.0, 45_050.0, 45_108.04)]
    report = {"scenario": "contracts-scarce", "bounds": rows, "penalised_mean": 45_043.40,
              "tightening_pct": 0.06, "lagrangian_mean": 46_675.62,
              "lagrangian_seeds": {"first": 40_000, "last": 40_099, "count": 100},
              "lane_penalty_mean": None, "history_mean": None, "tightest_bound_kind": "penalised_bound",
              "tightest_bound": 45_043.40, "dp_value": None}
    line = bound_summary(report, 288.4)
    assert "; Lagrangian bound mean 46,675.62 (100 seeds); tightest: penalised bound 45,043.40; 288.4 s" \
        in line
    report["lagrangian_seeds"] = {"first": 40_000, "last": 40_004, "count": 5}
    assert "; Lagrangian bound mean 46,675.62; tightest" in bound_summary(report, 1.0)


class FakeClock:
    """A clock the test sets by hand: no test here waits on real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


DOING = "the Lagrangian, history-priced and lane-penalty bounds where they apply"


def test_a_plain_log_gets_a_heartbeat_while_no_unit_finishes() -> None:
    """Off a terminal, no seed done yet: a line 3 s after the start and 3 s after the last line, saying
    the elapsed time and what the command is doing; nothing in between (it printed nothing at all until
    the first seed finished, 27 s on tiny-dp and minutes on retail-small)."""
    out, clock = io.StringIO(), FakeClock()
    with RunProgress(2, "bound retail-small", unit="seeds", out=Console(file=out, width=200), every_s=10.0,
                     clock=clock, ticking=False) as progress:
        progress.phase(DOING)
        for now in (1.0, 2.5):
            clock.now = now
            progress.tick()
        assert out.getvalue() == ""
        for now in (3.0, 5.0, 6.0):
            clock.now = now
            progress.tick()
        clock.now = 7.0
        progress.advance(1)  # 1 s after a line: no line of its own (every_s 10)
        clock.now = 9.0
        progress.tick()
    assert out.getvalue().splitlines() == [
        f"bound retail-small: 0/2 seeds (0%), 0 seeds/s, elapsed 3 s, ETA -; {DOING} ...",
        f"bound retail-small: 0/2 seeds (0%), 0 seeds/s, elapsed 6 s, ETA -; {DOING} ...",
        # 1 seed in 9 s: 6.7 a minute, 9 s more for the other
        f"bound retail-small: 1/2 seeds (50%), 6.7 seeds/min, elapsed 9 s, ETA 9 s; {DOING} ...",
    ]


def test_units_kept_from_before_do_not_speed_up_the_estimate() -> None:
    """A resumed benchmark counts its 1,400 kept episodes at once, then plays 10 in 20 s: the rate is the
    10 played (30 a minute), not 1,410 in 20 s, so the 220 left take 7 min 20 s, not 3 s."""
    out, clock = io.StringIO(), FakeClock()
    with RunProgress(1630, "benchmark retail-medium", unit="episodes", out=Console(file=out, width=200),
                     every_s=10.0, clock=clock, ticking=False, kept=1400) as progress:
        progress.advance(1400)
        clock.now = 20.0
        progress.advance(10)
    assert out.getvalue().splitlines()[-1] == (
        "benchmark retail-medium: 1,410/1,630 episodes (87%), 30 episodes/min, elapsed 20 s, ETA 7 min 20 s")


def test_the_bar_s_elapsed_time_moves_while_no_unit_finishes() -> None:
    """On a terminal the bar is redrawn on each tick, its elapsed time from the same clock: 0:00:05
    after 5 s with nothing done (it stood at 0:00:00 until the first seed), 0:00:09 in a phase after
    the last unit (rich's elapsed column stops when the task completes)."""
    screen, clock = io.StringIO(), FakeClock()
    terminal = Console(width=80, file=screen, force_terminal=True, color_system=None)
    with RunProgress(2, "bound retail-small", unit="seeds", out=terminal, bar_console=terminal, clock=clock,
                     ticking=False) as progress:
        assert "0:00:05" not in screen.getvalue()
        clock.now = 5.0
        progress.tick()
        assert "0:00:05" in screen.getvalue() and "0/2" in screen.getvalue()
        progress.advance(2)  # every seed done; bound's Lagrangian phase comes after: the clock runs on
        progress.phase(DOING)
        clock.now = 9.0
        progress.tick()
        assert "0:00:09" in screen.getvalue() and "2/2" in screen.getvalue()


def test_benchmark_progress_off_a_terminal_is_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """``allocsim benchmark``/``tune``/``sweep``'s progress is the same ``RunProgress``: off a terminal its
    closing line is on stderr (stdout keeps the table alone)."""
    from allocsim.experiments.cli import _progress

    with _progress(3, "benchmark tiny-dp") as advance:
        advance(3)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("benchmark tiny-dp: 3/3 tasks (100%), ")


def test_the_heartbeat_spaces_out_to_every_s_on_a_long_run() -> None:
    """Every 3 s in the first 30 s; at 100 s elapsed a tenth of it, 10 s (bound's and benchmark's
    every_s), and never more: a long log is not a flood."""
    out, clock = io.StringIO(), FakeClock()
    progress = RunProgress(5, "benchmark x", unit="tasks", out=Console(file=out, width=200), every_s=10.0,
                           clock=clock, ticking=False)
    assert progress.silence() == 3.0
    clock.now = 50.0
    assert progress.silence() == 5.0
    clock.now = 100.0
    assert progress.silence() == 10.0
    clock.now = 1000.0
    assert progress.silence() == 10.0
    progress.tick()  # 1,000 s silent: a line
    for now in (1005.0, 1009.5):
        clock.now = now
        progress.tick()
    clock.now = 1010.0
    progress.tick()
    assert [line.split(", elapsed ")[1] for line in out.getvalue().splitlines()] == [
        "16 min 40 s, ETA -", "16 min 50 s, ETA -"]
