"""Node emission: inferring a node's shape from its op and turning shape errors into diagnostics.

Pipeline stage: IR (lowering helper). Imports ``nasgen.errors``, ``nasgen.ops`` and
``nasgen.ir.graph``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from nasgen.errors import IRValidationError, SourceSpan
from nasgen.ir.graph import IRNode
from nasgen.ops import OPS, Attrs, ShapeError

__all__ = ["Emitter", "NetworkSink", "NodeSink", "Place"]


class NodeSink(Protocol):
    """Where emitted nodes go: an ``IRGraph``, or the static cost path's ledger."""

    def node(self, node_id: str) -> IRNode:
        """The node with this id."""
        ...

    def add(self, node: IRNode) -> IRNode:
        """Add a node whose inputs are already there."""
        ...


class NetworkSink(NodeSink, Protocol):
    """A sink that also names the network's outputs (what lowering a whole network fills)."""

    output: str
    aux_output: str | None


@dataclass(frozen=True, slots=True)
class Place:
    """Where emitted nodes belong: stage, cell instance, role, and the DSL text behind them."""

    stage: str
    role: str
    cell: str | None = None
    block: str | None = None
    span: SourceSpan | None = None


class Emitter:
    """Adds nodes to a graph, inferring shapes and checking them."""

    def __init__(self, graph: NodeSink) -> None:
        """Emit into ``graph``."""
        self.graph = graph

    def emit(
        self, node_id: str, op: str, attrs: Attrs, inputs: tuple[str, ...], place: Place
    ) -> IRNode:
        """Create node ``node_id``; shape errors become located ``IRValidationError``."""
        in_shapes = tuple(self.graph.node(i).shape for i in inputs)
        try:
            shape = OPS[op].shape(attrs, in_shapes)
        except ShapeError as err:
            raise IRValidationError(
                err.code, f"{err.message} (at {node_id})", place.span, err.hint
            ) from None
        if shape[0] < 1:
            raise IRValidationError(
                "E311", f"{node_id} would have {shape[0]} channels", place.span, "increase F"
            )
        if min(shape[1:]) < 1:
            size = "x".join(map(str, in_shapes[0][1:])) if in_shapes else "?"
            raise IRValidationError(
                "E302",
                f"spatial size falls below 1 at {node_id} (input {size})",
                place.span,
                "use a larger input_size or fewer reductions",
            )
        node = IRNode(
            node_id,
            op,
            attrs,
            inputs,
            in_shapes,
            shape,
            place.stage,
            place.role,
            place.cell,
            place.block,
            place.span,
        )
        return self.graph.add(node)
