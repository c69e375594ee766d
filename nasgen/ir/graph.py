"""The IR: a network as a networkx DiGraph of op nodes with inferred shapes.

Pipeline stage: IR (AST -> **IRGraph** -> validate -> passes -> backends). Imports
``nasgen.errors``, ``nasgen.ops`` and ``nasgen.dsl``.

Node ids are deterministic and readable: ``stem``, ``stem.cell0.b1.left``, ``cells.5.b2``,
``cells.5.h_prev`` (a preprocessing node), ``cells.5.out``, ``head.fc``, ``aux``. They sort
goldens and name parameters in every backend. ``IRNode.inputs`` is the ordered list of
operands (concat order matters); graph edges mirror it for topology.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import networkx as nx

from nasgen.dsl.resolve import Architecture
from nasgen.errors import SourceSpan
from nasgen.ops import OPS, Attrs, OpDef, Shape

__all__ = ["IRGraph", "IRNode"]


@dataclass(frozen=True, slots=True)
class IRNode:
    """One op application.

    Attributes:
        id: unique, readable node id.
        op: ``OpDef`` name.
        attrs: full attributes (``k``, ``stride``, ``c_out``...).
        inputs: operand node ids, in order.
        in_shapes: operand shapes, in order.
        shape: output shape (C, H, W).
        stage: ``stem``, ``stage1``, ``reduce1``, ..., ``head`` or ``aux``.
        cell: the cell instance the node belongs to (``cells.5``), if any.
        block: the DSL state the node computes or feeds (``b2``), if any.
        role: ``input``, ``stem``, ``preprocess``, ``op``, ``combine``, ``adapt``, ``output``,
            ``reduction``, ``head`` or ``aux``.
        span: the DSL text that produced the node (for diagnostics; not compared).

    """

    id: str
    op: str
    attrs: Attrs
    inputs: tuple[str, ...]
    in_shapes: tuple[Shape, ...]
    shape: Shape
    stage: str
    role: str
    cell: str | None = None
    block: str | None = None
    span: SourceSpan | None = field(default=None, compare=False, repr=False)

    @property
    def op_def(self) -> OpDef:
        """The registry entry of this node's op."""
        return OPS[self.op]


