"""PyTorch backend: IR -> trainable ``nn.Module`` and safetensors checkpoints.

Pipeline stage: backend. The only nasgen package (besides search and training code) that
imports torch; ``import nasgen`` never loads it.

The names below are imported lazily (PEP 562), so ``nasgen.backends.torch.header`` (the
safetensors header, pure Python) can check a checkpoint before torch is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nasgen.backends.torch.checkpoint import (
        check_tensors,
        load_module,
        read_checkpoint,
        write_checkpoint,
    )
    from nasgen.backends.torch.fold import fold_batchnorm_
    from nasgen.backends.torch.lowerings import TORCH_LOWERINGS, lower_node, torch_lowering
    from nasgen.backends.torch.module import (
        NasgenNet,
        assign_weights,
        build_module,
        build_with_weights,
        drop_path,
        meta_module,
    )

__all__ = [
    "TORCH_LOWERINGS",
    "NasgenNet",
    "assign_weights",
    "build_module",
    "build_with_weights",
    "check_tensors",
    "drop_path",
    "fold_batchnorm_",
    "load_module",
    "lower_node",
    "meta_module",
    "read_checkpoint",
    "torch_lowering",
    "write_checkpoint",
]

_HOME = {
    "check_tensors": "checkpoint",
    "load_module": "checkpoint",
    "read_checkpoint": "checkpoint",
    "write_checkpoint": "checkpoint",
    "fold_batchnorm_": "fold",
    "TORCH_LOWERINGS": "lowerings",
    "lower_node": "lowerings",
    "torch_lowering": "lowerings",
    "NasgenNet": "module",
    "assign_weights": "module",
    "build_module": "module",
    "build_with_weights": "module",
    "meta_module": "module",
    "drop_path": "module",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
