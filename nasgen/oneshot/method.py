"""What a one-shot method is to the search loop: epochs in, a derived architecture out.

Pipeline stage: one-shot. Imports torch, ``nasgen.training`` (data) and ``nasgen.policy``.

NOTE: [One-shot methods know nothing of files] Like a multi-trial strategy, a method (DARTS,
ENAS) is a small object: ``run_epoch`` trains its supernet for one epoch and says which
architecture of the space it derives now (a choice vector), with the epoch's numbers;
``state_dict`` / ``load_state_dict`` give and take everything needed to go on exactly (the
supernet's weights and optimizer states as one safetensors ``checkpoint`` value, the rest as
JSON). Every random draw of epoch ``e`` comes from generators seeded by (seed, purpose, e),
so an epoch re-run from the state saved before it gives the same numbers bit for bit (on
one device, at a fixed thread count). The loop (``nasgen.search.oneshot_loop``) owns the
journal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from nasgen.policy.tensors import load_adam, pack, save_adam, unpack
from nasgen.training.data import DataSet, batches

__all__ = [
    "ArchMap",
    "Checkpoint",
    "EpochData",
    "EpochResult",
    "OnBatch",
    "OneShotMethod",
    "cosine",
    "frozen_bn_stats",
    "steps_of",
]

OnBatch = Callable[[str, int, int], None]
"""Progress inside an epoch: (phase, step, steps)."""


@dataclass(frozen=True, slots=True, eq=False)
class EpochData:
    """The data of a one-shot search: the weights' split, the architecture's split, batching."""

    train: DataSet
    valid: DataSet
    batch: int
    max_batches: int | None
    device: torch.device


@dataclass(frozen=True, slots=True)
class ArchMap:
    """Probabilities per choice point of one cell kind: what the report's heat map shows.

    DARTS: one row per edge, the softmax of its alphas over the op list; ENAS: one row per
    decision, how often each option was drawn at derivation (rows may differ in length).
    """

    rows: list[str]
    columns: list[list[str]]
    values: list[list[float]]

    def to_json(self) -> dict[str, Any]:
        """As JSON data."""
        return {"rows": self.rows, "columns": self.columns, "values": self.values}


@dataclass(frozen=True, slots=True)
class EpochResult:
    """One epoch: the derived architecture, its numbers and, per cell kind, an ``ArchMap``."""

    choices: tuple[int, ...]
    metrics: dict[str, float]
    arch: dict[str, ArchMap]


class OneShotMethod(Protocol):
    """A weight-sharing search, one epoch at a time (see the module notes)."""

    metrics: tuple[str, ...]

    def run_epoch(
        self, epoch: int, epochs: int, data: EpochData, on_batch: OnBatch | None
    ) -> EpochResult:
        """Train one epoch and derive."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to go on: JSON data and one ``checkpoint`` bytes value."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``state_dict``'s output."""
        ...


def steps_of(data: DataSet, batch: int, max_batches: int | None) -> int:
    """Batches an epoch takes: full batches of ``data`` (at least 1), capped."""
    steps = max(1, len(data) // batch)
    return steps if max_batches is None else min(steps, max_batches)


def cycle(
    data: DataSet, batch: int, generator: torch.Generator, device: torch.device
) -> Iterator[tuple[Tensor, Tensor]]:
    """Batches of ``data`` without end, reshuffled each pass, on ``device``."""
    while True:
        for x, y in batches(data, batch, generator=generator, augment=None, drop_last=True):
            yield x.to(device), y.to(device)
        if len(data) < batch:  # one short batch per pass
            for x, y in batches(data, batch, generator=generator, augment=None):
                yield x.to(device), y.to(device)


def cosine(epoch: int, epochs: int, high: float, low: float) -> float:
    """Cosine annealing from ``high`` at epoch 0 towards ``low`` (``CosineAnnealingLR``)."""
    return low + 0.5 * (high - low) * (1 + math.cos(math.pi * epoch / max(epochs, 1)))


@contextmanager
def frozen_bn_stats(module: nn.Module) -> Iterator[None]:
    """BN normalises with the batch's statistics and leaves its running ones as they are.

    ENAS scores sampled architectures on validation batches in training mode; a momentum of
    0 keeps the running statistics (what the weights' steps build) unchanged.
    """
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [
        (m.momentum, None if m.num_batches_tracked is None else m.num_batches_tracked.clone())
        for m in bns
    ]
    was = module.training
    module.train()
    for m in bns:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, tracked) in zip(bns, saved, strict=True):
            m.momentum = momentum
            if tracked is not None and m.num_batches_tracked is not None:
                m.num_batches_tracked.copy_(tracked)
        module.train(was)


@dataclass(frozen=True, slots=True, eq=False)
class Checkpoint:
    """Modules, optimizers and loose tensors packed as one safetensors value, and restored."""

    modules: Mapping[str, nn.Module]
    optimizers: Mapping[str, tuple[torch.optim.Optimizer, Sequence[Tensor]]]
    tensors: Mapping[str, Mapping[str, Tensor]] = field(default_factory=dict)

    def pack(self) -> bytes:
        """Every module's ``state_dict`` and every optimizer's per-parameter state."""
        tensors: dict[str, Tensor] = {}
        for name, module in self.modules.items():
            tensors.update({f"{name}.{k}": v for k, v in module.state_dict().items()})
        for name, (optimizer, params) in self.optimizers.items():
            tensors.update(save_adam(optimizer, params, name))
        for name, loose in self.tensors.items():
            tensors.update({f"{name}.{k}": v for k, v in loose.items()})
        return pack(tensors)

    def load(self, data: bytes) -> None:
        """Restore what ``pack`` wrote, each tensor on its module's device."""
        tensors = unpack(data)
        for name, module in self.modules.items():
            head = f"{name}."
            module.load_state_dict(
                {k[len(head) :]: v for k, v in tensors.items() if k.startswith(head)}
            )
        for name, (optimizer, params) in self.optimizers.items():
            load_adam(optimizer, params, tensors, name)
        with torch.no_grad():
            for name, loose in self.tensors.items():
                for k, v in loose.items():
                    v.copy_(tensors[f"{name}.{k}"])
