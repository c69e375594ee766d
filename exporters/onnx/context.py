"""The ONNX graph under construction: tensors, nodes, initializers, weights and provenance.

Pipeline stage: exporter (IR -> **ONNX**). Imports onnx, numpy, ``nasgen.errors``,
``nasgen.ir`` and the exporter's ``fold``, ``geometry`` and ``provenance`` modules; never torch.

NOTE: [Names] An IR node's result tensor is named by its id (the classifier's is ``logits``);
the nodes it lowers to are ``<id>/<layer part>`` (``cells.5.b2.left/depthwise1``), and their
folded weights keep the torch state_dict names (``cells.5.b2.left.pointwise1.weight``, now
with the BatchNorm folded in, and ``....bias``). A ReLU of an IR tensor is shared by every
reader and named ``<tensor>/relu``, because torch applies the same ReLU once per reader.

NOTE: [Zeros] ``zero`` (DARTS ``none``) yields a ``Value`` without a tensor. An ``add`` drops
such operands, identity and ReLU pass it on, and anything else materialises it once with
``ConstantOfShape`` (the batch taken from ``Shape(input)`` when the batch axis is dynamic).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import onnx
from onnx import helper, numpy_helper

from nasgen.errors import BackendError
from nasgen.exporters.onnx.fold import BatchNormParams, fold_batch_norm
from nasgen.exporters.onnx.geometry import Pads
from nasgen.exporters.onnx.provenance import doc_string
from nasgen.ir import IRNode
from nasgen.ops import Shape

__all__ = ["INPUT", "OUTPUT", "Emitter", "Value"]

INPUT = "input"
OUTPUT = "logits"
AttrValue = int | float | str | Sequence[int] | onnx.TensorProto


@dataclass(frozen=True, slots=True)
class Value:
    """An IR node's result: a tensor name, or ``None`` for known zeros (see NOTE: [Zeros])."""

    name: str | None
    shape: Shape
    origin: str

    @property
    def is_zero(self) -> bool:
        """True for a zero value that has no tensor yet."""
        return self.name is None


