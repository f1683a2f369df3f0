"""A small vectorised builder for large sparse LPs, solved by HiGHS through scipy.

Columns are created in shaped blocks (``cols``), optionally only where a mask is
true: absent entries get index -1. Rows are created the same way (``rows``) with
lower and upper bounds (equal bounds make an equality). ``put`` adds
coefficients from broadcast index arrays and silently drops every entry whose
row or column is -1, so time shifts and sparse lanes need no special cases.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class LPSolution:
    """Optimal objective (maximised), the column values and the LP's size and timing."""

    objective: float
    x: FloatArray
    duals: FloatArray  # per row: d objective / d (row's bound), the shadow price of the binding side
    rows: int
    cols: int
    nnz: int
    solve_seconds: float


class LPBuilder:
    """Maximise ``gain @ x`` subject to ``lower <= A x <= upper`` and column bounds."""

    def __init__(self) -> None:
        self._cols: list[tuple[FloatArray, FloatArray, FloatArray]] = []
        self._rows: list[tuple[FloatArray, FloatArray]] = []
        self._entries: list[tuple[IntArray, IntArray, FloatArray]] = []
        self.n_cols = 0
        self.n_rows = 0
        self.constant = 0.0
        self._fixed: list[tuple[IntArray, FloatArray]] = []
        self._extra_gain: list[tuple[IntArray, FloatArray]] = []

    @staticmethod
    def _block(start: int, shape: tuple[int, ...], mask: ArrayLike | None) -> tuple[IntArray, int]:
        where = np.ones(shape, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), shape)
        index = np.full(shape, -1, dtype=np.int64)
        count = int(where.sum())
        index[where] = start + np.arange(count)
        return index, count

    def cols(
        self,
        shape: tuple[int, ...],
        gain: ArrayLike = 0.0,
        upper: ArrayLike = np.inf,
        lower: ArrayLike = 0.0,
        mask: ArrayLike | None = None,
    ) -> IntArray:
        """A block of columns; returns their indices (-1 where ``mask`` is false)."""
        index, count = self._block(self.n_cols, shape, mask)
        where = index >= 0
        gain_, low, high = (np.broadcast_to(np.asarray(v, dtype=np.float64), shape)[where]
                            for v in (gain, lower, upper))
        self._cols.append((gain_, low, high))
        self.n_cols += count
        return index

    def rows(
        self,
        shape: tuple[int, ...],
        lower: ArrayLike = -np.inf,
        upper: ArrayLike = np.inf,
        mask: ArrayLike | None = None,
    ) -> IntArray:
        """A block of rows ``lower <= A x <= upper``; returns their indices (-1 where masked out)."""
        index, count = self._block(self.n_rows, shape, mask)
        where = index >= 0
        low = np.broadcast_to(np.asarray(lower, dtype=np.float64), shape)[where]
        high = np.broadcast_to(np.asarray(upper, dtype=np.float64), shape)[where]
        self._rows.append((low, high))
        self.n_rows += count
        return index

    def put(self, rows: ArrayLike, cols: ArrayLike, value: ArrayLike = 1.0) -> None:
        """Add coefficients ``A[rows, cols] += value`` (broadcast); entries with index -1 are dropped."""
        r, c, v = np.broadcast_arrays(np.asarray(rows), np.asarray(cols), np.asarray(value, dtype=np.float64))
        keep = (r >= 0) & (c >= 0) & (v != 0)
        self._entries.append((r[keep].astype(np.int64), c[keep].astype(np.int64), v[keep]))

    def add_gain(self, cols: ArrayLike, values: ArrayLike) -> None:
        """Add ``values`` to the objective coefficients of existing columns (broadcast; -1 ignored)."""
        c, v = np.broadcast_arrays(np.asarray(cols), np.asarray(values, dtype=np.float64))
        keep = (c >= 0) & (v != 0)
        self._extra_gain.append((c[keep].astype(np.int64), v[keep]))

    def fix(self, cols: ArrayLike, values: ArrayLike) -> None:
        """Pin columns to values (broadcast; index -1 ignored), e.g. to replay a known decision."""
        c, v = np.broadcast_arrays(np.asarray(cols), np.asarray(values, dtype=np.float64))
        keep = c >= 0
        self._fixed.append((c[keep].astype(np.int64), v[keep]))

    def solve(self) -> LPSolution:
        """Solve with HiGHS; RuntimeError if it does not reach an optimum."""
        import scipy.sparse as sp  # SciPy on first use: importing the rules stays light
        from scipy.optimize import linprog

        gain, low_c, high_c = (np.concatenate([b[i] for b in self._cols]) for i in range(3))
        for cols, values in self._fixed:
            low_c[cols] = high_c[cols] = values
        for cols, values in self._extra_gain:
            np.add.at(gain, cols, values)
        low_r, high_r = (np.concatenate([b[i] for b in self._rows]) for i in range(2))
        r, c, v = (np.concatenate([e[i] for e in self._entries]) for i in range(3))
        matrix = sp.csr_matrix((v, (r, c)), shape=(self.n_rows, self.n_cols))
        equal = low_r == high_r
        upper = ~equal & np.isfinite(high_r)
        lower = ~equal & np.isfinite(low_r)
        a_ub = sp.vstack([matrix[upper], -matrix[lower]], format="csr")
        b_ub = np.concatenate([high_r[upper], -low_r[lower]])
        started = time.perf_counter()
        res = linprog(
            -gain, A_ub=a_ub, b_ub=b_ub, A_eq=matrix[equal], b_eq=high_r[equal],
            bounds=np.column_stack([low_c, high_c]), method="highs",
        )
        seconds = time.perf_counter() - started
        if res.status != 0:
            raise RuntimeError(f"HiGHS did not solve the LP: {res.message}")
        duals = np.zeros(self.n_rows)  # linprog minimises -gain: its marginals have the opposite sign
        duals[equal] = -res.eqlin.marginals
        duals[upper] -= res.ineqlin.marginals[: int(upper.sum())]
        duals[lower] += res.ineqlin.marginals[int(upper.sum()):]
        return LPSolution(
            objective=float(-res.fun) + self.constant, x=res.x, duals=duals, rows=self.n_rows,
            cols=self.n_cols,
            nnz=int(matrix.nnz), solve_seconds=seconds,
        )
