"""Random search: every decision uniform and independent, so every architecture equally likely.

Pipeline stage: search (strategy). Imports the standard library only.

The NASNet paper (Zoph et al. 2018, Fig. 6) and Li & Talwalkar (2019) show it is the baseline
a strategy must beat. Draw ``k`` comes from its own generator seeded by (seed, k), so the
state is one counter and a resumed search draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from nasgen.search.base import Told

__all__ = ["RandomSearch"]


class RandomSearch:
    """Uniform samples of the space."""

    name = "random"

    def __init__(self, sizes: tuple[int, ...], seed: int) -> None:
        """Sample vectors with these decision sizes, from ``seed``."""
        self.sizes = sizes
        self.seed = seed
        self.asked = 0

    def ask(self) -> tuple[int, ...]:
        """The next uniform sample."""
        rng = random.Random(f"nasgen-random/{self.seed}/{self.asked}")
        self.asked += 1
        return tuple(rng.randrange(size) for size in self.sizes)

    def tell(self, told: Told) -> None:
        """Random search learns nothing."""

    def state_dict(self) -> dict[str, Any]:
        """The draw counter."""
        return {"asked": self.asked}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the draw counter."""
        self.asked = int(state["asked"])
