"""Regularized (aging) evolution, the search strategy of AmoebaNet.

Real, Aggarwal, Huang, Le, "Regularized Evolution for Image Classifier Architecture Search",
AAAI 2019, Algorithm 1.

Pipeline stage: search (strategy). Imports the standard library only.

1. The first ``population`` proposals are uniform samples.
2. Then each proposal is a mutation of a tournament winner: ``sample`` members are drawn from
   the population (with replacement, as in the paper's Algorithm 1; ``with_replacement=false``
   draws distinct ones, as NNI does) and the one with the highest reward is the parent.
3. Every told result joins the population and the *oldest* member leaves it (aging), so the
   population is always the ``population`` most recent results.
4. A mutation is, with probability ``identity`` (0.05 in the paper), none; otherwise a
   hidden-state mutation (one input of one block rewired to another earlier state) or an op
   mutation (one op replaced by another), chosen evenly among those the space has. The new
   value always differs from the old (the paper's mutations change something).

Defaults are the paper's CIFAR search (P = 100, S = 25); NAS-Bench-201's baseline uses P = 10,
S = 3 (Dong & Yang 2020). Failed or rejected proposals (no reward) never join the population.
Each proposal draws from its own generator seeded by (seed, proposal number), so the state is
the population and a counter, and a resumed search proposes exactly what an uninterrupted one
would.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from typing import Any

from nasgen.search.base import Told

__all__ = ["RegularizedEvolution"]


class RegularizedEvolution:
    """Aging evolution over choice vectors (see the module docstring)."""

    name = "rea"

    def __init__(
        self,
        sizes: tuple[int, ...],
        seed: int,
        population: int = 100,
        sample: int = 25,
        with_replacement: bool = True,
        identity: float = 0.05,
        kinds: tuple[str, ...] = (),
    ) -> None:
        """Evolve vectors with these decision sizes.

        ``kinds`` says, in the space's order, which decisions are wiring (``input``) and which
        are ops (``op``); without it every decision is an op.
        """
        if population < 1 or sample < 1 or (not with_replacement and sample > population):
            from nasgen.errors import NasgenError

            raise NasgenError(
                "E855",
                f"rea: population {population} and sample {sample} do not make a tournament",
                hint="population >= 1, sample >= 1 (and sample <= population without replacement)",
            )
        self.sizes = sizes
        self.seed = seed
        self.population_size = population
        self.sample_size = sample
        self.with_replacement = with_replacement
        self.identity = identity
        self.kinds = kinds or tuple("op" for _ in sizes)
        self.asked = 0
        self.population: deque[tuple[tuple[int, ...], float]] = deque()

    def _rng(self) -> random.Random:
        return random.Random(f"nasgen-rea/{self.seed}/{self.asked}")

    def ask(self) -> tuple[int, ...]:
        """A random vector while the population fills, then a mutated tournament winner."""
        rng = self._rng()
        self.asked += 1
        if len(self.population) < self.population_size:
            return tuple(rng.randrange(size) for size in self.sizes)
        members = list(self.population)
        if self.with_replacement:
            contenders = [members[rng.randrange(len(members))] for _ in range(self.sample_size)]
        else:
            contenders = rng.sample(members, self.sample_size)
        parent = max(contenders, key=lambda m: m[1])  # the first best on a tie
        return self.mutate(parent[0], rng)

    def mutate(self, parent: tuple[int, ...], rng: random.Random) -> tuple[int, ...]:
        """The paper's mutation of ``parent`` (identity with probability ``identity``)."""
        if rng.random() < self.identity:
            return parent
        mutable = [i for i, size in enumerate(self.sizes) if size > 1]
        by_kind: dict[str, list[int]] = {}
        for i in mutable:
            by_kind.setdefault("input" if self.kinds[i] == "input" else "op", []).append(i)
        if not by_kind:
            return parent
        kind = rng.choice(sorted(by_kind))
        position = rng.choice(by_kind[kind])
        child = list(parent)
        other = rng.randrange(self.sizes[position] - 1)
        child[position] = other if other < parent[position] else other + 1
        return tuple(child)

    def tell(self, told: Told) -> None:
        """A result joins the population; the oldest member leaves once it is full."""
        if told.reward is None:
            return
        self.population.append((told.proposal.choices, float(told.reward)))
        if len(self.population) > self.population_size:
            self.population.popleft()

    def state_dict(self) -> dict[str, Any]:
        """The counter and the population (oldest first)."""
        return {"asked": self.asked, "population": [[list(c), r] for c, r in self.population]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state written by ``state_dict``."""
        self.asked = int(state["asked"])
        members = state["population"]
        self.population = deque((tuple(int(x) for x in c), float(r)) for c, r in members)
