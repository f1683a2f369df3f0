"""The action checks (``allocsim.envs.actions.validate_flat``/``validate_rows``) run as one compiled pass:
they must clip exactly as ``numpy.clip`` does and name the first NaN or infinite entry, whatever the
float type the policy hands over."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from allocsim.envs.actions import validate_flat, validate_rows

FINITE = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(values=arrays(np.float32, st.integers(1, 40), elements=FINITE), wide=st.booleans())
def test_clips_as_numpy_does(values: np.ndarray, wide: bool) -> None:
    action = values.astype(np.float64) if wide else values
    got = validate_flat(action, values.shape[0])
    expected = np.clip(values.astype(np.float64), -1.0, 1.0)
    assert got.dtype == np.float64 and np.array_equal(got, expected)
    assert np.array_equal(np.signbit(got), np.signbit(expected))  # -0.0 stays -0.0
    assert got is not action and np.array_equal(action, values.astype(action.dtype))  # input untouched


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_names_the_first_bad_entry(bad: float) -> None:
    action = np.array([0.5, 2.0, bad, np.nan], dtype=np.float32)
    with pytest.raises(ValueError, match=rf"^action entry 2 is {bad}; actions must be finite$"):
        validate_flat(action, 4)
    rows = np.zeros((3, 4))
    rows[1, 3] = bad
    with pytest.raises(ValueError, match=rf"^action entry 3 of copy 1 is {bad}; actions must be finite$"):
        validate_rows(rows, 3, 4)


def test_lists_and_strided_arrays_are_read_as_values() -> None:
    assert np.array_equal(validate_flat([3, -0.25, -7], 3), [1.0, -0.25, -1.0])
    strided = np.arange(8, dtype=np.float32)[::2] - 2.0  # -2, 0, 2, 4 (not contiguous)
    assert np.array_equal(validate_flat(strided, 4), [-1.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"action has shape \(2, 2\), expected \(4,\)"):
        validate_flat(np.zeros((2, 2)), 4)
