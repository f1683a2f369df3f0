"""Seed blocks: disjoint, documented in one table, and strict about their bounds."""

from __future__ import annotations

import itertools

import pytest

from allocsim.experiments.seeds import SEED_BLOCKS, block_of, seed_block, seed_range


def test_blocks_are_disjoint_and_named() -> None:
    assert set(SEED_BLOCKS) == {"tuning", "training", "validation", "test"}
    spans = sorted((b.start, b.start + b.size) for b in SEED_BLOCKS.values())
    assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(spans))
    assert seed_block("test").start == 40_000 and seed_block("tuning").start == 10_000


def test_seeds_stay_inside_their_block() -> None:
    block = seed_block("tuning")
    assert block.seeds(3) == [10_000, 10_001, 10_002]
    assert block_of(block.seeds(2, offset=5)[-1]) == "tuning"
    assert block_of(5) is None
    with pytest.raises(ValueError, match="tuning block"):
        block.seeds(2, offset=block.size - 1)
    with pytest.raises(ValueError, match="unknown seed block"):
        seed_block("holdout")
    assert seed_range(7, 3) == [7, 8, 9]
    with pytest.raises(ValueError):
        seed_range(0, 0)
