"""Static cost without the graph: validate and cost a network, each distinct cell lowered once.

Pipeline stage: IR. Imports ``nasgen.errors``, ``nasgen.ops``, ``nasgen.dsl`` and the other
``nasgen.ir`` modules.

A search asks "does this proposal compile, and what does it cost?" thousands of times a second
(issue 12's target is 1,000 proposals/s). ``lower`` + ``validate`` answer it by building the
whole network as an ``IRGraph`` (300 networkx nodes for a DARTS network of 20 cells), but most
of those nodes repeat: an NB-201 network of 15 cells has 3 distinct cell instances (one per
stage), a DARTS network 7-9 of 20. ``static_cost`` walks the same layout with the same
``Stacker`` and the same ``lower_cell``, into a ledger instead of a graph:

- each cell instance is keyed by what its lowering reads (the cell, stride, filters and the
  shapes of h and h_prev); the first of a kind is lowered into a small local ledger, checked
  (every state it computes is read or output) and summed; the others reuse that summary;
- each node's shape and cost come from the op registry, memoized by (op, attrs, input shapes)
  across calls (the same conv at the same width recurs in every proposal);
- the network-level checks of ``validate`` follow: nothing but a cell input projection is left
  unread, shapes stay positive, E303's size bounds.

It is an optimisation, never a second opinion: a node whose shape the registry refuses, a
dangling state, a size bound or anything this path does not model makes ``static_cost`` return
None, and the caller runs the full ``lower`` + ``validate`` for the located diagnostic (or, if
the doubt was unfounded, its report). Property tests check that both paths give the same
``CostReport`` and the same verdict on samples of every bundled space and every genotype.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from nasgen.design import Stage
from nasgen.dsl.resolve import Architecture
from nasgen.errors import NasgenError
from nasgen.ir.cost import CostReport, StageCost, cost_report
from nasgen.ir.emit import Emitter, Place
from nasgen.ir.graph import IRNode
from nasgen.ir.lower import Stacker
from nasgen.ir.lower_cell import CellUse, lower_body, lower_inputs
from nasgen.ir.validate import MAX_MACS, MAX_PARAMS
from nasgen.ops import OPS, Attrs, Cost, Shape, ShapeError

__all__ = ["static_cost"]

_MEMO_LIMIT = 200_000
"""Entries of the (op, attrs, input shapes) memo before it is cleared (a few tens of MB)."""
_MEMO: dict[tuple[str, Attrs, tuple[Shape, ...]], tuple[Shape, Cost]] = {}


class _DoubtError(Exception):
    """Something this path does not settle itself: the full lowering decides."""


def _shape_and_cost(op: str, attrs: Attrs, in_shapes: tuple[Shape, ...]) -> tuple[Shape, Cost]:
    key = (op, attrs, in_shapes)
    hit = _MEMO.get(key)
    if hit is not None:
        return hit
    op_def = OPS[op]
    try:
        shape = op_def.shape(attrs, in_shapes)
    except ShapeError:
        raise _DoubtError from None
    if min(shape) < 1:
        raise _DoubtError
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()
    _MEMO[key] = hit = (shape, op_def.cost(attrs, in_shapes, shape))
    return hit


@dataclass(slots=True)
class _Stage:
    params: int = 0
    macs: int = 0
    acts: int = 0
    cells: set[str] = field(default_factory=set)
    last: Shape = (0, 0, 0)


class _Ledger:
    """An ``IRGraph`` stand-in: node shapes, per-stage sums, and which nodes nothing reads.

    A local ledger (one cell body) resolves the ids of the body's inputs through ``outside``
    and records which of them it read.
    """

    def __init__(self, outside: dict[str, IRNode] | None = None) -> None:
        self.nodes: dict[str, IRNode] = {}
        self.unread: dict[str, str] = {}  # id -> role, in creation order
        self.stages: dict[str, _Stage] = {}
        self.outside = outside or {}
        self.read_outside: set[str] = set()
        self.output = ""
        self.aux_output: str | None = None
        self.last: IRNode | None = None

    def node(self, node_id: str) -> IRNode:
        found = self.nodes.get(node_id)
        return found if found is not None else self.outside[node_id]

    def stage(self, name: str) -> _Stage:
        found = self.stages.get(name)
        if found is None:
            found = self.stages[name] = _Stage()
        return found

    def read(self, node_id: str) -> None:
        if node_id in self.nodes:
            self.unread.pop(node_id, None)
        else:
            self.read_outside.add(node_id)

    def add(self, node: IRNode) -> IRNode:
        if node.id in self.nodes:  # IRGraph.add refuses it: never be more permissive
            raise _DoubtError
        for src in node.inputs:
            self.read(src)
        self.nodes[node.id] = node
        self.unread[node.id] = node.role
        self.last = node
        return node


class _CostEmitter(Emitter):
    """Emits into a ledger: shapes and costs memoized, any shape problem a ``_DoubtError``."""

    def __init__(self, ledger: _Ledger) -> None:
        super().__init__(ledger)
        self.ledger = ledger

    def emit(
        self, node_id: str, op: str, attrs: Attrs, inputs: tuple[str, ...], place: Place
    ) -> IRNode:
        ledger = self.ledger
        in_shapes = tuple(ledger.node(i).shape for i in inputs)
        shape, cost = _shape_and_cost(op, attrs, in_shapes)
        node = IRNode(
            node_id, op, attrs, inputs, in_shapes, shape, place.stage, place.role, place.cell
        )
        stage = ledger.stage(place.stage)
        stage.params += cost.params
        stage.macs += cost.macs
        stage.acts += cost.acts
        if place.cell is not None:
            stage.cells.add(place.cell)
        stage.last = shape
        return ledger.add(node)


@dataclass(frozen=True, slots=True)
class _Body:
    """One lowered cell body (blocks and output), relative to its cell's prefix."""

    output: str  # the output node's id after the prefix
    shape: Shape  # the output's shape
    last: Shape  # the shape of the last node created (the stage's last, if the cell ends it)
    params: int
    macs: int
    acts: int
    reads: tuple[str, ...]  # the cell inputs the body reads