class Emitter:
    """Collects ONNX nodes and initializers while the IR is walked in topological order."""

    def __init__(
        self,
        weights: Mapping[str, npt.NDArray[np.generic]],
        *,
        batch: int | None,
        output: str,
        tf_same: bool,
    ) -> None:
        """Start an empty graph; ``batch`` None means a dynamic batch axis.

        Args:
            weights: state_dict names -> arrays.
            batch: the static batch size, or None for a dynamic batch axis.
            output: the IR node whose result is the graph output ``logits``.
            tf_same: the convention pads stride-2 windows like TF SAME.

        """
        self.weights = weights
        self.batch = batch
        self.tf_same = tf_same
        self.output = output
        # Built in place inside the model: no copy of nodes or weights at the end.
        self.model = onnx.ModelProto()
        self.graph = self.model.graph
        self._names: set[str] = set()
        self._relu: dict[str, str] = {}
        self._zeros: dict[str, str] = {}
        self._docs: dict[str, str] = {INPUT: "stage input"}
        self._node: IRNode | None = None

    # ------------------------------------------------------------------------ provenance

    def at(self, node: IRNode) -> None:
        """Emit the following nodes for IR node ``node``."""
        self._node = node
        self._docs[node.id] = doc_string(node)

    @property
    def node(self) -> IRNode:
        """The IR node being lowered."""
        assert self._node is not None
        return self._node

    @property
    def result(self) -> str:
        """The tensor name of the current node's result (``logits`` for the graph output)."""
        return OUTPUT if self.node.id == self.output else self.node.id

    def value(self, name: str | None) -> Value:
        """The current node's result as a ``Value``."""
        return Value(name, self.node.shape, self.node.id)

    # ------------------------------------------------------------------------ raw emission

    def emit(
        self,
        op_type: str,
        inputs: Sequence[str],
        part: str,
        *,
        output: str | None = None,
        name: str | None = None,
        doc: str | None = None,
        **attrs: AttrValue,
    ) -> str:
        """Add one node named ``<node id>/<part>`` (or ``name``); return its output tensor."""
        node_name = name or f"{self.node.id}/{part}"
        assert node_name not in self._names, f"duplicate ONNX node name {node_name}"
        self._names.add(node_name)
        out = output or node_name
        proto = self.graph.node.add()
        proto.op_type, proto.name = op_type, node_name
        proto.input.extend(inputs)
        proto.output.append(out)
        proto.doc_string = doc if doc is not None else self._docs[self.node.id]
        for key, value in sorted(attrs.items()):
            proto.attribute.append(helper.make_attribute(key, value))
        return out

    def initializer(self, name: str, array: npt.NDArray[np.generic]) -> str:
        """Add a constant tensor (once per name) and return its name."""
        if name not in self._names:
            self._names.add(name)
            data = np.ascontiguousarray(array)
            tensor = self.graph.initializer.add()
            tensor.name = name
            tensor.data_type = helper.np_dtype_to_tensor_dtype(data.dtype)
            tensor.dims.extend(data.shape)
            tensor.raw_data = data.tobytes()
        return name

    def ints(self, values: Sequence[int]) -> str:
        """A shared int64 1-D constant."""
        name = "const/i64/" + "_".join(str(v) for v in values)
        return self.initializer(name, np.asarray(values, dtype=np.int64))

    # ------------------------------------------------------------------------ weights

    def weight(self, key: str, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
        """The state_dict entry ``<node id>.<key>`` as float64; missing or misshapen -> E512."""
        full = f"{self.node.id}.{key}"
        array = self.weights.get(full)
        if array is None:
            raise BackendError(
                "E512", f"weights have no {full!r} (node {self.node.id}, op {self.node.op})"
            )
        if tuple(array.shape) != shape:
            raise BackendError(
                "E512", f"weight {full!r} has shape {tuple(array.shape)}, expected {shape}"
            )
        return np.asarray(array, dtype=np.float64)

    def batch_norm_params(self, key: str, channels: int) -> BatchNormParams:
        """The BatchNorm ``<node id>.<key>`` (gamma, beta, running mean and variance)."""
        return BatchNormParams(
            self.weight(f"{key}.weight", (channels,)),
            self.weight(f"{key}.bias", (channels,)),
            self.weight(f"{key}.running_mean", (channels,)),
            self.weight(f"{key}.running_var", (channels,)),
        )

    # ------------------------------------------------------------------------ layers

    def relu(self, x: str, part: str | None = None, *, output: str | None = None) -> str:
        """ReLU of ``x``, emitted once per tensor (``<x>/relu``, or ``<node id>/<part>``)."""
        if x not in self._relu:
            if part is not None:
                self._relu[x] = self.emit("Relu", [x], part, output=output)
            else:
                name = f"{x}/relu"
                doc = self._docs.get(x)
                self._relu[x] = self.emit("Relu", [x], "", name=name, output=output, doc=doc)
        return self._relu[x]

    def conv(
        self,
        x: str,
        param: str,
        shape: tuple[int, int, int, int],
        *,
        bn: BatchNormParams | None = None,
        stride: tuple[int, int] = (1, 1),
        pads: Pads = (0, 0, 0, 0),
        dilation: int = 1,
        group: int = 1,
        output: str | None = None,
    ) -> str:
        """Conv ``<node id>/<param>`` with weight ``param.weight``, and ``bn`` folded into it."""
        weight = self.weight(f"{param}.weight", shape)
        prefix = f"{self.node.id}.{param}"
        inputs = [x]
        if bn is None:
            inputs.append(self.initializer(f"{prefix}.weight", weight.astype(np.float32)))
        else:
            folded, bias = fold_batch_norm(weight, bn)
            inputs.append(self.initializer(f"{prefix}.weight", folded))
            inputs.append(self.initializer(f"{prefix}.bias", bias))
        return self.emit(
            "Conv",
            inputs,
            param,
            output=output,
            kernel_shape=list(shape[2:]),
            strides=list(stride),
            pads=list(pads),
            dilations=[dilation, dilation],
            group=group,
        )

    # ------------------------------------------------------------------------ zeros

    def tensor(self, value: Value) -> str:
        """The tensor of ``value``, materialising a zero value (once per origin)."""
        if value.name is not None:
            return value.name
        if value.origin not in self._zeros:
            self._zeros[value.origin] = self._zeros_of(value)
        return self._zeros[value.origin]

    def _zeros_of(self, value: Value) -> str:
        name, doc = value.origin, self._docs.get(value.origin)
        if self.batch is not None:
            shape = self.ints([self.batch, *value.shape])
        else:
            if "input/batch" not in self._names:
                self.emit("Shape", [INPUT], "", name="input/batch", doc="stage input", end=1)
            shape = self.emit(
                "Concat",
                ["input/batch", self.ints(value.shape)],
                "",
                name=f"{name}/shape",
                doc=doc,
                axis=0,
            )
        zero = numpy_helper.from_array(np.zeros(1, dtype=np.float32), "value")
        out = OUTPUT if name == self.output else name
        return self.emit("ConstantOfShape", [shape], "", name=name, output=out, doc=doc, value=zero)
