"""Shared by the bad-input corpus (test_bad_input_*.py): the CLI runner and the clean-exit check.

Every malformed input must exit 2 with at most 3 short lines on stderr, no traceback, and a
message naming the field, row, key or option and showing the bad value (shortened).
"""

from __future__ import annotations

from typing import Any

import yaml
from typer.testing import CliRunner

runner = CliRunner()
MAX_LINES = 3
MAX_LINE = 400


def dump(data: Any) -> str:
    """YAML text of ``data`` (libyaml's emitter when installed: the corpus writes a few hundred files)."""
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))


def clean_exit(result: Any, *needles: str) -> str:
    """Exit 2, no traceback, at most 3 short lines on stderr, each needle in them; the text."""
    err = result.stderr
    assert result.exit_code == 2, (result.exit_code, result.output[-2000:])
    assert "Traceback" not in result.output and "Traceback" not in err
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= MAX_LINES, lines[:5]
    assert all(len(line) <= MAX_LINE for line in lines), [len(line) for line in lines]
    for needle in needles:
        assert needle in err, (needle, err)
    return err

