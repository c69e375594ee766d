"""Progressive Neural Architecture Search: cells grown a block at a time, led by a surrogate.

Liu, Zoph, Neumann, Shlens, Hua, Li, Fei-Fei, Yuille, Huang, Murphy, "Progressive Neural
Architecture Search", ECCV 2018: Algorithm 1 (the search) and the accuracy predictors it trains.

Pipeline stage: search (strategy). Imports torch, ``nasgen.errors`` and the strategy helpers; the
registry imports it only when ``--strategy pnas`` is chosen.

A *b-block cell* is the sub-vector of the decisions of the first b blocks of every cell, in the
space's order (the space decodes such a shorter vector as that smaller architecture).

1. The first step proposes 1-block cells: all of them when there are at most ``beam``, else
   distinct ones drawn uniformly.
2. A step ends once ``beam`` new architectures of it have been told with a reward, or once its
   candidates have run out and every one it proposed has been told. Then the surrogate, an
   ensemble of ``ensemble`` predictors, is trained afresh on every reward told so far; the
   ``beam`` best b-block cells by reward are the parents; each is expanded with every possible
   (b+1)-th block, in every cell at once; the ensemble's mean scores every child; and the next
   step proposes the best children not proposed before, best first.
3. Once b reaches B (``blocks``, or the space's own block count when 0) the steps go on over the
   B-block children of the best (B-1)-block cells, the surrogate retrained after each, until the
   search's budget ends them; with no unproposed child left, proposals are uniform B-block cells.
4. Asked while results of the current step are still out (several workers), the strategy
   proposes the next children in the current ranking, beyond the beam; it never waits.
5. Before each retraining, the Spearman rank correlation between the surrogate's predictions
   and the rewards it has not yet seen is appended to ``rank_correlations`` in the state.

Predictors (``predictor``): ``lstm`` reads the cell's decisions as a sequence of tokens, one
embedding per token, and regresses the reward from its last hidden state (the paper's LSTM
predictor); ``mlp`` is two hidden ReLU layers over a one-hot encoding of the full-length vector
(absent blocks all zeros) together with the paper's block average. Both run in float64, are
trained with Adam on standardised rewards for a fixed number of epochs of seeded minibatches,
and each member has its own seed, derived from the strategy's seed, the step and the member.

NOTE: [Where this departs from the paper] (a) A step counts *new* architectures with a reward,
not proposals: the loop tells a duplicate (a cell equal to an earlier one up to the order of an
``add``'s operands, say) with the earlier reward and spends no budget on it, and the paper
counts cells modulo that symmetry (136, not 256, 1-block cells); for the same reason the parents
are distinct architectures (``Told.proposal.arch_hash``). (b) Each step trains new predictors on
all results rather than updating the previous ones with the new results: the same data, and a
function of the seed and the history alone. (c) A token's embedding is the sum of one shared by
every block of its cell (by the decision's role in its block: first input, first op...; the
paper shares one embedding among inputs and one among ops) and one of its position, zero at the
start, so a block the predictors never saw contributes what the earlier blocks taught them
about such choices, not noise. The LSTM reads the tokens block by block (every cell's first
block, then every cell's second...), so a child's sequence is its parent's followed by the new
block, and each parent is read once for all its children. (d) Rewards are standardised and the
output is linear (the paper squashes an accuracy with a sigmoid). (e) A step scores at most
``MAX_CHILDREN`` children, beyond that a uniform sample of each parent's (with the paper's beam
of 256 in the ``pnas`` space: every child up to b = 3, then 1,024 of each parent's 1,600 and
2,304 at b = 4 and 5). The
surrogate runs on one CPU thread: small networks are faster so, and no result depends on the
machine's thread count; scoring 262,144 children takes about 20 s per 100-unit LSTM member (a
few seconds for all the MLPs) on one core.

NOTE: [Exact resume] The state holds the step, the told history (closed steps as safetensors
bytes, which the journal stores once by content, the open step as JSON), the proposals not yet
told, the step's ranked candidates and the ensemble's weights as bytes (packed again only after
a retraining) and the rank correlations. Random draws come from generators seeded by
(seed, purpose, counter), so a restored strategy asks exactly what the uninterrupted one asks,
right after a retraining too.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from nasgen.errors import NasgenError
from nasgen.policy.tensors import pack, unpack
from nasgen.search.base import Told
from nasgen.search.strategies.surrogate import PREDICTORS, Surrogate, Vector, seeded, spearman

_F64 = torch.float64

__all__ = ["PNAS"]


def _key(arch_hash: str, vector: Vector) -> int:
    """A 63-bit key of an architecture: its hash (the vector when the caller gave none)."""
    text = arch_hash or "vector:" + ",".join(map(str, vector))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def _check(sizes: tuple[int, ...], blocks_of: tuple[int, ...], params: Mapping[str, Any]) -> None:
    problems = []
    if not sizes:
        problems.append("the space has no decisions to grow")
    elif len(blocks_of) != len(sizes) or min(blocks_of) < 0:
        problems.append("blocks_of must give each decision's block (0-based)")
    full = max(blocks_of, default=0) + 1
    if not 0 <= params["blocks"] <= full:
        problems.append(f"blocks={params['blocks']} is not from 0 to the space's {full}")
    if params["predictor"] not in PREDICTORS:
        problems.append(f"predictor={params['predictor']} is neither lstm nor mlp")
    for name in ("beam", "ensemble", "hidden", "epochs", "batch_size"):
        if params[name] < 1:
            problems.append(f"{name}={params[name]} is below 1")
    if not params["lr"] > 0:
        problems.append(f"lr={params['lr']} is not positive")
    if problems:
        raise NasgenError(
            "E856",
            f"pnas: {'; '.join(problems)}",
            hint="beam >= 1, ensemble >= 1, predictor=lstm or mlp, 0 <= blocks <= the space's "
            "block count (0: all of them)",
        )


def _pack_history(rows: Sequence[tuple[Vector, float | None, int]]) -> bytes:
    width = max(len(v) for v, _, _ in rows)
    vectors = torch.full((len(rows), width), -1, dtype=torch.long)
    for i, (v, _, _) in enumerate(rows):
        vectors[i, : len(v)] = torch.tensor(v, dtype=torch.long)
    rewards = torch.tensor([math.nan if r is None else r for _, r, _ in rows], dtype=_F64)
    keys = torch.tensor([k for _, _, k in rows], dtype=torch.long)
    return pack({"keys": keys, "rewards": rewards, "vectors": vectors})


def _unpack_history(data: bytes) -> list[tuple[Vector, float | None, int]]:
    t = unpack(data)
    rows = zip(t["vectors"].tolist(), t["rewards"].tolist(), t["keys"].tolist(), strict=True)
    return [(tuple(x for x in v if x >= 0), None if math.isnan(r) else r, k) for v, r, k in rows]


class PNAS:
    """Progressive search from 1 to B blocks with a surrogate ensemble (see the module)."""

    name = "pnas"

    def __init__(
        self,
        sizes: tuple[int, ...],
        seed: int,
        beam: int = 256,
        blocks: int = 0,
        predictor: str = "lstm",
        ensemble: int = 5,
        blocks_of: tuple[int, ...] = (),
        *,
        hidden: int = 100,
        epochs: int = 100,
        lr: float = 0.01,
        batch_size: int = 64,
    ) -> None:
        """Search vectors with these decision sizes; ``blocks_of[i]``: decision i's block.

        ``hidden`` (the paper's LSTM has 100 units), ``epochs``, ``lr`` and ``batch_size`` set
        the predictors' size and training; the CLI keeps their defaults.
        """
        blocks_of = tuple(blocks_of) or (0,) * len(sizes)
        params = {"beam": beam, "blocks": blocks, "predictor": predictor, "ensemble": ensemble}
        params |= {"hidden": hidden, "epochs": epochs, "lr": lr, "batch_size": batch_size}
        _check(tuple(sizes), blocks_of, params)
        self.sizes, self.seed, self.beam = tuple(sizes), seed, beam
        self.max_blocks = blocks or max(blocks_of) + 1
        self.surrogate = Surrogate(
            self.sizes, blocks_of, self.max_blocks, predictor, ensemble,
            hidden=hidden, epochs=epochs, lr=lr, batch_size=batch_size,
        )  # fmt: skip
        self.layout = self.surrogate.layout
        self.step, self.blocks, self.asked = 0, 1, 0
        self.step_new = 0  # new rewarded architectures told of this step
        self.taken = 0  # proposals this step took from its ranking
        self.ranked: list[Vector] | None = None  # the step's candidates, best first (lazy)
        self.cursor, self.complete = 0, False  # next candidate; the ranking holds every child
        self.pending: deque[tuple[Vector, int]] = deque()  # asked, not told: (vector, step)
        self.history: list[tuple[Vector, float | None, int]] = []  # told: (vector, reward, key)
        self.sealed = 0  # history[:sealed] is in ``chunks`` and trained the surrogate
        self.chunks: list[bytes] = []
        self.rank_correlations: list[dict[str, Any]] = []
        self._proposed: set[Vector] = set()
        self._keys: set[int] = set()
        self._weights: bytes | None = None  # packed lazily, again only after a retraining
        self._ranked_bytes: bytes | None = None

    # -- the protocol ------------------------------------------------------------------------

    def ask(self) -> Vector:
        """The step's next candidate; the next step's once this one is over; else uniform."""
        vector = self._take()
        if vector is None and self.taken > 0 and all(t != self.step for _, t in self.pending):
            self._advance()  # the candidates ran out and all their results are in
            vector = self._take()
        if vector is None:
            vector = self._random()
        self.asked += 1
        self.pending.append((vector, self.step))
        self._proposed.add(vector)
        return vector

    def tell(self, told: Told) -> None:
        """Record a result; the step ends at its ``beam``-th new rewarded architecture."""
        vector = tuple(int(x) for x in told.proposal.choices)
        step = self._pop_pending(vector)
        reward = told.reward
        reward = float(reward) if reward is not None and math.isfinite(reward) else None
        key = _key(told.proposal.arch_hash, vector)
        new = key not in self._keys
        self._keys.add(key)
        self._proposed.add(vector)
        self.history.append((vector, reward, key))
        if step == self.step and new and reward is not None:
            self.step_new += 1
            if self.step_new >= self.beam:
                self._advance()

    def _pop_pending(self, vector: Vector) -> int:
        for i, (v, step) in enumerate(self.pending):
            if v == vector:
                del self.pending[i]
                return step
        return -1  # told something never asked (a test, say): it belongs to no step

    # -- steps -------------------------------------------------------------------------------

    def _take(self) -> Vector | None:
        if self.ranked is None:
            self._set_ranking(*self._rank(2 * self.beam))
        while True:
            assert self.ranked is not None
            while self.cursor < len(self.ranked):
                vector = self.ranked[self.cursor]
                self.cursor += 1
                if vector not in self._proposed:
                    self.taken += 1
                    return vector
            if self.complete:
                return None
            self._set_ranking(*self._rank(2 * self.beam))  # more workers than the beam held

    def _set_ranking(self, ranked: list[Vector], complete: bool) -> None:
        self.ranked, self.complete, self.cursor = ranked, complete, 0
        self._ranked_bytes = None

    def _advance(self) -> None:
        fresh = self.history[self.sealed :]
        if self.surrogate.members:
            self._record_correlation(fresh)
        if fresh:
            self.chunks.append(_pack_history(fresh))
            self.sealed = len(self.history)
        self.step += 1
        usable = [
            (v, r) for v, r, _ in self.history if r is not None and len(v) in self.layout.by_length
        ]
        if usable:
            self.surrogate.fit([v for v, _ in usable], [r for _, r in usable], self._fitseeded())
            self._weights = None
        self.blocks = min(self.blocks + 1, self.max_blocks)
        self.step_new = self.taken = 0
        self._set_ranking(*self._rank(2 * self.beam))

    def _fitseeded(self) -> int:
        return seeded(self.seed, "fit", self.step)

    def _record_correlation(self, fresh: Sequence[tuple[Vector, float | None, int]]) -> None:
        rows = [(v, r) for v, r, _ in fresh if r is not None and len(v) in self.layout.by_length]
        rho = None
        if rows:
            predicted = self.surrogate.predict([v for v, _ in rows])
            rho = spearman(predicted, [r for _, r in rows])
        entry = {"step": self.step, "blocks": self.blocks, "spearman": rho, "n": len(rows)}
        self.rank_correlations.append(entry)

    def _parents(self, n: int) -> list[Vector]:
        """The ``beam`` best distinct n-block cells told before this step (the empty cell: n=0)."""
        if n == 0:
            return [()]
        length = len(self.layout.positions[n])
        best: dict[int, tuple[float, int, Vector]] = {}
        for i, (vector, reward, key) in enumerate(self.history[: self.sealed]):
            if reward is not None and len(vector) == length and key not in best:
                best[key] = (reward, i, vector)
        ranked = sorted(best.values(), key=lambda e: (-e[0], e[1]))
        return [v for _, _, v in ranked[: self.beam]]

    # -- children ----------------------------------------------------------------------------

    def children(self, parent: Sequence[int]) -> list[Vector]:
        """Every cell one block larger than ``parent``: its choices with each next block."""
        n = self.layout.by_length.get(len(parent), -1) + 1 if parent else 1
        if not 1 <= n <= self.max_blocks:
            raise ValueError(f"{len(parent)} choices: no cell below {self.max_blocks} blocks")
        combos = self.layout.combos(n, 1, torch.Generator())
        parents = torch.tensor([list(parent)], dtype=torch.long).reshape(1, -1)
        flat = torch.arange(combos.shape[1])
        return [tuple(row) for row in self.layout.children(n, parents, combos, flat).tolist()]

    def _rank(self, limit: int) -> tuple[list[Vector], bool]:
        """The ``limit`` best unproposed children of the parents, and whether that is all."""
        n = self.blocks
        parents = self._parents(n - 1)
        if not parents:
            return [], True
        generator = torch.Generator().manual_seed(seeded(self.seed, "rank", self.step))
        combos = self.layout.combos(n, len(parents), generator)
        tensor = torch.tensor(parents, dtype=torch.long).reshape(len(parents), -1)
        total = len(parents) * combos.shape[1]
        if self.surrogate.members:
            scores = self.surrogate.score_children(n, tensor, combos)
        else:  # the first step: a uniform order
            scores = torch.rand(total, generator=generator, dtype=_F64)
        order = torch.sort(scores, descending=True, stable=True).indices
        out: list[Vector] = []
        seen: set[Vector] = set()
        for start in range(0, total, 4 * limit):
            rows = self.layout.children(n, tensor, combos, order[start : start + 4 * limit])
            for row in rows.tolist():
                child = tuple(row)
                if child not in self._proposed and child not in seen:
                    seen.add(child)
                    out.append(child)
                    if len(out) == limit:
                        return out, False
        return out, True

    def _random(self) -> Vector:
        rng = random.Random(seeded(self.seed, "random", self.asked))
        sizes = [self.sizes[i] for i in self.layout.positions[self.max_blocks]]
        vector: Vector = ()
        for _ in range(64):
            vector = tuple(rng.randrange(s) for s in sizes)
            if vector not in self._proposed:
                break
        return vector

    # -- state -------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Counters, pending proposals, history, ranking, weights (bytes), rank correlations."""
        if self._weights is None and self.surrogate.members:
            self._weights = self.surrogate.to_bytes()
        if self._ranked_bytes is None and self.ranked:
            self._ranked_bytes = pack({"ranked": torch.tensor(self.ranked, dtype=torch.long)})
        return {
            "step": self.step,
            "blocks": self.blocks,
            "asked": self.asked,
            "step_new": self.step_new,
            "taken": self.taken,
            "ranking": None if self.ranked is None else self._ranked_bytes or b"",
            "cursor": self.cursor,
            "complete": self.complete,
            "pending": [[list(v), step] for v, step in self.pending],
            "chunks": list(self.chunks),
            "recent": [[list(v), r, k] for v, r, k in self.history[self.sealed :]],
            "weights": self._weights,
            "rank_correlations": [dict(e) for e in self.rank_correlations],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state written by ``state_dict``."""
        self.step, self.blocks = int(state["step"]), int(state["blocks"])
        self.asked = int(state["asked"])
        self.step_new, self.taken = int(state["step_new"]), int(state["taken"])
        ranking = state["ranking"]
        self._ranked_bytes = bytes(ranking) if ranking else None
        self.ranked = None if ranking is None else []
        if ranking:
            self.ranked = [tuple(row) for row in unpack(bytes(ranking))["ranked"].tolist()]
        self.cursor, self.complete = int(state["cursor"]), bool(state["complete"])
        self.pending = deque((tuple(int(x) for x in v), int(s)) for v, s in state["pending"])
        self.chunks = [bytes(c) for c in state["chunks"]]
        self.history = [row for chunk in self.chunks for row in _unpack_history(chunk)]
        self.sealed = len(self.history)
        for v, r, k in state["recent"]:
            self.history.append((tuple(int(x) for x in v), None if r is None else float(r), int(k)))
        self._keys = {k for _, _, k in self.history}
        self._proposed = {v for v, _, _ in self.history} | {v for v, _ in self.pending}
        weights = state["weights"]
        self._weights = None if weights is None else bytes(weights)
        if self._weights is None:
            self.surrogate.members = []
        else:
            self.surrogate.load_bytes(self._weights)
        self.rank_correlations = [dict(e) for e in state["rank_correlations"]]