class _CostStacker(Stacker[_Ledger]):
    """``Stacker`` whose ``cell`` lowers each distinct cell body once.

    The input projections are emitted per instance (they depend on what the cell reads); the
    body behind them depends only on the cell, stride, filters and the projected shapes, so
    DARTS's 20 cells have 5 distinct bodies and NB-201's 15 have 3.
    """

    def __init__(self, arch: Architecture) -> None:
        super().__init__(arch, _Ledger())
        self.em = _CostEmitter(self.graph)
        self.bodies: dict[tuple[object, ...], _Body] = {}
        self.blocks: dict[tuple[object, ...], tuple[str, Shape, tuple[int, int, int]]] = {}

    def cell(
        self, name: str, prefix: str, stage: str, stride: int, scale: Fraction, h_prev: str | None
    ) -> str:
        h = self.history[-1]
        assert h is not None
        graph, cell = self.graph, self.arch.cells[name]
        use = CellUse(cell, prefix, stage, stride, self.filters(scale), h_prev, h)
        states = lower_inputs(self.em, use, self.arch.convention)
        shapes = tuple(graph.node(states[n]).shape for n in cell.inputs)
        key = (name, stride, use.filters, shapes)
        body = self.bodies.get(key)
        if body is None:
            body = self.bodies[key] = self._lower_body(use, states)
        for input_name in body.reads:
            graph.read(states[input_name])
        out = f"{prefix}.{body.output}"
        graph.add(IRNode(out, "concat", Attrs(), (), (), body.shape, stage, "output", prefix))
        row = graph.stage(stage)
        row.params += body.params
        row.macs += body.macs
        row.acts += body.acts
        row.cells.add(prefix)
        row.last = body.last
        self.history.append(out)
        return out

    def block(
        self, prefix: str, x: str, w_out: int, stride: int, stage: Stage, place: Place
    ) -> str:
        """A stage block, lowered once per kind: blocks 2..d of a stage are all alike.

        The key is everything the block's lowering reads (its kind, input shape, width,
        stride, b, g and the SE ratio); a repeat adds its output and its summed cost.
        """
        graph = self.graph
        shape = graph.node(x).shape
        spec = self.spec
        key = (spec.block, shape, w_out, stride, stage.bottleneck, stage.group_width, spec.se)
        row = graph.stage(place.stage)
        known = self.blocks.get(key)
        if known is None:
            before = (row.params, row.macs, row.acts)
            out = super().block(prefix, x, w_out, stride, stage, place)
            cost = (row.params - before[0], row.macs - before[1], row.acts - before[2])
            self.blocks[key] = (out[len(prefix) :], graph.node(out).shape, cost)
            return out
        suffix, out_shape, (params, macs, acts) = known
        node = IRNode(
            f"{prefix}{suffix}", "relu", Attrs(), (x,), (shape,), out_shape, place.stage,
            place.role, place.cell,
        )  # fmt: skip
        graph.add(node)
        row.params += params
        row.macs += macs
        row.acts += acts
        if place.cell is not None:
            row.cells.add(place.cell)
        row.last = out_shape
        return node.id

    def _lower_body(self, use: CellUse, states: dict[str, str]) -> _Body:
        local = _Ledger({i: self.graph.node(i) for i in states.values()})
        out = lower_body(_CostEmitter(local), use, states, self.arch.convention)
        dangling = [i for i, role in local.unread.items() if i != out and role != "preprocess"]
        if dangling or out not in local.nodes or local.last is None:
            raise _DoubtError  # a dangling state, or a cell that outputs one of its inputs
        row = local.stages.get(use.stage, _Stage())
        reads = tuple(n for n in use.cell.inputs if states[n] in local.read_outside)
        prefix = len(use.prefix) + 1
        return _Body(
            out[prefix:],
            local.nodes[out].shape,
            local.last.shape,
            row.params,
            row.macs,
            row.acts,
            reads,
        )


def static_cost(arch: Architecture) -> CostReport | None:
    """The cost report ``validate(lower(arch))`` returns, or None to say "run it to know".

    None covers every error (the full path gives the located diagnostic) and anything this path
    does not model; a report is returned only for a network the full path accepts.
    """
    stacker = _CostStacker(arch)
    try:
        graph = stacker.build()
    except (_DoubtError, NasgenError):
        return None
    outputs = {graph.output, graph.aux_output}
    if any(i not in outputs and role != "preprocess" for i, role in graph.unread.items()):
        return None
    rows = tuple(
        StageCost(name, len(s.cells), s.last, s.params, s.macs, s.acts)
        for name, s in graph.stages.items()
    )
    aux = graph.stages.get("aux", _Stage())
    report = cost_report(rows, Cost(aux.params, aux.macs, aux.acts))
    if report.params + report.aux_params > MAX_PARAMS or report.macs > MAX_MACS:
        return None
    return report
