"""The remainder rule of the whole-unit roundings (``allocsim.core.unit_decode.raise_smallest``).

It selects (quickselect) the entries a stable sort of the keys would put first, instead of sorting:
differential tests against ``numpy.argsort(kind="stable")``, interpreted (the ONNX runtime) and
compiled (the engine), with many ties (keys drawn from a few values) and rows up to 130 long.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from allocsim.core import unit_decode
from allocsim.envs.engine.decide import largest_remainder_row, raise_smallest, round_to_total


def stable_reference(out: np.ndarray, values: np.ndarray, scale: float, short: int) -> np.ndarray:
    """``out`` plus one unit on the first ``short`` entries of a stable sort of ``out - scale * values``."""
    expected = out.copy()
    if short > 0:
        expected[np.argsort(out - scale * values, kind="stable")[:short]] += 1
    return expected


@settings(max_examples=300, deadline=None)
@given(
    width=st.integers(1, 130),
    levels=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1.0, 3.0, 7.0, 250.0]),
    data=st.data(),
)
def test_selection_is_the_stable_sort(width: int, levels: int, seed: int, scale: float,
                                      data: st.DataObject) -> None:
    rng = np.random.default_rng(seed)
    out = rng.integers(0, 4, width).astype(np.int64)
    values = rng.integers(0, levels, width) / levels  # few distinct keys: ties everywhere
    short = data.draw(st.integers(0, width))
    expected = stable_reference(out, values, scale, short)
    for select in (unit_decode.raise_smallest, raise_smallest):
        got, order = out.copy(), np.zeros(width, dtype=np.int64)
        select(got, values, scale, short, order)
        np.testing.assert_array_equal(got, expected)


def test_hand_computed_split() -> None:
    """10 units over (0.25, 0.25, 0.25, 0.25): floors 2 each, remainders all 0.5, ties to the lower
    index: the first two entries get the 2 units left."""
    for split in (unit_decode.largest_remainder_row, largest_remainder_row):
        out, order = np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.int64)
        split(10, np.full(4, 0.25), out, order)
        assert out.tolist() == [3, 3, 2, 2]
    for rounding in (unit_decode.round_to_total, round_to_total):
        out, order = np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.int64)
        rounding(np.array([1.2, 2.7, 3.1]), 7, out, order)  # floors 1, 2, 3; one unit to the .7
        assert out.tolist() == [1, 3, 3]


@settings(max_examples=200, deadline=None)
@given(width=st.integers(2, 120), total=st.integers(0, 5000), seed=st.integers(0, 2**32 - 1))
def test_split_matches_the_sorting_rule(width: int, total: int, seed: int) -> None:
    """``largest_remainder_row`` on softmax-like fractions: the floors plus the stable-sort rule."""
    rng = np.random.default_rng(seed)
    weights = rng.random(width) ** 3 + 1e-9
    fractions = weights / weights.sum()
    floors = np.floor(total * fractions).astype(np.int64)
    expected = stable_reference(floors, fractions, float(total), int(total - floors.sum()))
    out, order = np.zeros(width, dtype=np.int64), np.zeros(width, dtype=np.int64)
    largest_remainder_row(total, fractions, out, order)
    np.testing.assert_array_equal(out, expected)
    assert out.sum() == total
