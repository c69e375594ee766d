"""The training loop: a compiled genotype trained by its recipe, resumable epoch by epoch.

Pipeline stage: training. Imports torch, ``nasgen.api``, ``nasgen.files`` and the rest of
``nasgen.training``.

What a step does (DARTS ``cnn/train.py``, NASNet, ENAS): SGD with momentum and weight decay at
the epoch's learning rate; cross-entropy on the logits plus ``aux_weight`` x cross-entropy on
the auxiliary head's (training only); ScheduledDropPath at ``drop_path x epoch / epochs``;
gradient clipping by global norm. Evaluation is in eval mode: no drop path, no auxiliary head.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from nasgen import api
from nasgen.errors import NasgenError
from nasgen.files import atomic_path
from nasgen.training.data import Augment, DataSet, batches
from nasgen.training.recipe import Recipe, learning_rate
from nasgen.training.run import RunDir

__all__ = [
    "EpochStats",
    "Fit",
    "Speed",
    "derived_seed",
    "effective_augment",
    "evaluate",
    "fit",
    "make_optimizer",
    "train_epoch",
]

OnBatch = Callable[[int, int, int, float, float], None]
"""Progress callback: (epoch, batch, batches, loss so far, accuracy so far)."""


def derived_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed for one purpose of one epoch, from the run's seed (stable everywhere)."""
    text = "/".join(map(str, (seed, *parts))).encode("utf-8")
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1


@dataclass(frozen=True, slots=True)
class EpochStats:
    """One epoch's numbers (the metrics.jsonl line)."""

    epoch: int
    lr: float
    drop_path: float
    train_loss: float
    train_acc: float
    valid_loss: float | None
    valid_acc: float | None
    images_per_s: float
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """As a JSON object."""
        return {k: getattr(self, k) for k in self.__slots__}


def _loss(
    model: nn.Module, out: Tensor | tuple[Tensor, Tensor], y: Tensor, smooth: float
) -> tuple[Tensor, Tensor]:
    criterion = nn.CrossEntropyLoss(label_smoothing=smooth)
    if isinstance(out, tuple):
        logits, aux = out
        weight = float(getattr(model, "aux_weight", 0.0))
        return criterion(logits, y) + weight * criterion(aux, y), logits
    return criterion(out, y), out


@dataclass(frozen=True, slots=True)
class Speed:
    """Mixed precision (bfloat16 autocast: no loss scaling needed) and the channels-last layout.

    Both default to on for CUDA and off for the CPU (where they are allowed, for tests).
    """

    amp: bool = False
    channels_last: bool = False

    @staticmethod
    def for_device(device: torch.device, amp: bool | None = None, cl: bool | None = None) -> Speed:
        """The defaults of a device, with explicit choices kept."""
        cuda = device.type == "cuda"
        return Speed(cuda if amp is None else amp, cuda if cl is None else cl)

    def inputs(self, x: Tensor) -> Tensor:
        """A batch in the layout the model runs in."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def autocast(self, device: torch.device) -> Any:
        """The autocast context of a forward pass."""
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.amp)


_UNFLIPPABLE = ("digits",)
"""Data sets a mirror image changes the class of (handwritten digits)."""


def effective_augment(recipe: Recipe, data: DataSet) -> Augment:
    """The recipe's augmentation for this data: pad and cutout scaled from 32-pixel CIFAR.

    The recipes state pad 4 and cutout 16 for 32x32 images; an 8x8 digit gets pad 1 and
    cutout 4. Handwritten digits are not flipped (a mirrored 2 is no 2).
    """
    scale = data.size / 32
    flip = recipe.flip and data.name not in _UNFLIPPABLE
    return Augment(round(recipe.pad * scale), flip, round(recipe.cutout * scale))


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: DataSet,
    recipe: Recipe,
    epoch: int,
    seed: int,
    *,
    device: torch.device,
    max_batches: int | None = None,
    on_batch: OnBatch | None = None,
    speed: Speed = Speed(),
) -> tuple[float, float, int, float]:
    """One epoch of training: (mean loss, accuracy, images, seconds)."""
    torch.manual_seed(derived_seed(seed, "train", epoch))  # drop path, dropout
    generator = torch.Generator().manual_seed(derived_seed(seed, "data", epoch))
    augment = effective_augment(recipe, data)
    lr = learning_rate(recipe, epoch)
    for group in optimizer.param_groups:
        group["lr"] = lr
    model.train()
    set_progress = getattr(model, "set_progress", None)
    if callable(set_progress):
        set_progress(epoch / recipe.epochs)
    steps = max(1, len(data) // recipe.batch_size)
    if max_batches is not None:
        steps = min(steps, max_batches)
    total_loss, correct, seen = 0.0, 0, 0
    start = time.perf_counter()
    for step, (x, y) in enumerate(
        batches(
            data,
            recipe.batch_size,
            generator=generator,
            augment=augment,
            drop_last=len(data) >= recipe.batch_size,
        )
    ):
        if step >= steps:
            break
        x, y = speed.inputs(x.to(device, non_blocking=True)), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with speed.autocast(device):
            loss, logits = _loss(model, model(x), y, recipe.label_smoothing)
        loss.backward()  # type: ignore[no-untyped-call]
        if recipe.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        optimizer.step()
        total_loss += float(loss.detach()) * len(y)
        correct += int((logits.detach().argmax(1) == y).sum())
        seen += len(y)
        if on_batch is not None:
            on_batch(epoch, step + 1, steps, total_loss / seen, correct / seen)
    return total_loss / max(seen, 1), correct / max(seen, 1), seen, time.perf_counter() - start


@torch.no_grad()
def evaluate(
    model: nn.Module, data: DataSet, batch_size: int, device: torch.device, speed: Speed = Speed()
) -> tuple[float, float]:
    """(mean loss, accuracy) in eval mode, in data order."""
    model.eval()
    criterion = nn.CrossEntropyLoss(reduction="sum")
    total, correct = 0.0, 0
    for x, y in batches(data, batch_size, generator=None, augment=None):
        x, y = speed.inputs(x.to(device)), y.to(device)
        with speed.autocast(device):
            logits = model(x).float()
        total += float(criterion(logits, y))
        correct += int((logits.argmax(1) == y).sum())
    return total / max(len(data), 1), correct / max(len(data), 1)


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.SGD:
    """SGD with the recipe's momentum, Nesterov flag and weight decay."""
    return torch.optim.SGD(
        model.parameters(),
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov and recipe.momentum > 0,
        weight_decay=recipe.weight_decay,
    )


