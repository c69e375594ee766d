"""ONNX exporter: an IR graph and its weights -> an ONNX inference graph, without torch.

Pipeline stage: exporter (IR -> **ONNX**). Imports onnx, numpy, ``nasgen.errors``,
``nasgen.ir`` and ``nasgen.ops``; never torch, so a trained checkpoint's arrays can be exported
on a machine without it.

Example::

    from nasgen.api import analyze, build, options_for
    from nasgen.dsl.printer import print_module
    from nasgen.exporters.onnx import export_onnx, save_onnx, weights_from_state_dict

    result = analyze("darts_v2", options_for(N=6, F=36))
    model = build(result, seed=0).eval()
    proto = export_onnx(
        result.graph,
        weights_from_state_dict(model.state_dict()),
        source_text=print_module(result.module),
        options=result.arch.network.as_dict(),
    )
    save_onnx(proto, "darts_v2.onnx")

Modules: ``export`` (the walk and the model), ``context`` (the graph under construction),
``registry`` (op -> lowering), ``lowerings`` and ``network_lowerings`` (one function per IR
op), ``fold`` (BatchNorm folding), ``geometry`` (padding), ``provenance`` (doc strings and
metadata), ``save`` (checked atomic writes).
"""

from nasgen.exporters.onnx.export import (
    DEFAULT_OPSET,
    MAX_IR_VERSION,
    SUPPORTED_OPSETS,
    export_onnx,
)
from nasgen.exporters.onnx.provenance import arch_hash
from nasgen.exporters.onnx.registry import (
    ONNX_LOWERINGS,
    TRAINING_ONLY_OPS,
    onnx_lowering,
)
from nasgen.exporters.onnx.save import check_onnx, save_onnx, weights_from_state_dict

__all__ = [
    "DEFAULT_OPSET",
    "MAX_IR_VERSION",
    "ONNX_LOWERINGS",
    "SUPPORTED_OPSETS",
    "TRAINING_ONLY_OPS",
    "arch_hash",
    "check_onnx",
    "export_onnx",
    "onnx_lowering",
    "save_onnx",
    "weights_from_state_dict",
]
