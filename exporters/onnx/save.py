"""Checked, atomic writing of ONNX models, and state_dict -> arrays without importing torch.

Pipeline stage: exporter (IR -> **ONNX** -> file). Imports onnx and numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx

from nasgen.errors import BackendError
from nasgen.files import atomic_path

__all__ = ["ONNX_MAX_BYTES", "check_onnx", "check_size", "save_onnx", "weights_from_state_dict"]

ONNX_MAX_BYTES = 2**31
"""protobuf serialises messages under 2 GiB only."""


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

    The bytes go through ``nasgen.files.atomic_path``: a temporary file beside ``path``,
    fsynced, given the umask's mode (or the existing file's), then renamed over ``path``, so a
    reader never sees a half-written model.

    Args:
        model: the model to write (written as given, without the inferred shapes).
        path: the destination file.
        force: replace an existing file.

    Returns:
        The path written.

    Raises:
        FileExistsError: ``path`` exists and ``force`` is False.
        onnx.checker.ValidationError: the model is invalid.
        BackendError: the model is over protobuf's 2 GiB (E509), or the write failed (E507).

    """
    target = Path(path)
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; pass force=True to overwrite it")
    check_size(model.ByteSize())
    check_onnx(model)
    data = model.SerializeToString()
    with atomic_path(target) as tmp, open(tmp, "xb") as f:
        f.write(data)
    return target


def check_size(n_bytes: int, what: str = "the ONNX model") -> None:
    """Refuse a model protobuf cannot serialise: 2 GiB at most, in one file."""
    if n_bytes >= ONNX_MAX_BYTES:
        raise BackendError(
            "E509",
            f"{what} would be {n_bytes / 2**30:.2f} GiB; an ONNX file is limited to 2 GiB "
            "(protobuf's limit)",
            hint="lower F, N or input_size",
        )