def _save_optimizer(optimizer: torch.optim.Optimizer, model: nn.Module, path: Path) -> None:
    tensors = {}
    for i, p in enumerate(model.parameters()):
        buf = optimizer.state.get(p, {}).get("momentum_buffer")
        if buf is not None:
            tensors[f"momentum.{i}"] = buf.detach().contiguous().cpu()
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp))


def _load_optimizer(optimizer: torch.optim.Optimizer, model: nn.Module, path: Path) -> None:
    try:
        tensors = load_file(str(path))
    except Exception as err:  # safetensors raises its own error types
        raise NasgenError("E922", f"{path}: not a readable optimizer state ({err})") from None
    params = list(model.parameters())
    for name, tensor in tensors.items():
        index = int(name.split(".", 1)[1])
        if index >= len(params) or params[index].shape != tensor.shape:
            raise NasgenError("E922", f"{path}: {name} does not fit the model")
        optimizer.state[params[index]]["momentum_buffer"] = tensor.to(params[index].device)


@dataclass
class Fit:
    """A training in progress: the run, model, optimizer, data and where it stands."""

    run: RunDir
    model: nn.Module
    optimizer: torch.optim.Optimizer
    recipe: Recipe
    seed: int
    train_data: DataSet
    valid_data: DataSet | None
    device: torch.device
    history: list[dict[str, Any]]
    best_acc: float | None = None
    best_epoch: int = 0
    max_batches: int | None = None
    speed: Speed = Speed()

    def resume_from(self, state: dict[str, Any]) -> None:
        """Restore the optimizer and counters of a committed epoch (the model is loaded)."""
        _, optim_path = self.run.epoch_files(state["epoch"])
        _load_optimizer(self.optimizer, self.model, optim_path)
        self.history = list(state["history"])
        self.best_acc, self.best_epoch = state.get("best_acc"), state.get("best_epoch", 0)


def fit(
    job: Fit, on_batch: OnBatch | None = None, on_epoch: Callable[[EpochStats], None] | None = None
) -> list[dict[str, Any]]:
    """Train from the epoch after the last committed one to the recipe's last; the history."""
    for epoch in range(len(job.history), job.recipe.epochs):
        loss, acc, images, seconds = train_epoch(
            job.model, job.optimizer, job.train_data, job.recipe, epoch, job.seed,
            device=job.device, max_batches=job.max_batches, on_batch=on_batch, speed=job.speed,
        )  # fmt: skip
        valid: tuple[float | None, float | None] = (None, None)
        if job.valid_data is not None and len(job.valid_data):
            batch = 2 * job.recipe.batch_size
            valid = evaluate(job.model, job.valid_data, batch, job.device, job.speed)
        drop = float(getattr(job.model, "drop_path_prob", 0.0)) * epoch / job.recipe.epochs
        stats = EpochStats(
            epoch + 1, learning_rate(job.recipe, epoch), drop, loss, acc, valid[0], valid[1],
            images / seconds if seconds > 0 else 0.0, seconds,
        )  # fmt: skip
        job.history.append(stats.to_json())
        _commit(job, stats)
        if on_epoch is not None:
            on_epoch(stats)
    return job.history


def _commit(job: Fit, stats: EpochStats) -> None:
    model_path, optim_path = job.run.epoch_files(stats.epoch)
    model = job.model.to("cpu") if job.device.type != "cpu" else job.model
    api.save(model, model_path)
    _save_optimizer(job.optimizer, job.model, optim_path)
    score = stats.valid_acc if stats.valid_acc is not None else stats.train_acc
    if job.best_acc is None or score > job.best_acc:
        job.best_acc, job.best_epoch = score, stats.epoch
    job.model.to(job.device)
    state = {
        "epoch": stats.epoch,
        "best_acc": job.best_acc,
        "best_epoch": job.best_epoch,
        "history": job.history,
    }
    job.run.commit(state)
    for name, epoch in (("last", stats.epoch), ("best", job.best_epoch)):
        source = job.run.epoch_files(epoch)[0]
        with atomic_path(job.run.path / f"{name}.safetensors") as tmp:
            tmp.write_bytes(source.read_bytes())
