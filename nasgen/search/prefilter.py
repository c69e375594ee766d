"""A design space's proposals outside the MAC bounds, rejected before a file is built.

Pipeline stage: search. Imports ``nasgen.api``, ``nasgen.ir.stage_cost`` and ``nasgen.space``.

A design space in a complexity regime rejects almost every draw (AnyNetX_A keeps under 0.1%
of its networks in 360-400M MACs). Building, resolving and costing each draw's file takes
about 1.5 ms; ``StageCoster`` costs its stage list in tens of microseconds, stopping as soon as
the MACs pass the upper bound. The prefilter only ever *rejects*: a draw it lets through is
costed by the full path (which has the last word), and one it cannot cost goes there too.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from nasgen.api import CompileOptions, cost_module
from nasgen.errors import NasgenError
from nasgen.ir.stage_cost import StageCoster
from nasgen.search.config import Constraints
from nasgen.space import SearchSpace

__all__ = ["StagePrefilter"]


class StagePrefilter:
    """Rejects design-space vectors whose MACs are certainly outside ``bounds``."""

    def __init__(self, space: SearchSpace, options: CompileOptions, bounds: Constraints) -> None:
        """A stage coster on the space's skeleton, built from one sample."""
        self.space = space
        self.bounds = bounds
        self.coster: StageCoster | None = None
        if space.design is None or (bounds.min_macs is None and bounds.max_macs is None):
            return
        try:
            arch, _ = cost_module(space.decode(space.sample(random.Random(0))), options)
        except NasgenError:
            return  # the skeleton holds no sample: everything takes the full path
        self.coster = StageCoster(arch)

    def macs(self, choices: Sequence[int]) -> tuple[int, bool] | None:
        """(MACs, exact) of a vector by the stages, or None when the full path must say.

        ``exact`` is False for a sum stopped early past the upper bound (a lower bound).
        """
        design = self.space.design
        if self.coster is None or design is None:
            return None
        try:
            stages = design.stages(choices[len(choices) - len(design.decisions) :])
        except NasgenError:
            return None  # no network of the space: the full path says why
        cost = self.coster.cost(stages, self.bounds.max_macs)
        if cost is None:
            return None
        exact = self.bounds.max_macs is None or cost[1] <= self.bounds.max_macs
        return cost[1], exact

    def reject(self, choices: Sequence[int]) -> str | None:
        """Why the vector is outside the MAC bounds, or None (the full path decides)."""
        found = self.macs(choices)
        if found is None:
            return None
        macs, exact = found
        low, high = self.bounds.min_macs, self.bounds.max_macs
        if high is not None and macs > high:
            more = "" if exact else "at least "
            return f"{more}{macs:,} MACs is above the bound {high:,} (counted by stages)"
        if low is not None and macs < low:
            return f"{macs:,} MACs is below the bound {low:,} (counted by stages)"
        return None
