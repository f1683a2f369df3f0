"""One line for every command-line error, e.g.
``error: allocsim simulate: --episodes: must be in 1..1000000 (got 0)``.

Click (under typer) reports a bad option value, a misspelt option or a missing one with a
usage box of five or six lines; ``OneLineErrors`` (the app's command class) prints one line
naming the option, its allowed range and the value given, and exits 2. ``--help`` is untouched.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from allocsim.core.error_text import shorten, shorten_path, show

try:  # typer >= 0.26 carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer on click
    from click import exceptions as click_errors  # type: ignore[no-redef]

_ABORT = (typer.Abort, getattr(click_errors, "Abort", typer.Abort))  # typer's own, or click's (older typer)
#: the longest error line (an echoed value inside it is cut to fit)
LINE_LIMIT = 200
_SENTINEL = object()
#: Top-level modules of the learning extra and of the simulator: a command that needs one of
#: them on an install without it says which install it needs instead of a traceback.
LEARNING_MODULES = frozenset({"torch", "stable_baselines3", "sb3_contrib", "onnx", "tensorboard"})
SIMULATOR_MODULES = frozenset({"simpy", "gymnasium", "numba", "scipy", "pandas", "pyarrow", "matplotlib",
                               "jinja2", "yaml", "filelock"})


def as_typed(message: str, path: Path | None, option: str = "--demand-csv") -> str:
    """A refusal about ``path`` in the user's words: ``--demand-csv history.csv: no such file`` (the
    path shortened to fit 80 columns) when it is missing, else ``message`` with its absolute form
    (what worker processes read) shown as typed, shortened when long."""
    absolute = str(Path(path).resolve()) if path is not None else ""
    if path is None or absolute not in message:
        return message
    if not Path(path).exists():
        room = 80 - len(f"error: {option} : no such file")
        return f"{option} {shorten_path(str(path), room)}: no such file"
    return message.replace(absolute, shorten_path(str(path)))


def _bound(param: Any, which: str) -> Any:
    value = getattr(param, which, None)
    return value if value is not None else getattr(getattr(param, "type", None), which, None)


def allowed_range(param: Any) -> str:
    """``in 1..1000000`` or ``>= 0`` for a bounded number option, else empty."""
    low, high = _bound(param, "min"), _bound(param, "max")
    if low is not None and high is not None:
        return f"in {low}..{high}"
    if low is not None:
        return f">= {low}"
    return f"<= {high}" if high is not None else ""


def _given(err: Exception) -> Any:
    """The value the user gave, when the error carries it (typer validates options with pydantic)."""
    cause = err.__cause__
    if isinstance(cause, ValidationError) and cause.errors():
        return cause.errors()[0].get("input", _SENTINEL)
    return _SENTINEL


def usage_line(err: Any) -> str:
    """The one-line form of a click usage error: command, option, what is wrong, range, value."""
    ctx = getattr(err, "ctx", None)
    command = ctx.command_path if ctx is not None else "allocsim"
    param = getattr(err, "param", None)
    if isinstance(err, click_errors.BadParameter) and not isinstance(err, click_errors.MissingParameter) \
            and param is not None:
        name = " / ".join(getattr(param, "opts", None) or [str(param.name)])
        allowed = allowed_range(param)
        message = " ".join(str(err.message).split()).rstrip(".")
        if allowed:
            whole = isinstance(_bound(param, "min"), int) or isinstance(_bound(param, "max"), int)
            message = f"must be {'a whole number' if whole else 'a number'} {allowed}"
        value = _given(err)
        shown = f" (got {show(value)})" if value is not _SENTINEL else ""
        text = f"{name}: {shorten(message, LINE_LIMIT - 100)}{shown}"
    else:
        text = shorten(" ".join(err.format_message().split()), LINE_LIMIT)
    return f"error: {command}: {text}"


def _exit_one_line(err: Any) -> NoReturn:
    if isinstance(err, click_errors.UsageError):
        typer.echo(usage_line(err), err=True)
    else:
        typer.echo(f"error: {shorten(' '.join(err.format_message().split()), LINE_LIMIT)}", err=True)
    sys.exit(err.exit_code)


def missing_module_line(err: ModuleNotFoundError) -> str | None:
    """The install a command needs when ``err`` is a missing dependency of allocsim, else None."""
    root = (err.name or "").split(".")[0]
    if root in LEARNING_MODULES:
        return (f"error: this command needs the learning extra ({root} is not installed): "
                "pip install 'allocsim[learn]', or in a clone of the repository: pip install -e '.[learn]'")
    if root in SIMULATOR_MODULES:
        return (f"error: this command needs the simulator ({root} is not installed; this looks like a "
                "runtime-only install, which runs `allocsim infer` without --scenario): "
                "pip install allocsim, or in a clone of the repository: pip install -e .")
    return None


class OneLineErrors(TyperGroup):
    """Typer's group with one-line usage errors (exit 2); everything else as typer does it."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError:
            sys.exit(2)  # typer has printed the help already
        except click_errors.ClickException as err:
            _exit_one_line(err)
        except _ABORT:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        except ModuleNotFoundError as err:
            line = missing_module_line(err)
            if line is None:
                raise
            typer.echo(line, err=True)
            sys.exit(2)
        sys.exit(code if isinstance(code, int) else 0)