class IRGraph:
    """A network: nodes keyed by id over an ``nx.DiGraph``, plus its architecture and outputs."""

    def __init__(self, arch: Architecture) -> None:
        """Create an empty graph for ``arch`` (lowering fills it)."""
        self.arch = arch
        self.g: nx.DiGraph = nx.DiGraph()
        self.output: str = ""
        self.aux_output: str | None = None
        self._order = 0
        self._topo: list[str] | None = None  # cached order; any structural change drops it
        self._nodes: dict[str, IRNode] = {}  # the same nodes as ``g``, for fast lookup

    def add(self, node: IRNode, after: str | None = None) -> IRNode:
        """Add a node whose inputs are already in the graph.

        Nodes are ordered by creation; ``after`` places the node right after another in that
        order instead (a pass inserting a node keeps every other node's position).
        """
        assert node.id not in self.g, f"duplicate IR node id {node.id}"
        order: float = self._order
        if after is not None:
            order = self.g.nodes[after]["order"] + 0.5
        self.g.add_node(node.id, node=node, order=order)
        self._nodes[node.id] = node
        self._order += 1
        self._topo = None
        for src in node.inputs:
            assert src in self.g, f"{node.id} reads unknown node {src}"
            self.g.add_edge(src, node.id)
        return node

    def node(self, node_id: str) -> IRNode:
        """The node with this id."""
        return self._nodes[node_id]

    def __contains__(self, node_id: object) -> bool:
        """True when a node with this id exists."""
        return node_id in self.g

    def __len__(self) -> int:
        """Number of nodes."""
        return int(self.g.number_of_nodes())

    def nodes(self) -> Iterator[IRNode]:
        """Nodes in deterministic topological order (ties broken by order of creation)."""
        if self._topo is None:
            self._topo = self._sorted()
        nodes = self._nodes
        for node_id in self._topo:
            yield nodes[node_id]

    def _sorted(self) -> list[str]:
        # NOTE: [Creation order is usually the order] Lowering adds a node after its inputs, so
        # sorting by creation order is a topological order; when it is one, it is exactly the
        # lexicographical topological sort (at each step the earliest remaining node has all
        # its inputs placed). Passes that insert nodes can break that; then networkx sorts.
        order = self.g.nodes(data="order")
        by_order = sorted(self._nodes, key=lambda n: order[n])
        placed: set[str] = set()
        for node_id in by_order:
            if not all(src in placed for src in self.g.predecessors(node_id)):
                return list(nx.lexicographical_topological_sort(self.g, key=lambda n: order[n]))
            placed.add(node_id)
        return by_order

    def is_acyclic(self) -> bool:
        """Whether the graph has no cycle (cheap when creation order is topological)."""
        if self._topo is None:
            try:
                self._topo = self._sorted()
            except nx.NetworkXUnfeasible:
                return False
        return True

    def consumers(self, node_id: str) -> list[str]:
        """Ids of the nodes reading ``node_id``, sorted."""
        return sorted(self.g.successors(node_id))

    def ancestors(self, node_id: str) -> set[str]:
        """Ids of every node ``node_id`` depends on."""
        return set(nx.ancestors(self.g, node_id))

    def outputs(self) -> list[str]:
        """The network outputs: the classifier, then the auxiliary head if any."""
        return [self.output] + ([self.aux_output] if self.aux_output else [])

    def copy(self) -> IRGraph:
        """An independent copy (nodes are immutable and shared)."""
        other = IRGraph(self.arch)
        other.g = self.g.copy()
        other._nodes = dict(self._nodes)
        other.output, other.aux_output = self.output, self.aux_output
        other._order = self._order
        return other

    def remove(self, node_id: str) -> None:
        """Remove a node that nothing reads and that is no network output."""
        assert not list(self.g.successors(node_id)), f"{node_id} is still read"
        assert node_id not in self.outputs(), f"{node_id} is a network output"
        self.g.remove_node(node_id)
        del self._nodes[node_id]
        self._topo = None

    def set_inputs(self, node_id: str, inputs: tuple[str, ...]) -> IRNode:
        """Give a node new operands (of the same shapes, or fewer for ``add``); return it."""
        node = self.node(node_id)
        new = replace(node, inputs=inputs, in_shapes=tuple(self.node(i).shape for i in inputs))
        for src in set(node.inputs) - set(inputs):
            self.g.remove_edge(src, node_id)
        for src in inputs:
            self.g.add_edge(src, node_id)
        self.g.nodes[node_id]["node"] = new
        self._nodes[node_id] = new
        self._topo = None
        return new

    def update(self, node: IRNode) -> None:
        """Replace a node by a version with the same id, operands and shape (new attrs)."""
        old = self.node(node.id)
        assert (old.inputs, old.shape) == (node.inputs, node.shape), node.id
        self.g.nodes[node.id]["node"] = node
        self._nodes[node.id] = node

    def redirect(self, old: str, new: str) -> None:
        """Make every reader of ``old`` (and the network outputs) read ``new`` instead."""
        for reader in list(self.g.successors(old)):
            inputs = tuple(new if i == old else i for i in self.node(reader).inputs)
            self.set_inputs(reader, inputs)
        if self.output == old:
            self.output = new
        if self.aux_output == old:
            self.aux_output = new

    def render(self) -> str:
        """Canonical text of the graph, one node a line (goldens and ``--debug``)."""
        lines = []
        for n in self.nodes():
            shape = "x".join(map(str, n.shape))
            args = ", ".join(n.inputs)
            attrs = f"[{n.attrs.render()}]" if len(n.attrs) else ""
            lines.append(f"{n.id} = {n.op}{attrs}({args}) -> {shape}")
        return "\n".join(lines) + "\n"
