"""``export_onnx``: an IR graph and its weights -> an ONNX inference ``ModelProto``.

Pipeline stage: exporter (IR -> **ONNX**). Imports onnx, numpy, ``nasgen.errors``,
``nasgen.ir`` and the exporter's other modules; never torch (weights arrive as arrays).

NOTE: [Opset 18] The default opset is 18: it is what ``torch.onnx`` emits by default, the
opset onnxruntime's CPU kernels cover fully, and every op used here (AveragePool with
``count_include_pad=0`` and explicit asymmetric ``pads``, Conv, MaxPool, Slice, Pad,
BatchNormalization, Shape with ``end``, ConstantOfShape) has the same meaning in 17 to 21,
the range accepted. The IR version is capped at 10 so onnxruntime releases from 1.16 on load
the file.

NOTE: [Determinism] Nodes follow ``IRGraph.nodes()`` (a deterministic topological order),
names come from IR node ids, attributes are sorted, and nothing records a time or a path,
so the same graph, weights and options serialise to the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper

import nasgen.exporters.onnx.lowerings
import nasgen.exporters.onnx.network_lowerings  # noqa: F401  (registration)
from nasgen.errors import BackendError
from nasgen.exporters.onnx.context import INPUT, OUTPUT, Emitter, Value
from nasgen.exporters.onnx.provenance import model_metadata, nasgen_version
from nasgen.exporters.onnx.registry import lower_node
from nasgen.ir import IRGraph

__all__ = ["DEFAULT_OPSET", "MAX_IR_VERSION", "SUPPORTED_OPSETS", "export_onnx"]

DEFAULT_OPSET = 18
SUPPORTED_OPSETS = range(17, 22)
MAX_IR_VERSION = 10


def _lower(em: Emitter, graph: IRGraph) -> str:
    """Lower the ancestors of the classifier; return the tensor holding the logits."""
    live = graph.ancestors(graph.output) | {graph.output}
    values: dict[str, Value] = {}
    for node in graph.nodes():
        if node.id in live:
            values[node.id] = lower_node(em, node, [values[i] for i in node.inputs])
    em.at(graph.node(graph.output))
    out = em.tensor(values[graph.output])
    if out != OUTPUT:  # the classifier aliases another tensor (never for nasgen's heads)
        out = em.emit("Identity", [out], "output", output=OUTPUT)
    return out


def export_onnx(
    graph: IRGraph,
    weights: Mapping[str, npt.NDArray[np.generic]],
    *,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = True,
    batch_size: int = 1,
    source_text: str = "",
    options: Mapping[str, object] | None = None,
) -> onnx.ModelProto:
    """Emit the inference graph of ``graph`` (classifier only; no aux head, dropout, drop path).

    Args:
        graph: a validated IR graph.
        weights: the torch state_dict as arrays (``weights_from_state_dict``): parameters and
            BatchNorm running statistics under ``<node id>.<layer param>``; extra entries
            (``num_batches_tracked``, the aux head) are ignored.
        opset: ONNX opset, 17 to 21 (see NOTE: [Opset 18]).
        dynamic_batch: a symbolic ``batch`` axis; otherwise a static one of ``batch_size``.
        batch_size: the static batch size when ``dynamic_batch`` is False.
        source_text: the canonical genotype text, stored as ``nasgen.source`` metadata.
        options: the network settings, stored as ``nasgen.options`` metadata (JSON).

    Returns:
        The model: input ``input`` (N, C, H, W) float32, output ``logits`` (N, classes).

    Raises:
        BackendError: E511 for an op without an ONNX lowering, E512 for a missing or
            misshapen weight, E513 for an unsupported opset or batch size.

    """
    if opset not in SUPPORTED_OPSETS:
        raise BackendError("E513", f"opset {opset} is not supported (17 to 21)")
    if batch_size < 1:
        raise BackendError("E513", f"batch size must be at least 1, got {batch_size}")
    batch = None if dynamic_batch else batch_size
    tf_same = graph.arch.convention.padding == "tf_same"
    em = Emitter(weights, batch=batch, output=graph.output, tf_same=tf_same)
    _lower(em, graph)
    model = em.model
    _finish_graph(em.graph, graph, batch)
    model.opset_import.append(helper.make_opsetid("", opset))
    model.producer_name, model.producer_version = "nasgen", nasgen_version()
    model.ir_version = min(onnx.IR_VERSION, MAX_IR_VERSION)
    helper.set_model_props(model, model_metadata(source_text, options or {}))
    return model


def _finish_graph(proto: onnx.GraphProto, graph: IRGraph, batch: int | None) -> None:
    """Name the graph; ``input`` (N, C, H, W) -> ``logits`` (N, classes), N named ``batch``."""
    dim: int | str = "batch" if batch is None else batch
    in_shape = next(n.shape for n in graph.nodes() if n.op == "input")
    classes = graph.node(graph.output).shape[0]
    proto.name = graph.arch.module.name or "nasgen"
    proto.input.append(helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [dim, *in_shape]))
    proto.output.append(helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [dim, classes]))
