"""Checked, atomic writing of ONNX models, and state_dict -> arrays without importing torch.

Pipeline stage: exporter (IR -> **ONNX** -> file). Imports onnx and numpy.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx

__all__ = ["check_onnx", "save_onnx", "weights_from_state_dict"]


def weights_from_state_dict(state: Mapping[str, object]) -> dict[str, npt.NDArray[np.generic]]:
    """A torch ``state_dict`` (or any name -> array-like mapping) as numpy arrays.

    Tensors are read through ``detach().cpu().numpy()`` when they have it, so torch is not
    imported here; ``num_batches_tracked`` counters are dropped.
    """
    out: dict[str, npt.NDArray[np.generic]] = {}
    for name, value in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        detach = getattr(value, "detach", None)
        array = detach().cpu().numpy() if callable(detach) else value
        out[name] = np.asarray(array)
    return out


def check_onnx(model: onnx.ModelProto) -> onnx.ModelProto:
    """Run the full ONNX checker and strict shape inference; return the inferred model."""
    onnx.checker.check_model(model, full_check=True)
    return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)


def save_onnx(model: onnx.ModelProto, path: str | Path, *, force: bool = False) -> Path:
    """Check ``model`` and write it to ``path`` atomically.

    The bytes go to a temporary file in the same directory, are fsynced, then renamed over
    ``path``, so a reader never sees a half-written model.

    Args:
        model: the model to write (written as given, without the inferred shapes).
        path: the destination file.
        force: replace an existing file.

    Returns:
        The path written.

    Raises:
        FileExistsError: ``path`` exists and ``force`` is False.
        onnx.checker.ValidationError: the model is invalid.

    """
    target = Path(path)
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; pass force=True to overwrite it")
    check_onnx(model)
    data = model.SerializeToString()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target
