"""The in-memory data set every reader returns, its error class and shared helpers.

Pipeline stage: training (imports torch). Imports ``nasgen.errors`` only from nasgen.

Error codes of the data layer (stable):
  * ``E901`` an unknown or malformed data spec (``cifar1O:...``, ``synthetic:abc``);
  * ``E902`` a missing folder or file;
  * ``E903`` a malformed file (wrong size, bad label, undecodable image);
  * ``E904`` an input over a limit, refused before it is read;
  * ``E905`` a bad argument (split name, fraction, batch size, augmentation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from nasgen.errors import NasgenError

__all__ = ["DataError", "DataSet", "channel_stats", "split_data", "take"]

# Elements per chunk when summing pixels in int64: bounds the temporary memory to ~32 MiB.
_STATS_CHUNK = 1 << 22


class DataError(NasgenError):
    """A data set cannot be read or used as asked (E9xx)."""

    code = "E900"


@dataclass(frozen=True, slots=True, eq=False)
class DataSet:
    """Images and labels held in memory, with the statistics used to normalise them.

    Attributes:
        name: The canonical spec it was loaded from (``digits``, ``cifar10:DIR``...).
        images: ``uint8``, ``N x C x H x W``.
        labels: ``int64``, ``N``, each in ``[0, classes)``.
        classes: The number of classes.
        mean: Per-channel mean in ``[0, 1]`` units (of the training split).
        std: Per-channel standard deviation in ``[0, 1]`` units.
        synthetic: True only for the generated ``synthetic:N`` test set.
        source: Where the bytes came from (a citation or a path).

    """

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    synthetic: bool
    source: str

    def __post_init__(self) -> None:
        # NOTE: [Internal invariants] Readers build these; a violation is a nasgen bug, not a
        # user error, so it is an assert-like ValueError rather than a coded DataError.
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"{self.name}: images must be uint8 N x C x H x W")
        if self.labels.dtype != torch.int64 or self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"{self.name}: labels must be int64 with one per image")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError(f"{self.name}: mean and std need one value per channel")

    @property
    def channels(self) -> int:
        """The number of channels ``C``."""
        return int(self.images.shape[1])

    @property
    def size(self) -> int:
        """The image side ``H == W``; a ``DataError`` (E903) for non-square images."""
        h, w = int(self.images.shape[2]), int(self.images.shape[3])
        if h != w:
            raise DataError("E903", f"{self.name}: images are {h}x{w}; nasgen trains on squares")
        return h

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        shape = "x".join(str(int(s)) for s in self.images.shape)
        kind = ", synthetic" if self.synthetic else ""
        return f"DataSet({self.name!r}, {shape}, {self.classes} classes{kind})"


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population std of ``uint8`` images, in ``[0, 1]`` units.

    Sums are exact int64 over chunks, so the result does not depend on the chunking and
    memory stays bounded for large data sets. Empty data gives mean 0 and std 1.
    """
    n, c = int(images.shape[0]), int(images.shape[1])
    count = n * int(images.shape[2]) * int(images.shape[3])
    if count == 0:
        return (0.0,) * c, (1.0,) * c
    per_image = max(1, int(images[0].numel()))
    step = max(1, _STATS_CHUNK // per_image)
    total = torch.zeros(c, dtype=torch.int64)
    squares = torch.zeros(c, dtype=torch.int64)
    for start in range(0, n, step):
        chunk = images[start : start + step].to(torch.int64)
        total += chunk.sum(dim=(0, 2, 3))
        squares += (chunk * chunk).sum(dim=(0, 2, 3))
    means, stds = [], []
    for s, q in zip(total.tolist(), squares.tolist(), strict=True):
        mean = s / count
        var = max(q / count - mean * mean, 0.0)
        means.append(mean / 255.0)
        stds.append(max(var**0.5 / 255.0, 1e-6))  # a constant channel must not divide by 0
    return tuple(means), tuple(stds)


def take(data: DataSet, index: torch.Tensor | Sequence[int], name: str | None = None) -> DataSet:
    """The images at ``index`` as a new data set that keeps ``data``'s statistics."""
    idx = torch.as_tensor(index, dtype=torch.int64)
    return DataSet(
        name=data.name if name is None else name,
        images=data.images[idx].contiguous(),
        labels=data.labels[idx].contiguous(),
        classes=data.classes,
        mean=data.mean,
        std=data.std,
        synthetic=data.synthetic,
        source=data.source,
    )


def split_data(data: DataSet, valid_fraction: float, seed: int) -> tuple[DataSet, DataSet]:
    """Split ``data`` into (train, valid), ``valid_fraction`` of each class going to valid.

    Stratified and deterministic: each class's indices are permuted by a ``torch.Generator``
    seeded with ``seed`` (classes in label order) and the first ``round(n_k * valid_fraction)``
    go to valid. Both parts keep the original order and ``data``'s mean and std. A fraction of
    0 gives an empty valid set.
    """
    if not 0.0 <= valid_fraction < 1.0:
        raise DataError("E905", f"{data.name}: valid fraction {valid_fraction} is outside [0, 1)")
    generator = torch.Generator().manual_seed(seed)
    valid: list[torch.Tensor] = []
    for label in range(data.classes):
        members = torch.nonzero(data.labels == label).flatten()
        if members.numel():
            order = members[torch.randperm(members.numel(), generator=generator)]
            valid.append(order[: round(members.numel() * valid_fraction)])
    in_valid = torch.zeros(len(data), dtype=torch.bool)
    if valid:
        in_valid[torch.cat(valid)] = True
    train_index = torch.nonzero(~in_valid).flatten()
    if not train_index.numel():
        raise DataError(
            "E905", f"{data.name}: a valid fraction of {valid_fraction} leaves no train"
        )
    return take(data, train_index), take(data, torch.nonzero(in_valid).flatten())
