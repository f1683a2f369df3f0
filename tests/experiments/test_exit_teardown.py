"""The console script freezes the garbage collector before the interpreter's teardown (issue 24 README
walk: commands that loaded torch took 3-5 s to exit after their last line, the teardown collecting
torch's objects several times; 0.2 s frozen). Checked with a spy, not a clock."""

from __future__ import annotations

import gc

import pytest

from allocsim.experiments.cli import app


def test_the_collector_is_frozen_after_the_command_has_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    printed_before: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: printed_before.append("Usage" in capsys.readouterr().out))
    with pytest.raises(SystemExit) as leaving:
        app(["simulate", "--help"], prog_name="allocsim")
    assert leaving.value.code == 0
    assert printed_before == [True]


def test_a_refused_input_still_exits_2_with_the_collector_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))
    with pytest.raises(SystemExit) as leaving:
        app(["simulate", "--episodes", "0"], prog_name="allocsim")
    assert leaving.value.code == 2 and frozen == [1]
