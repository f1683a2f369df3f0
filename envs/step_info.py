"""``StepInfo``: the single env's info dict, whose costlier entries are built only when read.

Most callers of ``step`` never read ``reward_components``, ``kpis`` or ``decision_log``; building
them every step cost more than a small period's arithmetic. The values come from a snapshot
taken at the step, so an info read later (after more steps or a reset) still describes its
own step. Every way of reading the whole dict (iteration, ``items``, ``dict(info)``,
``{**info}``, ``==``, ``repr``, copies, pickles, JSON) builds the entries first; copies
and pickles are plain dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

#: The entries built on first read.
LAZY = frozenset({"reward_components", "kpis", "decision_log"})


class StepInfo(dict[str, Any]):
    """A dict whose ``LAZY`` keys are present from the start and filled by ``build`` when first read."""

    __slots__ = ("_build",)

    def __init__(self, values: dict[str, Any], build: Callable[[], dict[str, Any]]) -> None:
        super().__init__(values)
        for key in LAZY:
            dict.__setitem__(self, key, None)
        self._build: Callable[[], dict[str, Any]] | None = build

    def _resolve(self) -> None:
        build, self._build = self._build, None
        if build is not None:
            dict.update(self, build())

    def __getitem__(self, key: str) -> Any:
        if key in LAZY:
            self._resolve()
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in LAZY:
            self._resolve()
        return dict.get(self, key, default)

    def __iter__(self) -> Iterator[str]:  # overridden: dict(info) and {**info} then read through __getitem__
        self._resolve()
        return dict.__iter__(self)

    def items(self):  # type: ignore[no-untyped-def]
        self._resolve()
        return dict.items(self)

    def values(self):  # type: ignore[no-untyped-def]
        self._resolve()
        return dict.values(self)

    def pop(self, key: str, *default: Any) -> Any:
        self._resolve()
        return dict.pop(self, key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._resolve()
        return dict.setdefault(self, key, default)

    def copy(self) -> dict[str, Any]:
        self._resolve()
        return dict(dict.items(self))

    def __eq__(self, other: object) -> bool:
        self._resolve()
        if isinstance(other, StepInfo):
            other._resolve()
        return dict.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        self._resolve()
        return dict.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (self.copy(),))
