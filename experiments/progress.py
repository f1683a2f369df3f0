"""Progress of a long command: a live bar on a terminal, plain periodic lines in a log.

On a terminal (stdout and stderr both), a rich bar on stderr shows done/total, rate,
time left and a status note (e.g. the latest validation result of ``train``); it is redrawn
every ``REDRAW_S`` seconds, so its elapsed time ticks while no unit finishes (a seed's bound
can take half a minute). When stdout is not a terminal (a pipe, a file, CI), plain lines go to
stdout instead, at most every ``every_s`` seconds as units finish and whenever the note changes,
and a heartbeat line (the same line: count, elapsed, what it is doing) once the log has been
silent for ``HEARTBEAT_S`` seconds (the house standard: no wait over 3 s is silent), a tenth of the
elapsed time later on, ``every_s`` at most: every 3 s in the first half minute, then spaced out
to ``every_s`` (10 s for ``bound`` and ``benchmark`` from 100 s on), so a long run's log stays
readable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from types import TracebackType

from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

from allocsim.core.heartbeat import FIRST, pause

#: Seconds a plain log may go without a line before the heartbeat prints one.
HEARTBEAT_S = FIRST
#: Seconds between redraws of the bar on a terminal (its elapsed time ticks between units).
REDRAW_S = 1.0


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``: a short human duration."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def rate_text(per_second: float, unit: str) -> str:
    """``812 steps/s``; under 10 a second per minute (``17 steps/min``), so a slow job never reads
    as ``0 steps/s`` (DCL labels a few states a second)."""
    if per_second >= 10.0 or per_second <= 0.0:
        return f"{per_second:,.0f} {unit}/s"
    per_minute = 60.0 * per_second
    return f"{per_minute:,.0f} {unit}/min" if per_minute >= 10.0 else f"{per_minute:.1f} {unit}/min"


class RateColumn(ProgressColumn):
    """``812 steps/s``: the task's recent speed in its own unit."""

    def __init__(self, unit: str) -> None:
        # never folded: at 80 columns the bar gives way, not "steps/s" (it fell onto a line of its own)
        super().__init__(table_column=Column(no_wrap=True, min_width=len(f"88,888 {unit}/s")))
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else rate_text(speed, self.unit), style="progress.data.speed")


