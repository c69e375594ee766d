"""Checkpoints: weights plus the canonical genotype text and options, in one safetensors file.

Pipeline stage: backend. Imports torch, safetensors and ``nasgen.errors``.

The file is plain tensors and a string-to-string metadata table (``nasgen.source``,
``nasgen.options`` as JSON, ``nasgen.version``): loading it never unpickles anything. Writes go
to a temporary file in the same folder and are renamed into place, so an interrupted save never
leaves a half-written checkpoint under the user's name.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from nasgen.errors import BackendError

__all__ = ["read_checkpoint", "write_checkpoint"]

_SOURCE, _OPTIONS, _VERSION = "nasgen.source", "nasgen.options", "nasgen.version"


def write_checkpoint(
    module: nn.Module, source: str, options: dict[str, Any], version: str, path: str | Path
) -> Path:
    """Write ``module``'s state_dict with the genotype text and options, atomically."""
    target = Path(path)
    tensors = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    meta = {_SOURCE: source, _OPTIONS: json.dumps(options, sort_keys=True), _VERSION: version}
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_checkpoint(path: str | Path) -> tuple[dict[str, Tensor], str, dict[str, Any]]:
    """Tensors, genotype text and options of a checkpoint written by ``write_checkpoint``."""
    p = Path(path)
    if not p.is_file():
        raise BackendError("E503", f"{p}: no such checkpoint")
    try:
        with safe_open(str(p), framework="pt") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as err:
        raise BackendError("E503", f"{p}: not a nasgen checkpoint ({err})") from None
    if _SOURCE not in meta or _OPTIONS not in meta:
        raise BackendError("E503", f"{p}: safetensors file without nasgen metadata")
    try:
        options = json.loads(meta[_OPTIONS])
    except json.JSONDecodeError:
        raise BackendError("E503", f"{p}: corrupt nasgen.options metadata") from None
    return tensors, meta[_SOURCE], options
