"""Training recipes: the hyper-parameters each convention's paper and released code train with.

Pipeline stage: training. Imports ``nasgen.errors`` only (no torch).

Every value can be overridden (``nasgen train --lr 0.05``) and is recorded in the run's
``config.json``. Sources:
  - ``darts``: quark0/darts ``cnn/train.py`` (Liu et al. 2019): SGD 0.025, momentum 0.9,
    weight decay 3e-4, cosine to 0 over 600 epochs, batch 96, drop path 0.2 rising linearly,
    auxiliary weight 0.4, cutout 16, gradient clipping 5, pad-4 crop and flip.
  - ``tf_slim``: NASNet CIFAR (Zoph et al. 2018, TF-slim ``nasnet.py`` ``cifar_config``): lr
    0.025 cosine, 600 epochs, batch 32, drop-path keep 0.6, auxiliary weight 0.4, weight decay
    5e-4, clipping 5. The paper's best CIFAR numbers add cutout; the TF-slim config has none.
  - ``tf_amoeba``: AmoebaNet CIFAR (Real et al. 2019): 600 epochs, batch 128, lr 0.024 cosine;
    the paper states no other value, so the rest is NASNet's.
  - ``enas``: melodyguan/enas ``scripts/cifar10_micro_final.sh`` (Pham et al. 2018): 630
    epochs = cosine restarts with T0 10, Tmul 2 between 0.05 and 0.0005, batch 144, Nesterov
    momentum 0.9, L2 2e-4, drop-path keep 0.6, auxiliary weight 0.4, gradient bound 5, cutout 16.
  - ``nb201``: NAS-Bench-201's 200-epoch setting (Dong & Yang 2020, AutoDL ``configs/
    nas-benchmark/hyper-opts/200E.config``): SGD 0.1 Nesterov, momentum 0.9, weight decay 5e-4,
    cosine to 0, batch 256, pad-4 crop and flip, no auxiliary head or drop path.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from nasgen.errors import NasgenError, did_you_mean

__all__ = ["RECIPES", "Recipe", "learning_rate", "recipe_for"]


@dataclass(frozen=True, slots=True)
class Recipe:
    """How to train: optimiser, schedule, regularisation, augmentation."""

    name: str
    epochs: int
    batch_size: int
    lr: float
    lr_min: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 3e-4
    schedule: str = "cosine"  # cosine | restarts (SGDR: restart_t0, restart_mult)
    restart_t0: int = 10
    restart_mult: int = 2
    drop_path: float | None = None  # None: the network's own `drop_path` setting
    aux_weight: float | None = None  # None: the network's own `aux_weight`
    grad_clip: float = 5.0
    pad: int = 4
    flip: bool = True
    cutout: int = 0
    valid_fraction: float = 0.0
    label_smoothing: float = 0.0

    def with_overrides(self, **values: Any) -> Recipe:
        """A copy with some values replaced; unknown names and bad values are user errors."""
        known = {f.name: f for f in fields(self)}
        for key in values:
            if key not in known:
                hint = did_you_mean(key, known) or f"keys: {', '.join(known)}"
                raise NasgenError("E910", f"no recipe value {key!r}", hint=hint)
        out = replace(self, **values)
        out.check()
        return out

    def check(self) -> None:
        """Refuse values no training can use."""
        problems = [
            (self.epochs < 1, "epochs must be at least 1"),
            (self.batch_size < 1, "batch_size must be at least 1"),
            (not self.lr > 0, "lr must be positive"),
            (self.schedule not in ("cosine", "restarts"), "schedule is cosine or restarts"),
            (not 0 <= self.valid_fraction < 1, "valid_fraction must be in [0, 1)"),
            (self.cutout < 0 or self.pad < 0, "cutout and pad must not be negative"),
        ]
        for bad, message in problems:
            if bad:
                raise NasgenError("E911", f"recipe {self.name}: {message}")

    def to_json(self) -> dict[str, Any]:
        """As JSON data."""
        return asdict(self)


RECIPES: dict[str, Recipe] = {
    "darts": Recipe("darts", 600, 96, 0.025, weight_decay=3e-4, cutout=16),
    "tf_slim": Recipe("tf_slim", 600, 32, 0.025, weight_decay=5e-4),
    "tf_amoeba": Recipe("tf_amoeba", 600, 128, 0.024, weight_decay=5e-4),
    "enas": Recipe(
        "enas",
        630,
        144,
        0.05,
        lr_min=0.0005,
        nesterov=True,
        weight_decay=2e-4,
        schedule="restarts",
        cutout=16,
    ),
    "nb201": Recipe("nb201", 200, 256, 0.1, nesterov=True, weight_decay=5e-4, grad_clip=0.0),
}


def recipe_for(convention: str) -> Recipe:
    """The recipe of a convention (a convention without its own trains like DARTS)."""
    return RECIPES.get(convention, RECIPES["darts"])


def learning_rate(recipe: Recipe, epoch: int) -> float:
    """The learning rate of ``epoch`` (0-based): a pure function, so a resumed run agrees."""
    span, start = recipe.epochs, 0
    if recipe.schedule == "restarts":
        span = recipe.restart_t0
        while epoch >= start + span:
            start += span
            span *= recipe.restart_mult
    t = (epoch - start) / span
    return recipe.lr_min + 0.5 * (recipe.lr - recipe.lr_min) * (1 + math.cos(math.pi * t))
