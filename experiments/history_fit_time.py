"""How long fitting the history-priced bound's prices takes: the one estimate every message quotes.

``allocsim bound --help`` (``--history``), the fit's own announcement (``waits.fit_history_first``) and
the note of a run that skips the bound for want of prices (``history_store.NO_PRICES``) all say it, so
a user meets one figure, not three. Measured in docs/bounds.md ("Measured", ``allocsim bound
--scenario P --episodes N --workers 1 --json --history``): tiny-dp 40 s, small-dp 3 s, retail-small
25 min (1,488 s at nice 19), seasonal-aging 3,347 s (its 3,300 s budget). Standard library only: the
CLI's help imports it.
"""

from __future__ import annotations


def history_fit_time() -> str:
    """The fit's duration by preset, in words (no leading article: it follows a colon)."""
    return "under a minute on the DP presets, about 25 minutes on retail-small, an hour on seasonal-aging"
