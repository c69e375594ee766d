"""PNAS's surrogate: an ensemble of LSTM or MLP predictors of a cell's reward, and Spearman's rho.

Pipeline stage: search (strategy helper). Imports torch and the strategy helpers.

See ``pnas.py`` (the strategy that trains it) for the encoding, the departures from the paper
and the costs; Liu et al., "Progressive Neural Architecture Search", ECCV 2018, section 3.3.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import torch
from torch import nn

from nasgen.policy.tensors import one_thread, pack, unpack

__all__ = ["MAX_CHILDREN", "PREDICTORS", "Surrogate", "Vector", "seeded", "spearman"]

MAX_CHILDREN = 1 << 18
"""Children scored per step at most; a larger expansion is sampled uniformly."""

PREDICTORS = ("lstm", "mlp")
_CHUNK = 4096  # rows per forward pass when scoring children
_F64 = torch.float64

Vector = tuple[int, ...]


def seeded(seed: int, *parts: object) -> int:
    """A 63-bit seed from the strategy's seed and the purpose of the draw (sha256)."""
    text = "/".join(["nasgen-pnas", str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2  # ties share their average rank
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation of two sequences; None when it is undefined."""
    if len(x) != len(y) or len(x) < 2:
        return None
    rx, ry = _ranks(x), _ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / math.sqrt(vx * vy) if vx > 0 and vy > 0 else None


class _Layout:
    """Where each decision sits: its cell, its block, its role in the block, its token ids."""

    def __init__(self, sizes: tuple[int, ...], blocks_of: tuple[int, ...], blocks: int) -> None:
        self.sizes, self.blocks_of, self.blocks = sizes, blocks_of, blocks
        cells, roles = self._cells_and_roles(blocks_of)
        cell_blocks: dict[int, int] = {}
        for cell, b in zip(cells, blocks_of, strict=True):
            cell_blocks[cell] = max(cell_blocks.get(cell, 0), b + 1)
        offsets, self.pos_offset, start = {}, [], 1  # token 0 is the padding of both vocabularies
        for size in sizes:
            self.pos_offset.append(start)
            start += size
        self.pos_vocab = start
        widths: dict[tuple[int, int], int] = {}
        for size, cell, role in zip(sizes, cells, roles, strict=True):
            widths[cell, role] = max(widths.get((cell, role), 0), size)
        start = 1
        for where in sorted(widths):
            offsets[where] = start
            start += widths[where]
        self.shared_vocab = start
        self.shared_offset = [offsets[c, r] for c, r in zip(cells, roles, strict=True)]
        self.positions = [
            tuple(i for i, b in enumerate(blocks_of) if b < n) for n in range(blocks + 1)
        ]
        self.by_length = {len(self.positions[n]): n for n in range(1, blocks + 1)}
        self._tensors = [self._block_tensors(n, cells, cell_blocks) for n in range(blocks + 1)]

    @staticmethod
    def _cells_and_roles(blocks_of: tuple[int, ...]) -> tuple[list[int], list[int]]:
        cells, roles, cell, role = [], [], 0, 0
        for i, b in enumerate(blocks_of):
            if i and b < blocks_of[i - 1]:  # the block index falls back: a new cell
                cell, role = cell + 1, 0
            elif i and b > blocks_of[i - 1]:
                role = 0
            elif i:
                role += 1
            cells.append(cell)
            roles.append(role)
        return cells, roles

    def _block_tensors(
        self, n: int, cells: list[int], cell_blocks: dict[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        where = self.positions[n]
        # Tokens go block by block (every cell's first block, then every cell's second...), so
        # a child's tokens are its parent's followed by the new block's.
        order = sorted(range(len(where)), key=lambda k: (self.blocks_of[where[k]], k))
        picked = [where[k] for k in order]
        pos = torch.tensor([self.pos_offset[i] for i in picked], dtype=torch.long)
        shared = torch.tensor([self.shared_offset[i] for i in picked], dtype=torch.long)
        share = torch.tensor([1 / min(n, cell_blocks[cells[i]]) for i in picked], dtype=_F64)
        return torch.tensor(order, dtype=torch.long), pos, shared, share

    def slots(self, n: int) -> tuple[list[int], list[int]]:
        """Slots of an n-block vector that hold its (n-1)-block parent, and the new block's."""
        where = self.positions[n]
        old = [k for k, i in enumerate(where) if self.blocks_of[i] < n - 1]
        new = [k for k, i in enumerate(where) if self.blocks_of[i] == n - 1]
        return old, new

    def new_sizes(self, n: int) -> list[int]:
        """The sizes of block n's decisions (1-based n), in slot order."""
        return [self.sizes[i] for i in self.positions[n] if self.blocks_of[i] == n - 1]

    def combos(self, n: int, parents: int, generator: torch.Generator) -> torch.Tensor:
        """Block n's choices for the children: [1, C, k] (all of them) or [parents, C, k]."""
        sizes = self.new_sizes(n)
        total = math.prod(sizes)
        if parents * total <= MAX_CHILDREN:
            index, digits = torch.arange(total), []
            for size in reversed(sizes):
                digits.append(index % size)
                index = index // size
            return torch.stack(digits[::-1], 1)[None] if digits else torch.zeros(1, 1, 0).long()
        per = max(1, MAX_CHILDREN // parents)  # too many to score: a uniform sample of each's
        columns = [torch.randint(s, (parents, per), generator=generator) for s in sizes]
        return torch.stack(columns, -1)

    def children(
        self, n: int, parents: torch.Tensor, combos: torch.Tensor, flat: torch.Tensor
    ) -> torch.Tensor:
        """Children number ``flat`` (parent-major) of ``parents`` as n-block vectors."""
        old, new = self.slots(n)
        width = combos.shape[1]
        p, c = flat // width, flat % width
        rows = torch.empty(len(flat), len(old) + len(new), dtype=torch.long)
        rows[:, old] = parents[p]
        rows[:, new] = combos[p if combos.shape[0] > 1 else torch.zeros_like(p), c]
        return rows

    def tokens(self, x: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Position tokens, shared tokens and block-average weights of n-block vectors ``x``.

        In block order: the last ``len(new_sizes(n))`` are block n's.
        """
        order, pos, shared, share = self._tensors[n]
        x = x[:, order]
        return x + pos, x + shared, share.expand(x.shape[0], -1)

    def encode(self, vectors: Sequence[Vector]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Tokens of vectors of any block counts, padded at the end with token 0, weight 0."""
        longest = max(len(v) for v in vectors)
        pos = torch.zeros(len(vectors), longest, dtype=torch.long)
        shared = torch.zeros_like(pos)
        share = torch.zeros(len(vectors), longest, dtype=_F64)
        groups: dict[int, list[int]] = {}
        for row, v in enumerate(vectors):
            groups.setdefault(len(v), []).append(row)
        for length, rows in groups.items():
            x = torch.tensor([vectors[r] for r in rows], dtype=torch.long).reshape(len(rows), -1)
            p, s, w = self.tokens(x, self.by_length[length])
            pos[rows, :length], shared[rows, :length], share[rows, :length] = p, s, w
        return pos, shared, share


class _MLP(nn.Module):
    """Two hidden ReLU layers over position one-hots and block-averaged shared one-hots.

    The first layer is a linear map of that (sparse) one-hot vector, computed as a weighted sum
    of the rows its tokens pick (``embedding_bag``), never as a dense matrix product.
    """

    def __init__(self, layout: _Layout, hidden: int) -> None:
        super().__init__()
        self.pos_vocab = layout.pos_vocab
        self.width = layout.pos_vocab + layout.shared_vocab
        self.inner = nn.Parameter(torch.empty(self.width, hidden, dtype=_F64))
        self.bias = nn.Parameter(torch.empty(hidden, dtype=_F64))
        self.middle = nn.Linear(hidden, hidden, dtype=_F64)
        self.head = nn.Linear(hidden, 1, dtype=_F64)

    def reset(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            bound = 1 / math.sqrt(self.width)
            self.inner.uniform_(-bound, bound, generator=generator)
            self.bias.uniform_(-bound, bound, generator=generator)
            self.inner[: self.pos_vocab] = 0.0  # see NOTE (c)
            for layer in (self.middle, self.head):
                bound = 1 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)

    def forward(self, pos: torch.Tensor, shared: torch.Tensor, share: torch.Tensor) -> torch.Tensor:
        tokens = torch.cat([pos, shared + self.pos_vocab], 1)
        weights = torch.cat([(pos > 0).to(_F64), share], 1)  # padding: weight 0
        first = nn.functional.embedding_bag(
            tokens, self.inner, mode="sum", per_sample_weights=weights
        )
        hidden = torch.relu(self.middle(torch.relu(first + self.bias)))
        out: torch.Tensor = self.head(hidden).squeeze(-1)
        return out


class _LSTM(nn.Module):
    """An LSTM over the decisions' tokens; its last hidden state regresses the reward."""

    def __init__(self, layout: _Layout, hidden: int) -> None:
        super().__init__()
        self.pos = nn.Embedding(layout.pos_vocab, hidden, padding_idx=0, dtype=_F64)
        self.shared = nn.Embedding(layout.shared_vocab, hidden, padding_idx=0, dtype=_F64)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True, dtype=_F64)
        self.head = nn.Linear(hidden, 1, dtype=_F64)

    def reset(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            bound = 1 / math.sqrt(self.lstm.hidden_size)
            for p in [*self.lstm.parameters(), *self.head.parameters()]:
                p.uniform_(-bound, bound, generator=generator)
            self.shared.weight.normal_(0.0, 1.0, generator=generator)
            self.shared.weight[0] = 0.0
            self.pos.weight.zero_()  # see NOTE (c)

    def state(
        self, pos: torch.Tensor, shared: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The LSTM's (h, c) after equal-length token sequences (None after none)."""
        if pos.shape[1] == 0:
            return None
        _, (h, c) = self.lstm(self.pos(pos) + self.shared(shared))
        return h, c

    def finish(
        self,
        pos: torch.Tensor,
        shared: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> torch.Tensor:
        """The prediction after equal-length sequences continued from ``state``."""
        _, (h, _) = self.lstm(self.pos(pos) + self.shared(shared), state)
        value: torch.Tensor = self.head(h[-1]).squeeze(-1)
        return value

    def forward(self, pos: torch.Tensor, shared: torch.Tensor, share: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.pos(pos) + self.shared(shared))
        last = (pos > 0).sum(1) - 1  # padding comes after the tokens, so it changes nothing
        value: torch.Tensor = self.head(out[torch.arange(pos.shape[0]), last]).squeeze(-1)
        return value


class Surrogate:
    """An ensemble of predictors of the reward of b-block cells (b from 1 to ``blocks``)."""

    def __init__(
        self,
        sizes: tuple[int, ...],
        blocks_of: tuple[int, ...],
        blocks: int,
        predictor: str = "lstm",
        ensemble: int = 5,
        *,
        hidden: int = 100,
        epochs: int = 100,
        lr: float = 0.01,
        batch_size: int = 64,
    ) -> None:
        """Predictors for vectors with these decision sizes and blocks (nothing trained yet)."""
        self.layout = _Layout(sizes, blocks_of, blocks)
        self.kind, self.size, self.hidden = predictor, ensemble, hidden
        self.epochs, self.lr, self.batch_size = epochs, lr, batch_size
        self.members: list[_MLP | _LSTM] = []

    def _member(self, generator: torch.Generator) -> _MLP | _LSTM:
        cls: type[_MLP | _LSTM] = _LSTM if self.kind == "lstm" else _MLP
        with torch.random.fork_rng(devices=[]):  # nn's own initialisation draws globally
            model = cls(self.layout, self.hidden)
        model.reset(generator)
        return model

    def fit(self, vectors: Sequence[Vector], rewards: Sequence[float], seed: int) -> None:
        """Train ``ensemble`` new predictors on these results; member i from (seed, i)."""
        pos, shared, share = self.layout.encode(vectors)
        y = torch.tensor(rewards, dtype=_F64)
        std = float(y.std()) if len(rewards) > 1 else 0.0
        y = (y - y.mean()) / (std if std > 0 else 1.0)
        with one_thread():
            self.members = [
                self._train(pos, shared, share, y, seeded(seed, "member", m))
                for m in range(self.size)
            ]

    def _train(
        self,
        pos: torch.Tensor,
        shared: torch.Tensor,
        share: torch.Tensor,
        y: torch.Tensor,
        seed: int,
    ) -> _MLP | _LSTM:
        generator = torch.Generator().manual_seed(seed)
        model = self._member(generator)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
        for _ in range(self.epochs):
            order = torch.randperm(len(y), generator=generator)
            for start in range(0, len(y), self.batch_size):
                rows = order[start : start + self.batch_size]
                loss = torch.mean((model(pos[rows], shared[rows], share[rows]) - y[rows]) ** 2)
                optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
        model.eval()
        return model

    def score_children(self, n: int, parents: torch.Tensor, combos: torch.Tensor) -> torch.Tensor:
        """The ensemble's mean prediction for every child (parent-major) of ``parents``."""
        total = len(parents) * combos.shape[1]
        out = torch.zeros(total, dtype=_F64)
        with torch.no_grad(), one_thread():
            for model in self.members:
                if isinstance(model, _LSTM):
                    out += self._lstm_children(model, n, parents, combos)
                    continue
                for start in range(0, total, _CHUNK):
                    flat = torch.arange(start, min(start + _CHUNK, total))
                    rows = self.layout.children(n, parents, combos, flat)
                    out[start : start + len(flat)] += model(*self.layout.tokens(rows, n))
        return out / max(1, len(self.members))

    def _lstm_children(
        self, model: _LSTM, n: int, parents: torch.Tensor, combos: torch.Tensor
    ) -> torch.Tensor:
        """One LSTM's predictions, each parent's tokens read once (block n's come last)."""
        total, width = len(parents) * combos.shape[1], combos.shape[1]
        pos, shared, _ = self.layout.tokens(parents, n - 1)
        states = model.state(pos, shared)
        start_new = len(self.layout.positions[n - 1])  # block n's tokens follow the parent's
        out = torch.empty(total, dtype=_F64)
        for start in range(0, total, _CHUNK):
            flat = torch.arange(start, min(start + _CHUNK, total))
            pos, shared, _ = self.layout.tokens(self.layout.children(n, parents, combos, flat), n)
            p = flat // width
            state = None if states is None else (states[0][:, p], states[1][:, p])
            out[start : start + len(flat)] = model.finish(
                pos[:, start_new:], shared[:, start_new:], state
            )
        return out

    def predict(self, vectors: Sequence[Vector]) -> list[float]:
        """The ensemble's mean prediction for vectors of any block counts."""
        pos, shared, share = self.layout.encode(vectors)
        out = torch.zeros(len(vectors), dtype=_F64)
        with torch.no_grad(), one_thread():
            for model in self.members:
                out += model(pos, shared, share)
        return (out / max(1, len(self.members))).tolist()

    def to_bytes(self) -> bytes:
        """Every member's weights as safetensors bytes (``m.{i}.{name}``)."""
        return pack(
            {f"m.{i}.{k}": v for i, m in enumerate(self.members) for k, v in m.state_dict().items()}
        )

    def load_bytes(self, data: bytes) -> None:
        """Restore weights written by ``to_bytes``."""
        tensors = unpack(data)
        count = len({k.split(".")[1] for k in tensors})
        self.members = []
        for i in range(count):
            model = self._member(torch.Generator().manual_seed(0))
            prefix = f"m.{i}."
            model.load_state_dict(
                {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            )
            model.eval()
            self.members.append(model)
