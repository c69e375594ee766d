"""Training data: a spec string names a data set, held in memory as torch tensors.

Pipeline stage: training (imports torch). Imports ``nasgen.errors`` and the ``data_*`` modules
beside it. No data set is ever downloaded: each spec reads bytes that are already on disk.

Specs (``load_data``):
  * ``digits``: the embedded default, 1,797 real 8 x 8 handwritten digits (UCI, via
    scikit-learn's ``load_digits``); "train" is 80%, "test" a stratified 20% (seed 0);
  * ``cifar10:DIR``, ``cifar100:DIR``: the official binary distributions, ``DIR`` the
    extracted folder or its parent (``nasgen.training.data_cifar``);
  * ``folder:DIR`` or ``folder:DIR:SIZE``: an ImageFolder layout resized to ``SIZE`` (32)
    square RGB images (``nasgen.training.data_folder``);
  * ``synthetic:N``: ``N`` generated 3 x 32 x 32 images for tests, marked ``synthetic``.
Errors are ``DataError`` (E901 spec, E902 missing, E903 malformed, E904 over a limit, E905
bad argument; see ``nasgen.training.data_set``).
"""

from __future__ import annotations

from nasgen.errors import did_you_mean
from nasgen.training.data_batches import Augment, batches
from nasgen.training.data_builtin import make_synthetic, read_digits
from nasgen.training.data_cifar import read_cifar
from nasgen.training.data_folder import DEFAULT_SIZE, read_folder
from nasgen.training.data_set import DataError, DataSet, split_data

__all__ = [
    "KINDS",
    "SPLITS",
    "Augment",
    "DataError",
    "DataSet",
    "batches",
    "load_data",
    "split_data",
]

KINDS = ("digits", "cifar10", "cifar100", "folder", "synthetic")
SPLITS = ("train", "test")
_FORMS = "digits, cifar10:DIR, cifar100:DIR, folder:DIR[:SIZE], synthetic:N"


def load_data(spec: str, split: str = "train") -> DataSet:
    """Load the data set ``spec`` names, split "train" or "test", into memory.

    Raises:
        DataError: E901 for an unknown or malformed spec, E902 for missing files, E903 for
            malformed files, E904 for inputs over a limit, E905 for a bad split name.

    """
    if split not in SPLITS:
        raise DataError("E905", f"{spec}: unknown split {split!r}; use 'train' or 'test'")
    kind, _, arg = spec.partition(":")
    if kind == "digits":
        if arg:
            raise DataError("E901", f"data spec {spec!r}: digits takes no argument")
        return read_digits(split)
    if kind in ("cifar10", "cifar100"):
        return read_cifar(kind, _folder_arg(spec, kind, arg), split)
    if kind == "folder":
        folder, size = _folder_and_size(spec, arg)
        return read_folder(folder, size, split)
    if kind == "synthetic":
        return make_synthetic(_count_arg(spec, arg), split)
    raise DataError(
        "E901",
        f"unknown data spec kind {kind!r} in {spec!r}",
        hint=did_you_mean(kind, KINDS) or f"data specs are: {_FORMS}",
    )


def _folder_arg(spec: str, kind: str, arg: str) -> str:
    if not arg:
        raise DataError(
            "E901", f"data spec {spec!r}: {kind} needs a folder", hint=f"write {kind}:DIR"
        )
    return arg


def _folder_and_size(spec: str, arg: str) -> tuple[str, int]:
    """``DIR`` or ``DIR:SIZE``: a last ``:`` part of digits only is the size."""
    head, sep, tail = arg.rpartition(":")
    if sep and tail.isdigit() and head:
        return head, int(tail)
    if sep and head and not tail:
        raise DataError("E901", f"data spec {spec!r}: empty size after ':'")
    return _folder_arg(spec, "folder", arg), DEFAULT_SIZE


def _count_arg(spec: str, arg: str) -> int:
    if not arg.isdigit():
        raise DataError(
            "E901",
            f"data spec {spec!r}: synthetic needs an image count",
            hint="write synthetic:N, e.g. synthetic:512 (generated data, for tests only)",
        )
    return int(arg)
