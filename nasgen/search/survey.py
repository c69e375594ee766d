"""Surveys of a search space on its skeleton: cost ranges and distinct architectures.

Pipeline stage: search (space -> architectures -> IR cost). Imports ``nasgen.api``,
``nasgen.review`` and ``nasgen.space``; never a framework.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from nasgen.api import CompileOptions, cost_module
from nasgen.dsl import resolve
from nasgen.errors import NasgenError
from nasgen.review import architecture_hash
from nasgen.space import SearchSpace

__all__ = ["MAX_EXHAUSTIVE", "CostRange", "all_choices", "cost_range", "distinct_count"]

MAX_EXHAUSTIVE = 100_000
"""The largest space ``--exhaustive`` enumerates (NB-201's 15,625 takes about a minute)."""


@dataclass(frozen=True, slots=True)
class CostRange:
    """Smallest and largest params and MACs over the architectures looked at."""

    looked_at: int
    exhaustive: bool
    params: tuple[int, int]
    macs: tuple[int, int]
    failed: int = 0
    first_error: str | None = None


def all_choices(space: SearchSpace) -> Iterator[tuple[int, ...]]:
    """Every choice vector of a space, in lexicographic order (refused above MAX_EXHAUSTIVE)."""
    size = space.size()
    if size > MAX_EXHAUSTIVE:
        raise NasgenError(
            "E810",
            f"the space has {size:,} architectures; enumerating more than {MAX_EXHAUSTIVE:,} "
            "is refused",
            hint="drop --exhaustive/--distinct; a sampled range is reported instead",
        )
    sizes = [d.size for d in space.decisions()]
    for index in range(size):
        out = []
        for s in reversed(sizes):
            index, digit = divmod(index, s)
            out.append(digit)
        yield tuple(reversed(out))


def cost_range(
    space: SearchSpace,
    options: CompileOptions | None = None,
    *,
    samples: int = 200,
    seed: int = 0,
    exhaustive: bool = False,
    progress: Callable[[int], None] | None = None,
) -> CostRange:
    """Params and MACs over ``samples`` seeded samples, or over every architecture."""
    if exhaustive:
        vectors: Iterator[tuple[int, ...]] = all_choices(space)
    else:
        rng = random.Random(seed)
        vectors = (space.sample(rng) for _ in range(samples))
    params: list[int] = []
    macs: list[int] = []
    failed, first = 0, None
    for vector in vectors:
        try:
            report = cost_module(space.decode(vector), options)[1]
        except NasgenError as err:
            failed += 1
            first = first or str(err)
            continue
        finally:
            if progress is not None:
                progress(1)
        params.append(report.params)
        macs.append(report.macs)
    if not params:
        raise NasgenError("E811", f"no architecture of the space compiles: {first}")
    looked = len(params) + failed
    return CostRange(
        looked, exhaustive, (min(params), max(params)), (min(macs), max(macs)), failed, first
    )


def distinct_count(space: SearchSpace, progress: Callable[[int], None] | None = None) -> int:
    """Distinct architectures by ``nasgen hash`` (equal networks, whatever their spelling)."""
    seen: set[str] = set()
    for vector in all_choices(space):
        seen.add(architecture_hash(resolve(space.decode(vector))))
        if progress is not None:
            progress(1)
    return len(seen)
