"""CIFAR-10 and CIFAR-100 from their official binary distributions, read as raw bytes.

Pipeline stage: training (imports torch and numpy). Imports ``nasgen.training.data_set`` only.

NOTE: [Raw bytes, never pickles] The "python version" of CIFAR is a pickle, and unpickling a
file a user points at runs code. The binary version is a plain array of fixed-size records, so
it is read with ``numpy.frombuffer`` and checked for size before any byte is read:
  * CIFAR-10 (``cifar-10-batches-bin``): ``data_batch_{1..5}.bin`` (train), ``test_batch.bin``;
    a record is 1 label byte (0..9) and 3,072 pixel bytes.
  * CIFAR-100 (``cifar-100-binary``): ``train.bin``, ``test.bin``; a record is a coarse label
    byte (0..19), a fine label byte (0..99) and 3,072 pixel bytes. The fine label is used.
The 3,072 pixel bytes are the 1,024 red, then green, then blue values of a 32 x 32 image, rows
first: exactly ``C x H x W`` order, so a reshape gives the tensor with no transpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nasgen.training.data_set import DataError, DataSet

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "CIFAR100_MEAN", "CIFAR100_STD", "read_cifar"]

# DARTS (quark0/darts, cnn/utils.py, _data_transforms_cifar10): over the CIFAR-10 training set.
CIFAR10_MEAN = (0.49139968, 0.48215827, 0.44653124)
CIFAR10_STD = (0.24703233, 0.24348505, 0.26158768)
# weiaicunzai/pytorch-cifar100 (conf/global_settings.py): over the CIFAR-100 training set.
CIFAR100_MEAN = (0.5070751592371323, 0.48654887331495095, 0.4409178433670343)
CIFAR100_STD = (0.2673342858792401, 0.2564384629170883, 0.27615047132568404)

_PIXELS = 3 * 32 * 32
# The largest official file is CIFAR-100's train.bin (153.7 MB); refuse anything far above it.
_MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Layout:
    kind: str
    folder: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    label_bytes: int  # bytes before the pixels; the last of them is the label used
    classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    citation: str


_LAYOUTS = {
    "cifar10": _Layout(
        "cifar10",
        "cifar-10-batches-bin",
        tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
        ("test_batch.bin",),
        1,
        10,
        CIFAR10_MEAN,
        CIFAR10_STD,
        "CIFAR-10 (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html), binary version",
    ),
    "cifar100": _Layout(
        "cifar100",
        "cifar-100-binary",
        ("train.bin",),
        ("test.bin",),
        2,
        100,
        CIFAR100_MEAN,
        CIFAR100_STD,
        "CIFAR-100 (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html), binary version",
    ),
}


def read_cifar(kind: str, folder: str, split: str) -> DataSet:
    """Read ``split`` ("train" or "test") of ``kind`` ("cifar10"/"cifar100") from ``folder``.

    ``folder`` is the extracted folder (``cifar-10-batches-bin``) or the folder holding it.
    """
    layout = _LAYOUTS[kind]
    names = layout.train if split == "train" else layout.test
    root = _find_root(layout, Path(folder).expanduser(), names)
    paths = [root / name for name in names]
    record = layout.label_bytes + _PIXELS
    sizes = [_checked_size(layout, path, record) for path in paths]
    n = sum(sizes) // record
    images = torch.empty((n, 3, 32, 32), dtype=torch.uint8)
    labels = torch.empty(n, dtype=torch.int64)
    at = 0
    for path, size in zip(paths, sizes, strict=True):
        count = size // record
        rows = _read_records(path, size, record)
        label = rows[:, layout.label_bytes - 1]
        _check_labels(layout, path, label, rows[:, 0])
        images[at : at + count] = torch.from_numpy(rows[:, layout.label_bytes :].copy()).view(
            count, 3, 32, 32
        )
        labels[at : at + count] = torch.from_numpy(label.astype(np.int64))
        at += count
    return DataSet(
        name=f"{kind}:{folder}",
        images=images,
        labels=labels,
        classes=layout.classes,
        mean=layout.mean,
        std=layout.std,
        synthetic=False,
        source=f"{layout.citation}, read from {root}",
    )


def _find_root(layout: _Layout, folder: Path, names: tuple[str, ...]) -> Path:
    for candidate in (folder, folder / layout.folder):
        if all((candidate / name).is_file() for name in names):
            return candidate
    if not folder.is_dir():
        raise DataError("E902", f"{layout.kind}: no folder {folder}")
    root = folder / layout.folder if (folder / layout.folder).is_dir() else folder
    missing = [n for n in names if not (root / n).is_file()]
    raise DataError(
        "E902",
        f"{layout.kind}: {root} lacks {', '.join(missing)}",
        hint=f"point at the extracted binary version ({layout.folder}/) or the folder holding it;"
        " nasgen never downloads data",
    )


def _checked_size(layout: _Layout, path: Path, record: int) -> int:
    size = path.stat().st_size
    if size > _MAX_FILE_BYTES:
        raise DataError(
            "E904", f"{layout.kind}: {path} is {size:,} bytes; no {layout.kind} file is that big"
        )
    if size == 0 or size % record:
        raise DataError(
            "E903",
            f"{layout.kind}: {path} is {size:,} bytes, not a whole number of {record}-byte records",
            hint="a truncated download or the python (pickle) version; use the binary version",
        )
    return size


def _read_records(path: Path, size: int, record: int) -> np.ndarray:
    buffer = bytearray(size)
    with path.open("rb") as f:
        got = f.readinto(buffer)
    if got != size:
        raise DataError("E903", f"{path}: read {got:,} of {size:,} bytes (changed while read?)")
    return np.frombuffer(buffer, dtype=np.uint8).reshape(size // record, record)


def _check_labels(layout: _Layout, path: Path, label: np.ndarray, first: np.ndarray) -> None:
    bad = np.flatnonzero(label >= layout.classes)
    if layout.label_bytes == 2 and not bad.size:
        bad = np.flatnonzero(first >= 20)  # CIFAR-100's coarse label, a check on the layout
    if bad.size:
        raise DataError(
            "E903",
            f"{layout.kind}: {path}: record {int(bad[0])} has label byte(s) out of range;"
            " not a CIFAR binary file",
        )
