"""DARTS (and GDAS) as a one-shot method: epochs of bilevel steps, the DARTS rule after each.

Pipeline stage: one-shot. Imports torch, ``nasgen.training`` (seeds) and the rest of
``nasgen.oneshot``.

An epoch follows the DARTS code's ``train_search.py``: the weights' learning rate is cosine
annealed from 0.025 to 0.001 over the search's epochs (``CosineAnnealingLR``, set at the start
of each epoch); each step takes a batch of the weights' split and one of the architecture's
split (the other half of the training set) and runs ``DartsStep`` (the alphas step, then the
weights step). After the epoch the relaxed supernet is scored on the architecture's split
(``valid_acc``, ``valid_loss``: a weight-sharing number, not a stand-alone accuracy) and the
DARTS rule derives the cell. GDAS (``gumbel``): one Gumbel-softmax draw per edge per forward,
tau annealed linearly from 10 to 0.1 over the epochs (Dong & Yang 2019).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from nasgen.errors import NasgenError
from nasgen.oneshot.darts import DartsConfig, DartsStep
from nasgen.oneshot.method import (
    ArchMap,
    Checkpoint,
    EpochData,
    EpochResult,
    OnBatch,
    cosine,
    cycle,
    steps_of,
)
from nasgen.oneshot.mixed import gdas_tau
from nasgen.oneshot.supernet import edges_of, seeded_supernet
from nasgen.space import SearchSpace
from nasgen.training.data import batches
from nasgen.training.trainer import derived_seed

__all__ = ["DartsSearch", "DartsSearchConfig"]


@dataclass(frozen=True, slots=True)
class DartsSearchConfig:
    """A DARTS search's settings (the DARTS code's defaults)."""

    order: int = 1
    gumbel: bool = False
    C: int = 16
    layers: int = 8
    lr: float = 0.025
    lr_min: float = 0.001
    arch_lr: float = 3e-4
    tau_max: float = 10.0
    tau_min: float = 0.1

    def __post_init__(self) -> None:
        """Refuse settings no DARTS search has (E856)."""
        rates = (self.lr, self.lr_min, self.arch_lr, self.tau_max, self.tau_min)
        if not all(math.isfinite(v) for v in rates):
            raise NasgenError("E856", "darts: every rate and temperature must be finite")
        if self.order not in (1, 2) or (self.gumbel and self.order != 1):
            raise NasgenError(
                "E856", f"darts: order must be 1 or 2, and 1 with gumbel (not {self.order})"
            )
        if self.C < 1 or self.layers < 3 or not self.lr > 0 or not self.arch_lr > 0:
            raise NasgenError("E856", "darts: needs C >= 1, layers >= 3, lr > 0, arch_lr > 0")
        if not 0 <= self.lr_min <= self.lr or not 0 < self.tau_min <= self.tau_max:
            raise NasgenError("E856", "darts: needs 0 <= lr_min <= lr, 0 < tau_min <= tau_max")


def fixed_order(seed: int) -> torch.Generator:
    """The one shuffle of the valid split that every epoch's score reads (classes mixed)."""
    return torch.Generator().manual_seed(derived_seed(seed, "score"))


@torch.no_grad()
def score(forward: Any, data: EpochData, steps: int, seed: int) -> tuple[float, float]:
    """(mean loss, accuracy) of ``forward(x)`` on ``steps`` batches of the valid split.

    The batches are the first of one fixed shuffle (``fixed_order``): the same images every
    epoch, of every class even when ``max_batches`` caps them.
    """
    total, correct, seen = 0.0, 0, 0
    order = fixed_order(seed)
    for s, (x, y) in enumerate(batches(data.valid, data.batch, generator=order, augment=None)):
        if s >= steps:
            break
        x, y = x.to(data.device), y.to(data.device)
        logits = forward(x)
        total += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
        seen += len(y)
    return total / max(seen, 1), correct / max(seen, 1)


class DartsSearch:
    """A DARTS supernet over a space and its two optimisers, an epoch at a time."""

    metrics = ("valid_acc", "valid_loss", "train_loss", "arch_loss", "lr")

    def __init__(
        self,
        space: SearchSpace,
        config: DartsSearchConfig,
        seed: int,
        shape: tuple[int, int, int],
        device: torch.device,
    ) -> None:
        """The supernet for inputs of ``shape`` (channels, size, classes), seeded, on ``device``."""
        self.net = seeded_supernet(space, (config.C, config.layers), shape, seed, device, "darts")
        self.config, self.seed = config, seed
        self.step = DartsStep(
            self.net,
            DartsConfig(order=config.order, lr=config.lr, arch_lr=config.arch_lr, seed=seed),
        )
        self.checkpoint = Checkpoint(
            {"net": self.net},
            {
                "sgd": (self.step.w_optimizer, self.step.weights),
                "adam": (self.step.a_optimizer, self.net.arch_parameters()),
            },
        )

    def run_epoch(
        self, epoch: int, epochs: int, data: EpochData, on_batch: OnBatch | None
    ) -> EpochResult:
        """One epoch of DARTS steps, then the score and the derived cell."""
        cfg = self.config
        lr = cosine(epoch, epochs, cfg.lr, cfg.lr_min)
        for group in self.step.w_optimizer.param_groups:
            group["lr"] = lr
        tau = gdas_tau(epoch, epochs, cfg.tau_max, cfg.tau_min) if cfg.gumbel else None
        self.step.config = replace(self.step.config, tau=tau)
        train = cycle(data.train, data.batch, self._gen("train", epoch), data.device)
        valid = cycle(data.valid, data.batch, self._gen("valid", epoch), data.device)
        steps = steps_of(data.train, data.batch, data.max_batches)
        losses = [0.0, 0.0]
        for s in range(steps):
            loss, arch_loss = self.step.step(next(train), next(valid))
            losses[0] += loss
            losses[1] += arch_loss
            if on_batch is not None:
                on_batch("search", s + 1, steps)
        self.net.eval()
        scored = steps_of(data.valid, data.batch, data.max_batches)
        valid_loss, valid_acc = score(self.net, data, scored, self.seed)
        metrics = {
            "valid_acc": valid_acc,
            "valid_loss": valid_loss,
            "train_loss": losses[0] / steps,
            "arch_loss": losses[1] / steps,
            "lr": lr,
        }
        if tau is not None:
            metrics["tau"] = tau
        rows = [f"{2 + i} <- {j}" for i, j in edges_of(self.net.nodes)]
        arch = {
            kind: ArchMap(
                rows,
                [list(self.net.primitives)] * len(rows),
                torch.softmax(a.detach().cpu().double(), -1).tolist(),
            )
            for kind, a in zip(("normal", "reduce"), self.net.arch_parameters(), strict=True)
        }
        return EpochResult(self.net.derived(), metrics, arch)

    def _gen(self, purpose: str, epoch: int) -> torch.Generator:
        return torch.Generator().manual_seed(derived_seed(self.seed, "darts", purpose, epoch))

    def state_dict(self) -> dict[str, Any]:
        """The step count (GDAS's draws) and the checkpoint."""
        return {"steps": self.step.steps, "checkpoint": self.checkpoint.pack()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``state_dict``'s output."""
        self.step.steps = int(state["steps"])
        self.checkpoint.load(state["checkpoint"])
