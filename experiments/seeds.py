"""Named seed blocks: which seeds tune, train, validate and test, kept apart in one table.

Every block is a disjoint range of ``size`` seeds. Policies compared on the same
block face the same demand (common random numbers: an episode's demand depends on
its seed alone). Tuning and training never see validation or test seeds, so a
tuned rule or a trained agent is judged on customers it has not met.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeedBlock:
    """A range of episode seeds ``start .. start + size - 1`` reserved for one purpose."""

    name: str
    start: int
    size: int
    purpose: str

    def seeds(self, n: int, offset: int = 0) -> list[int]:
        """The first ``n`` seeds of the block after ``offset``; ValueError if that leaves the block."""
        if n < 1:
            raise ValueError(f"need at least one episode, got {n}")
        if offset < 0 or offset + n > self.size:
            raise ValueError(
                f"{n} seeds from offset {offset} leave the {self.name} block "
                f"({self.start}..{self.start + self.size - 1})"
            )
        return list(range(self.start + offset, self.start + offset + n))


BLOCK_SIZE = 10_000

#: The one place seed blocks are defined (data, not code).
SEED_BLOCKS: dict[str, SeedBlock] = {
    block.name: block
    for block in (
        SeedBlock("tuning", 10_000, BLOCK_SIZE, "grid search of heuristic parameters (allocsim tune)"),
        SeedBlock("training", 20_000, BLOCK_SIZE, "episodes a learning agent trains on"),
        SeedBlock("validation", 30_000, BLOCK_SIZE, "model selection and early stopping"),
        SeedBlock("test", 40_000, BLOCK_SIZE, "final comparison (allocsim benchmark default)"),
    )
}


def seed_block(name: str) -> SeedBlock:
    """The block called ``name``; ValueError listing the valid names otherwise."""
    try:
        return SEED_BLOCKS[name]
    except KeyError:
        raise ValueError(f"unknown seed block {name!r}; valid: {', '.join(SEED_BLOCKS)}") from None


def block_of(seed: int) -> str | None:
    """Name of the block that holds ``seed``, or None for seeds outside every block."""
    for block in SEED_BLOCKS.values():
        if block.start <= seed < block.start + block.size:
            return block.name
    return None


def seed_range(first: int, n: int) -> list[int]:
    """Seeds ``first, first + 1, ..., first + n - 1`` (the ``--seed K --episodes N`` rule)."""
    if n < 1:
        raise ValueError(f"need at least one episode, got {n}")
    if first < 0:
        raise ValueError(f"seeds must be >= 0, got {first}")
    return list(range(first, first + n))
