"""The safetensors container without torch: read and check a header, encode one byte-exactly.

Pipeline stage: backend (checkpoint file -> **header**). Imports ``nasgen.errors`` and
``nasgen.ir``; never torch, so a checkpoint that does not match its own metadata is refused
before the framework (about 270 MiB) is even imported.

The format: an 8-byte little-endian header length ``n``, ``n`` bytes of JSON (an object of
tensor name -> ``{"dtype", "shape", "data_offsets"}`` plus an optional ``"__metadata__"``
string table), then the tensor data, offsets relative to its start.

NOTE: [Deterministic header] The safetensors writer (Rust) keeps the metadata in a
``HashMap``, whose iteration order is seeded per process: the same weights gave different
bytes from run to run. ``encode_header`` writes the JSON with sorted keys and no spaces,
tensors laid out in name order, padded with spaces to a multiple of 8 as the reference writer
pads, so the same module always gives the same file. Readers (safetensors itself) accept it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from nasgen.errors import BackendError
from nasgen.ir import CostReport

__all__ = [
    "BUFFER_SUFFIXES",
    "DTYPE_SIZES",
    "MAX_HEADER_BYTES",
    "CheckpointHeader",
    "TensorSpec",
    "check_parameter_count",
    "encode_header",
    "read_header",
]

MAX_HEADER_BYTES = 100_000_000
"""The safetensors format's own limit on the JSON header."""
DTYPE_SIZES: Mapping[str, int] = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip
"""Bytes per element of each safetensors dtype."""
BUFFER_SUFFIXES = (".running_mean", ".running_var", ".num_batches_tracked")
"""State-dict entries that are BatchNorm statistics, not trainable parameters."""
_SOURCE, _OPTIONS, _VERSION = "nasgen.source", "nasgen.options", "nasgen.version"


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One stored tensor as its header describes it: dtype name, shape, byte range."""

    dtype: str
    shape: tuple[int, ...]
    begin: int = 0
    end: int = 0

    @property
    def numel(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)


@dataclass(frozen=True, slots=True)
class CheckpointHeader:
    """What a nasgen checkpoint says about itself, read without touching its tensor data."""

    path: Path
    source: str
    options: dict[str, Any]
    version: str | None
    tensors: Mapping[str, TensorSpec]
    raw: bytes = b""
    """The length prefix and the header as read; the tensor data starts after them."""

    @property
    def options_origin(self) -> str:
        """How diagnostics name a value of ``options`` (see ``CompileOptions.origin``)."""
        return f"checkpoint metadata {self.path}#{_OPTIONS}, key"

    @property
    def source_name(self) -> str:
        """The name the genotype text is shown under in diagnostics."""
        return f"{self.path}#{_SOURCE}"


def _corrupt(path: Path, what: str) -> BackendError:
    return BackendError("E503", f"{path}: not a nasgen checkpoint ({what})")


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise BackendError("E503", f"{path}: no such checkpoint") from None
    except IsADirectoryError:
        raise BackendError("E503", f"{path}: is a directory, not a checkpoint") from None
    except OSError as err:
        raise BackendError("E503", f"{path}: cannot read: {err.strerror or err}") from None
    except ValueError as err:  # a NUL in the path
        raise BackendError("E503", f"{str(path)!r}: not a usable path ({err})") from None


def _read_json(path: Path, fh: BinaryIO) -> tuple[dict[str, Any], int, bytes]:
    """The header object, the number of data bytes after it and the raw header bytes."""
    size = os.fstat(fh.fileno()).st_size
    head = fh.read(8)
    if len(head) < 8:
        raise _corrupt(path, f"{size} bytes, too short for a safetensors header")
    n = int.from_bytes(head, "little")
    if n > min(MAX_HEADER_BYTES, size - 8):
        raise _corrupt(path, f"header length {n:,} exceeds the file or the format's limit")
    raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
        # Python decodes lone surrogates ("\\ud800") that no UTF-8 output can print.
        json.dumps(header, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        raise _corrupt(path, "its header is not valid JSON") from None
    if not isinstance(header, dict):
        raise _corrupt(path, "its header is not a JSON object")
    return header, size - 8 - n, head + raw


def _is_count(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _tensor_spec(path: Path, name: str, entry: object, data_bytes: int) -> TensorSpec:
    if not isinstance(entry, dict):
        raise _corrupt(path, f"header entry {name!r} is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_SIZES:
        raise _corrupt(path, f"tensor {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise _corrupt(path, f"tensor {name!r} has a malformed shape")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_count(o) for o in offsets)
        or not offsets[0] <= offsets[1] <= data_bytes
    ):
        raise _corrupt(path, f"tensor {name!r} has data offsets outside the file (truncated?)")
    spec = TensorSpec(dtype, tuple(shape), offsets[0], offsets[1])
    if spec.end - spec.begin != spec.numel * DTYPE_SIZES[dtype]:
        raise _corrupt(path, f"tensor {name!r}: its shape and dtype disagree with its byte size")
    return spec


def _check_tiling(path: Path, tensors: Mapping[str, TensorSpec], data_bytes: int) -> None:
    """The tensors cover the data exactly, without overlaps or holes (as safetensors demands)."""
    end = 0
    for spec in sorted(tensors.values(), key=lambda s: (s.begin, s.end)):
        if spec.begin != end:
            raise _corrupt(path, "its tensors overlap or leave holes in the data")
        end = spec.end
    if end != data_bytes:
        raise _corrupt(path, f"{data_bytes - end:,} bytes after the last tensor")


def _metadata(path: Path, header: dict[str, Any]) -> dict[str, str]:
    meta = header.pop("__metadata__", None)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _corrupt(path, "its __metadata__ is not a table of strings")
    if not isinstance(meta.get(_SOURCE), str) or not isinstance(meta.get(_OPTIONS), str):
        raise BackendError("E503", f"{path}: safetensors file without nasgen metadata")
    return meta


def _options(path: Path, text: str) -> dict[str, Any]:
    try:
        options = json.loads(text)
        json.dumps(options, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        raise BackendError("E503", f"{path}: corrupt {_OPTIONS} metadata (not JSON)") from None
    if not isinstance(options, dict):
        raise BackendError(
            "E503", f"{path}: corrupt {_OPTIONS} metadata (a {type(options).__name__}, not an "
            "object of network settings)"
        )  # fmt: skip
    return options


def read_header(path: str | Path) -> CheckpointHeader:
    """The metadata and tensor table of a checkpoint, checked; no tensor data is read (E503)."""
    p = Path(path)
    with _open(p) as fh:
        try:
            header, data_bytes, raw = _read_json(p, fh)
        except OSError as err:
            raise BackendError("E503", f"{p}: cannot read: {err.strerror or err}") from None
    meta = _metadata(p, header)
    tensors = {name: _tensor_spec(p, name, e, data_bytes) for name, e in header.items()}
    _check_tiling(p, tensors, data_bytes)
    options = _options(p, meta[_OPTIONS])
    return CheckpointHeader(p, meta[_SOURCE], options, meta.get(_VERSION), tensors, raw)


def check_parameter_count(header: CheckpointHeader, report: CostReport) -> None:
    """Refuse (E504) stored weights whose parameter count is not the genotype's.

    The cost model's count equals the built module's (a tested invariant), so this catches
    edited metadata (a larger F or N) before anything is built or the framework is imported.
    """
    stored = sum(s.numel for k, s in header.tensors.items() if not k.endswith(BUFFER_SUFFIXES))
    needed = report.params + report.aux_params
    if stored != needed:
        raise BackendError(
            "E504",
            f"{header.path}: weights do not match the genotype: the file holds {stored:,} "
            f"parameters, its genotype and options need {needed:,}",
            hint=f"was {_SOURCE} or {_OPTIONS} edited? re-save the model with nasgen.save",
        )


def encode_header(
    tensors: Sequence[tuple[str, str, tuple[int, ...]]], metadata: Mapping[str, str]
) -> bytes:
    """The length prefix and JSON header for ``(name, dtype, shape)`` stored in this order.

    See NOTE [Deterministic header]: the bytes depend only on the arguments.
    """
    table: dict[str, Any] = {"__metadata__": dict(metadata)}
    offset = 0
    for name, dtype, shape in tensors:
        nbytes = math.prod(shape) * DTYPE_SIZES[dtype]
        table[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    text = json.dumps(table, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text
