"""The table of ONNX lowerings: IR op name -> function that emits its ONNX nodes.

Pipeline stage: exporter (IR -> **ONNX**). Imports ``nasgen.errors``, ``nasgen.ir``,
``nasgen.ops`` and the exporter's ``context`` module.

A lowering registered for a name the op registry does not know raises at import time (E510),
and a test checks that every IR op has one (totality) except the training-only ones.
``aux_head`` has no lowering: it is never an ancestor of the classifier, so the inference
graph never reaches it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nasgen.errors import BackendError
from nasgen.exporters.onnx.context import Emitter, Value
from nasgen.ir import IRNode
from nasgen.ops import OPS

__all__ = ["ONNX_LOWERINGS", "TRAINING_ONLY_OPS", "OnnxLowering", "lower_node", "onnx_lowering"]

OnnxLowering = Callable[[Emitter, IRNode, Sequence[Value]], Value]
ONNX_LOWERINGS: dict[str, OnnxLowering] = {}
TRAINING_ONLY_OPS = frozenset({"aux_head"})
"""IR ops that never reach an inference graph, so they have no ONNX lowering."""


def onnx_lowering(name: str) -> Callable[[OnnxLowering], OnnxLowering]:
    """Register the lowering of IR op ``name``; unknown or repeated names raise E510 at import."""

    def register(fn: OnnxLowering) -> OnnxLowering:
        if name not in OPS or not OPS[name].in_ir:
            raise BackendError("E510", f"onnx lowering for unknown IR op {name!r}")
        if name in ONNX_LOWERINGS:
            raise BackendError("E510", f"two onnx lowerings for {name!r}")
        ONNX_LOWERINGS[name] = fn
        return fn

    return register


def lower_node(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    """Emit the ONNX nodes of one IR node; an op without a lowering raises E511."""
    fn = ONNX_LOWERINGS.get(node.op)
    if fn is None:
        raise BackendError(
            "E511", f"no onnx lowering for op {node.op!r} (node {node.id})", node.span
        )
    em.at(node)
    return fn(em, node, inputs)
