"""Ranking k-combinations and multisets: a sorted choice of k of n as one integer, and back.

Pipeline stage: search spaces. Standard library only.

DARTS's "two distinct inputs" and a design space's non-decreasing stage widths are each one
decision: the lexicographic rank of a combination (a multiset of k over n is the combination
c_i + i of k over n + k - 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["rank_combination", "rank_multiset", "unrank_combination", "unrank_multiset"]


def rank_combination(combo: Sequence[int], n: int) -> int:
    """The lexicographic index of a sorted k-combination of range(n)."""
    rank, prev, k = 0, -1, len(combo)
    for i, c in enumerate(combo):
        for skipped in range(prev + 1, c):
            rank += math.comb(n - skipped - 1, k - i - 1)
        prev = c
    return rank


def unrank_combination(rank: int, n: int, k: int) -> tuple[int, ...]:
    """The sorted k-combination of range(n) of that rank."""
    out, start = [], 0
    for i in range(k):
        for c in range(start, n):
            block = math.comb(n - c - 1, k - i - 1)
            if rank < block:
                out.append(c)
                start = c + 1
                break
            rank -= block
    return tuple(out)


def rank_multiset(values: Sequence[int], n: int) -> int:
    """The rank of a non-decreasing sequence over range(n)."""
    return rank_combination([v + i for i, v in enumerate(values)], n + len(values) - 1)


def unrank_multiset(rank: int, n: int, k: int) -> tuple[int, ...]:
    """The non-decreasing sequence of k over range(n) of that rank."""
    combo = unrank_combination(rank, n + k - 1, k)
    return tuple(c - i for i, c in enumerate(combo))
