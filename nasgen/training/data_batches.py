"""Mini-batches of a ``DataSet``: shuffled, augmented on the whole batch at once, normalised.

Pipeline stage: training (imports torch). Imports ``nasgen.training.data_set`` only.

NOTE: [DARTS augmentation, vectorised] ``Augment`` reproduces DARTS's CIFAR training transform
(``RandomCrop(32, padding=4)``, ``RandomHorizontalFlip()``, ``ToTensor``, ``Normalize``,
``Cutout(16)``) on a whole batch with index arithmetic instead of a per-image loop:
  1. crop: the batch is zero-padded by ``pad`` (black, as torchvision's fill=0) and each image
     reads an ``H x W`` window at its own offset in ``[0, 2 * pad]``, via one gather;
  2. flip: half the images (a per-sample mask) read their columns in reverse, in the same gather;
  3. the pixels are normalised with the data set's mean and std;
  4. cutout: a per-sample square mask, centred uniformly in the image, ``cutout // 2`` either
     side and clipped at the borders (DARTS's ``Cutout``), is set to 0 after normalisation.
Random numbers are drawn from the batch's ``generator`` in a fixed order (permutation, then
per batch: offsets, flips, cutout centres), so one generator state gives bit-identical epochs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.nn import functional

from nasgen.training.data_set import DataError, DataSet

__all__ = ["Augment", "batches"]


@dataclass(frozen=True, slots=True)
class Augment:
    """Per-batch augmentation: random crop after zero padding, horizontal flip, cutout.

    Attributes:
        pad: Pixels of zero padding each side before a random crop back to size (0: none).
        flip: Mirror each image left-right with probability 1/2.
        cutout: Side of the square set to 0 after normalisation (0: none).

    """

    pad: int = 0
    flip: bool = False
    cutout: int = 0

    def __post_init__(self) -> None:
        if self.pad < 0 or self.cutout < 0:
            raise DataError(
                "E905", f"augment: pad {self.pad} and cutout {self.cutout} must be >= 0"
            )

    @property
    def is_identity(self) -> bool:
        """True when it changes nothing."""
        return self.pad == 0 and not self.flip and self.cutout == 0


def batches(
    data: DataSet,
    batch_size: int,
    *,
    generator: torch.Generator | None,
    augment: Augment | None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(images, labels)`` batches: float32 normalised ``B x C x H x W`` and int64 ``B``.

    Args:
        data: The data set.
        batch_size: Images per batch (the last one may be smaller unless ``drop_last``).
        generator: Shuffles the order and draws the augmentation; None keeps the data order
            (augmentation then draws from torch's global generator).
        augment: Augmentation applied to every batch, or None.
        drop_last: Skip a final batch smaller than ``batch_size``.

    """
    if batch_size < 1:
        raise DataError("E905", f"{data.name}: batch size {batch_size} must be at least 1")
    n = len(data)
    order = torch.arange(n) if generator is None else torch.randperm(n, generator=generator)
    shape = (1, data.channels, 1, 1)
    shift = torch.tensor(data.mean, dtype=torch.float32).view(shape) * 255.0
    scale = 1.0 / (torch.tensor(data.std, dtype=torch.float32).view(shape) * 255.0)
    active = augment if augment is not None and not augment.is_identity else None
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]
        if drop_last and index.numel() < batch_size:
            break
        images = data.images[index]
        if active is not None:
            images = _crop_flip(images, active, generator)
        x = (images.to(torch.float32) - shift) * scale
        if active is not None and active.cutout > 0:
            x = _cutout(x, active.cutout, generator)
        yield x, data.labels[index]


def _crop_flip(
    images: torch.Tensor, augment: Augment, generator: torch.Generator | None
) -> torch.Tensor:
    """Random crop of the zero-padded images and random flip, as one gather (uint8 in, out)."""
    b, c, h, w = images.shape
    if augment.pad == 0 and not augment.flip:
        return images
    p = augment.pad
    if p > 0:
        offsets = torch.randint(0, 2 * p + 1, (b, 2), generator=generator)
        images = functional.pad(images, (p, p, p, p))
    else:
        offsets = torch.zeros((b, 2), dtype=torch.int64)
    rows = offsets[:, 0:1] + torch.arange(h)  # b x h
    cols = torch.arange(w).expand(b, w)
    if augment.flip:
        mirrored = torch.rand(b, generator=generator) < 0.5
        cols = torch.where(mirrored[:, None], cols.flip(1), cols)
    cols = offsets[:, 1:2] + cols  # b x w
    # A flat gather: index of (i, ch, r, col) in the padded batch, built by broadcasting.
    pw = w + 2 * p
    plane = (h + 2 * p) * pw
    base = torch.arange(b).view(b, 1, 1, 1) * (c * plane) + torch.arange(c).view(1, c, 1, 1) * plane
    flat = base + rows.view(b, 1, h, 1) * pw + cols.view(b, 1, 1, w)
    return images.reshape(-1)[flat]


def _cutout(x: torch.Tensor, length: int, generator: torch.Generator | None) -> torch.Tensor:
    """Zero a ``length`` square per image, centred uniformly and clipped (DARTS's Cutout)."""
    b, _, h, w = x.shape
    cy = torch.randint(0, h, (b,), generator=generator)
    cx = torch.randint(0, w, (b,), generator=generator)
    half = length // 2
    ys, xs = torch.arange(h), torch.arange(w)
    in_rows = (ys >= (cy - half)[:, None]) & (ys < (cy + half)[:, None])  # b x h
    in_cols = (xs >= (cx - half)[:, None]) & (xs < (cx + half)[:, None])  # b x w
    mask = in_rows[:, None, :, None] & in_cols[:, None, None, :]
    return x.masked_fill(mask, 0.0)
