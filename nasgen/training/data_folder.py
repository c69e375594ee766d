"""Image folders (``DIR/CLASS/*.png``) decoded with Pillow into square RGB tensors.

Pipeline stage: training (imports torch and numpy; Pillow lazily). Imports
``nasgen.training.data_set`` only.

NOTE: [Folder layout and splits] The layout is torchvision's ImageFolder: one sub-folder per
class, classes numbered in sorted name order, hidden entries skipped, every class folder must
hold an image. Two layouts are read:
  1. flat, ``DIR/CLASS/*``: split "train" is every image (hold out a validation set with
     ``split_data``); there is no test split, and asking for one is an error;
  2. split, ``DIR/train/CLASS/*`` with ``DIR/test/CLASS/*`` (or ``DIR/val/``): each split reads
     its own folder; both must have the same class names.
Each image is converted to RGB, centre-cropped to its largest square (the aspect ratio is kept)
and resized to ``SIZE x SIZE`` with bilinear filtering. Mean and std are computed from the
images read. Files are counted and the decoded size bounded before any image is decoded.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasgen.training.data_set import DataError, DataSet, channel_stats

__all__ = ["DEFAULT_SIZE", "IMAGE_SUFFIXES", "MAX_FILES", "read_folder"]

DEFAULT_SIZE = 32
MAX_FILES = 200_000
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
_MAX_SIZE = 512
_MAX_BYTES = 4 * 1024**3  # the decoded uint8 tensor, N * 3 * SIZE * SIZE


def read_folder(folder: str, size: int, split: str) -> DataSet:
    """Read ``split`` of the image folder ``folder``, resized to ``size x size`` RGB."""
    name = f"folder:{folder}" + ("" if size == DEFAULT_SIZE else f":{size}")
    if not 1 <= size <= _MAX_SIZE:
        raise DataError("E904", f"{name}: size {size} is outside 1..{_MAX_SIZE}")
    root = _split_root(name, Path(folder).expanduser(), split)
    classes = _class_folders(name, root)
    if root != Path(folder).expanduser():
        _check_same_classes(name, root, classes)
    files = _image_files(name, classes)
    n = sum(len(paths) for paths in files)
    if n * 3 * size * size > _MAX_BYTES:
        raise DataError("E904", f"{name}: {n:,} images at {size}x{size} exceed 4 GiB in memory")
    image_module = _pillow(name)
    images = torch.empty((n, 3, size, size), dtype=torch.uint8)
    labels = torch.empty(n, dtype=torch.int64)
    at = 0
    for label, paths in enumerate(files):
        for path in paths:
            images[at] = _decode(image_module, name, path, size)
            labels[at] = label
            at += 1
    mean, std = channel_stats(images)
    return DataSet(
        name=name,
        images=images,
        labels=labels,
        classes=len(classes),
        mean=mean,
        std=std,
        synthetic=False,
        source=f"image folder {root} ({len(classes)} classes: {_names(classes)})",
    )


def _split_root(name: str, folder: Path, split: str) -> Path:
    if not folder.is_dir():
        raise DataError("E902", f"{name}: no folder {folder}")
    held = [folder / s for s in ("test", "val") if (folder / s).is_dir()]
    if (folder / "train").is_dir() and held:
        return folder / "train" if split == "train" else held[0]
    if split == "train":
        return folder
    raise DataError(
        "E902",
        f"{name}: {folder} has one image per class folder and no test split",
        hint="hold out images with split_data, or lay out DIR/train/CLASS and DIR/test/CLASS",
    )


def _class_folders(name: str, root: Path) -> list[Path]:
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(
            "E902", f"{name}: {root} has no class folders", hint="lay images out as DIR/CLASS/*.png"
        )
    return classes


def _check_same_classes(name: str, root: Path, classes: list[Path]) -> None:
    others = [root.parent / s for s in ("train", "test", "val") if (root.parent / s).is_dir()]
    for other in others:
        theirs = [p.name for p in _class_folders(name, other)]
        if theirs != [p.name for p in classes]:
            raise DataError(
                "E903",
                f"{name}: {root} and {other} have different class folders; labels would differ",
            )


def _image_files(name: str, classes: list[Path]) -> list[list[Path]]:
    files: list[list[Path]] = []
    count = 0
    for folder in classes:
        paths = []
        for path in folder.iterdir():
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
                paths.append(path)
                count += 1
                if count > MAX_FILES:
                    raise DataError(
                        "E904",
                        f"{name}: more than {MAX_FILES:,} images; nasgen holds data in memory",
                    )
        if not paths:
            suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
            raise DataError("E902", f"{name}: class folder {folder} has no image ({suffixes})")
        files.append(sorted(paths))
    return files


def _pillow(name: str) -> Any:
    try:
        return importlib.import_module("PIL.Image")
    except ImportError as e:
        raise DataError(
            "E902",
            f"{name}: reading image folders needs Pillow, which is not installed",
            hint="pip install pillow  (or: pip install 'nasgen[quant]')",
        ) from e


def _decode(image_module: Any, name: str, path: Path, size: int) -> torch.Tensor:
    try:
        with image_module.open(path) as img:
            img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale when it can
            rgb = img.convert("RGB")
    except (OSError, SyntaxError, ValueError, image_module.DecompressionBombError) as e:
        raise DataError("E903", f"{name}: cannot decode {path}: {e}") from e
    w, h = rgb.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    resized = square.resize((size, size), image_module.Resampling.BILINEAR)
    array = np.asarray(resized, dtype=np.uint8)  # H x W x 3
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def _names(classes: list[Path]) -> str:
    shown = ", ".join(p.name for p in classes[:5])
    return shown + (", ..." if len(classes) > 5 else "")
