"""Checkpoints: weights plus the canonical genotype text and options, in one safetensors file.

Pipeline stage: backend. Imports torch, ``nasgen.errors``, ``nasgen.files``,
``nasgen.ir`` and ``nasgen.backends.torch.{header,module}``.

The file is plain tensors and a string-to-string metadata table (``nasgen.source``,
``nasgen.options`` as JSON, ``nasgen.version``): loading it never unpickles anything. Writes go
through ``nasgen.files.atomic_path`` (a temporary file named after the target, fsynced, given
the umask's mode, renamed into place), one tensor at a time, with a deterministic header (NOTE
[Deterministic header] in ``header.py``): the same module gives the same bytes in every process.

NOTE: [Check, then allocate] Loading trusts nothing in the file. ``read_header`` (no torch)
checks the container and the parameter count against the cost model; ``load_module`` builds
the module on the ``meta`` device (no memory), compares every stored name, shape and dtype
with it, and only then reads the tensors, once, straight into the module
(``load_state_dict(assign=True)``): no random initialisation, no second copy. The tensors are
read with plain reads into memory of their own, not mapped: a file rewritten in place later
cannot change (or, truncated, crash) a loaded model, and the bytes read are the bytes checked
(the header is read again and compared first). The format is little-endian, as every platform
torch ships for.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from nasgen.backends.torch.header import CheckpointHeader, TensorSpec, encode_header, read_header
from nasgen.backends.torch.module import NasgenNet, assign_weights, meta_module
from nasgen.errors import BackendError
from nasgen.files import atomic_path
from nasgen.ir import IRGraph

__all__ = ["check_tensors", "load_module", "read_checkpoint", "write_checkpoint"]

_SOURCE, _OPTIONS, _VERSION = "nasgen.source", "nasgen.options", "nasgen.version"
_DTYPES: Mapping[torch.dtype, str] = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_TORCH_DTYPES = {name: dtype for dtype, name in _DTYPES.items()}


def _dtype_name(dtype: torch.dtype) -> str:
    name = _DTYPES.get(dtype)
    if name is None:
        raise BackendError("E503", f"cannot store a tensor of dtype {dtype} in a checkpoint")
    return name


def _spec(t: Tensor) -> TensorSpec:
    return TensorSpec(_dtype_name(t.dtype), tuple(t.shape))


def _raw(t: Tensor) -> memoryview:
    """The bytes of ``t`` in memory order (little-endian on every platform torch ships for)."""
    flat = t.detach().to("cpu").contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().data


def write_checkpoint(
    module: nn.Module, source: str, options: dict[str, Any], version: str, path: str | Path
) -> Path:
    """Write ``module``'s state_dict with the genotype text and options, atomically."""
    state = dict(sorted(module.state_dict().items()))
    meta = {_SOURCE: source, _OPTIONS: json.dumps(options, sort_keys=True), _VERSION: version}
    header = encode_header([(k, *_shape_of(v)) for k, v in state.items()], meta)
    with atomic_path(path) as tmp, tmp.open("xb") as fh:
        fh.write(header)
        for tensor in state.values():
            fh.write(_raw(tensor))
    return Path(path)


def _shape_of(t: Tensor) -> tuple[str, tuple[int, ...]]:
    return _dtype_name(t.dtype), tuple(t.shape)


def _describe(spec: TensorSpec) -> str:
    return f"{spec.dtype}[{', '.join(map(str, spec.shape))}]"


def check_tensors(
    path: Path, expected: Mapping[str, TensorSpec], stored: Mapping[str, TensorSpec]
) -> None:
    """Refuse (E504) stored tensors whose names, shapes or dtypes are not the expected ones."""
    missing = [k for k in expected if k not in stored]
    unexpected = [k for k in stored if k not in expected]
    differ = [
        k
        for k in expected
        if k in stored
        and (stored[k].dtype, stored[k].shape) != (expected[k].dtype, expected[k].shape)
    ]
    if not (missing or unexpected or differ):
        return
    if differ:
        k = differ[0]
        example = f"{k!r} is {_describe(stored[k])}, the genotype needs {_describe(expected[k])}"
    else:
        example = f"{(missing or unexpected)[0]!r} is {'missing' if missing else 'unexpected'}"
    raise BackendError(
        "E504",
        f"{path}: weights do not match the genotype ({len(missing)} missing, "
        f"{len(unexpected)} unexpected, {len(differ)} of another shape or dtype; e.g. {example})",
        hint=f"was {_SOURCE} or {_OPTIONS} edited? re-save the model with nasgen.save",
    )


def _read_one(fh: io.BufferedReader, path: Path, start: int, spec: TensorSpec) -> Tensor:
    dtype = _TORCH_DTYPES.get(spec.dtype)
    if dtype is None:
        raise BackendError("E503", f"{path}: tensors of dtype {spec.dtype} are not supported")
    tensor = torch.empty(spec.shape, dtype=dtype)
    buffer = tensor.reshape(-1).view(torch.uint8).numpy().data
    fh.seek(start + spec.begin)
    if fh.readinto(buffer) != len(buffer):
        raise BackendError("E503", f"{path}: truncated while it was being read")
    return tensor


def _read_tensors(header: CheckpointHeader, names: list[str]) -> dict[str, Tensor]:
    """The tensors ``names`` of a checked header, each read once into memory of its own."""
    path = header.path
    try:
        with path.open("rb") as fh:
            if fh.read(len(header.raw)) != header.raw:
                raise BackendError("E503", f"{path}: the file changed while it was being loaded")
            return {k: _read_one(fh, path, len(header.raw), header.tensors[k]) for k in names}
    except OSError as err:
        raise BackendError("E503", f"{path}: cannot read: {err.strerror or err}") from None


def load_module(
    header: CheckpointHeader, graph: IRGraph, source: str, options: Mapping[str, object]
) -> NasgenNet:
    """The module of ``graph`` holding the weights of the checkpoint ``header`` describes.

    See NOTE [Check, then allocate]: E504 before any tensor is read when they do not match.
    """
    module = meta_module(graph, source, options)
    expected = {k: _spec(v) for k, v in module.state_dict().items()}
    check_tensors(header.path, expected, header.tensors)
    return assign_weights(module, _read_tensors(header, list(expected)))


def read_checkpoint(path: str | Path) -> tuple[dict[str, Tensor], str, dict[str, Any]]:
    """Tensors, genotype text and options of a checkpoint written by ``write_checkpoint``.

    Unchecked against the genotype; ``nasgen.load`` is the checked way to load a model.
    """
    header = read_header(path)
    return _read_tensors(header, list(header.tensors)), header.source, header.options
