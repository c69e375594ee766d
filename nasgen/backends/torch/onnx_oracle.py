"""The second ONNX path: ``torch.onnx.export`` of a compiled module, as an oracle.

Pipeline stage: backend. Imports torch.

nasgen writes ONNX straight from the IR (``nasgen.exporters.onnx``). This traces the PyTorch
module instead, so tests and ``bench/bench_onnx.py`` can compare the two files: same outputs,
node counts, export time and onnxruntime latency. Opset 18, one file, a dynamic batch axis.
``dynamo=False`` uses the TorchScript exporter (nothing extra to install); ``dynamo=True``
needs ``onnxscript`` (the ``oracle`` extra).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["torch_onnx_export"]


def torch_onnx_export(
    module: nn.Module,
    path: str | Path,
    *,
    input_shape: tuple[int, int, int],
    opset: int = 18,
    dynamo: bool = False,
) -> Path:
    """Trace ``module`` (in eval mode) with ``torch.onnx.export`` into ``path``."""
    module.eval()
    x = torch.zeros((1, *input_shape))
    kwargs: dict[str, Any] = {
        "input_names": ["input"],
        "output_names": ["logits"],
        "opset_version": opset,
        "dynamo": dynamo,
    }
    if dynamo:
        kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch")},)
        kwargs["external_data"] = False
    else:
        kwargs["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), **kwargs)
    return Path(path)