class RunningTimeColumn(TimeElapsedColumn):
    """``0:00:42``: time since the bar started, still running once every unit is done (rich's own column
    stops there, and ``bound``'s Lagrangian and lane-penalty phase comes after its last seed)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed
        if elapsed is None:
            return Text("-:--:--", style="progress.elapsed")
        return Text(str(timedelta(seconds=max(0, int(elapsed)))), style="progress.elapsed")


class BarWithNote(Progress):
    """A progress bar with a status line under it (so a long note never squeezes the bar), and a
    phase line while the bar cannot move (e.g. a network update between rollouts)."""

    note: str = ""
    phase: str = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        # indented as blocks: a line too long for the terminal folds between words under its start
        # (train's "residual start: ... (once, before learning; about a minute)" fell to column 0)
        if self.phase:
            yield Padding(Text(f"{self.phase} ...", style="bold"), (0, 0, 0, 2), expand=False)
        if self.note:
            yield Padding(Text(self.note, style="dim"), (0, 0, 0, 2), expand=False)


class RunProgress:
    """``with RunProgress(total, what) as progress: progress.advance(n); progress.note(text)``.

    Inside the ``with``, a daemon thread calls ``tick`` every ``REDRAW_S`` seconds (``ticking``; a
    test passes ``ticking=False`` and a fake ``clock`` and calls ``tick`` itself)."""

    def __init__(self, total: int, what: str, unit: str = "steps", *, out: Console | None = None,
                 bar_console: Console | None = None, every_s: float = 30.0, beat_s: float = HEARTBEAT_S,
                 clock: Callable[[], float] = time.monotonic, ticking: bool = True,
                 transient: bool = False, kept: int = 0) -> None:
        self.total, self.what, self.unit, self.every_s, self.beat_s = total, what, unit, every_s, beat_s
        self.kept = kept  # units a resumed run counts at once (kept from before): not in the rate
        self.out = out or Console()
        bar_console = bar_console or Console(stderr=True)
        self.plain = not (self.out.is_terminal and bar_console.is_terminal)
        self.done, self.status, self.doing = 0, "", ""
        self._printed: tuple[int, str] | None = None  # (done, status) of the last plain line
        self._clock, self._ticking = clock, ticking
        self._started = self._last_line = clock()
        self._lock = threading.RLock()  # the ticking thread and the caller both print
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar = None if self.plain else BarWithNote(
            TextColumn("[bold]{task.description}"), BarColumn(),
            MofNCompleteColumn(table_column=Column(no_wrap=True)), RateColumn(unit),
            RunningTimeColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=bar_console, auto_refresh=False, transient=transient, get_time=clock,
        )
        self._task = None if self._bar is None else self._bar.add_task(what, total=total)

    def __enter__(self) -> RunProgress:
        if self._bar is not None:
            self._bar.start()
        if self._ticking:
            self._thread = threading.Thread(target=self._tick_loop, name="allocsim-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
            elif kind is None and self._printed != (self.done, self.status):
                self._line()

    def _tick_loop(self) -> None:
        while not self._stop.wait(min(REDRAW_S, self.beat_s)):
            self.tick()

    def silence(self) -> float:
        """Seconds a plain log may now go without a line: ``beat_s``, a tenth of the elapsed time later
        on, never more than ``every_s`` (nor less than ``beat_s``): ``core.heartbeat.pause``."""
        return pause(self._clock() - self._started, self.beat_s, self.every_s)

    def tick(self) -> None:
        """Redraw the bar (its elapsed time moves), or off a terminal print the heartbeat line when the
        log has been silent for ``silence()`` seconds."""
        with self._lock:
            if self._bar is not None:
                self._bar.refresh()
            elif self._clock() - self._last_line >= self.silence():
                self._line()

    def advance(self, n: int) -> None:
        """``n`` more units done."""
        with self._lock:
            self.done += n
            if self._bar is not None and self._task is not None:
                self._bar.advance(self._task, n)
                self._bar.refresh()
            elif self._clock() - self._last_line >= self.every_s:
                self._line()

    def note(self, text: str) -> None:
        """Show ``text`` next to the bar (or on the next plain line, printed now)."""
        with self._lock:
            self.status = text
            if self._bar is not None:
                self._bar.note = text
                self._bar.refresh()
            else:
                self._line()

    def phase(self, text: str) -> None:
        """Say ``text`` under the bar while it cannot move; ``""`` when it moves again. Not printed as a
        line of its own (a phase every rollout would flood a log): the plain lines say it after the
        count, as what the command is doing."""
        with self._lock:
            self.doing = text
            if self._bar is not None and self._bar.phase != text:
                self._bar.phase = text
                self._bar.refresh()

    def _line(self) -> None:
        elapsed = self._clock() - self._started
        rate = max(self.done - self.kept, 0) / elapsed if elapsed > 0 else 0.0
        eta = duration((self.total - self.done) / rate) if rate > 0 and self.done < self.total else "-"
        share = 100.0 * self.done / self.total if self.total else 100.0
        line = (f"{self.what}: {self.done:,}/{self.total:,} {self.unit} ({share:.0f}%), "
                f"{rate_text(rate, self.unit)}, elapsed {duration(elapsed)}, ETA {eta}")
        line += f"; {self.doing} ..." if self.doing else ""
        self.out.print(line + (f"; {self.status}" if self.status else ""), highlight=False, soft_wrap=True)
        self._last_line = self._clock()
        self._printed = (self.done, self.status)
