"""IR validation: a graph that reaches a backend is acyclic, consistent, connected and sane.

Pipeline stage: IR (lower -> **validate** -> passes -> validate -> backend). Imports
``nasgen.errors``, ``nasgen.ops`` and ``nasgen.ir``.

Checks, each with its code:
  E304 the graph has a cycle (the nodes of one cycle are named, from ``nx.find_cycle``).
  E305 a node computes a value nothing reads (a block its cell neither reads nor outputs).
  E302 a shape has a dimension below 1; E309 a node's stored shapes disagree with its op.
  E303 the network is absurdly large (refused before any backend allocates it).

E303 is a sanity bound, the same on every machine: a network under it may still not fit in this
one's memory, which the memory guard (``nasgen.ir.memory``, E540) checks before every build.
"""

from __future__ import annotations

import networkx as nx

from nasgen.errors import IRValidationError
from nasgen.ir.cost import CostReport, estimate
from nasgen.ir.graph import IRGraph

__all__ = ["MAX_MACS", "MAX_PARAMS", "validate"]

MAX_PARAMS = 10**10
"""Refuse networks above 10^10 parameters (40 GB of fp32 weights)."""
MAX_MACS = 10**15
"""Refuse networks above 10^15 MACs per image."""


def _check_acyclic(graph: IRGraph) -> None:
    if nx.is_directed_acyclic_graph(graph.g):
        return
    cycle = nx.find_cycle(graph.g)
    names = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
    raise IRValidationError("E304", f"the graph has a cycle: {names}", graph.node(cycle[0][0]).span)


def _check_nodes(graph: IRGraph) -> None:
    for node in graph.nodes():
        in_shapes = tuple(graph.node(i).shape for i in node.inputs)
        if in_shapes != node.in_shapes or node.op_def.shape(node.attrs, in_shapes) != node.shape:
            raise IRValidationError(
                "E309", f"{node.id}: stored shapes disagree with its op", node.span
            )
        if min(node.shape) < 1:
            raise IRValidationError("E302", f"{node.id}: empty shape {node.shape}", node.span)


def _check_dangling(graph: IRGraph) -> None:
    outputs = set(graph.outputs())
    # NOTE: [Dead code is legal, dangling states are not] A cell that never reads one of its
    # inputs leaves the cell that produced it computed for nothing; TF and DARTS build and count
    # it anyway, so nasgen does too (an inference pass may remove it). What is an error is a
    # value nothing reads at all: a block neither read nor output by its own cell. The input
    # projections are exempt: TF `_cell_base` and DARTS `preprocess0/1` always exist.
    dangling = [
        n
        for n in graph.nodes()
        if graph.g.out_degree(n.id) == 0 and n.id not in outputs and n.role != "preprocess"
    ]
    if not dangling:
        return
    # Report the state itself (the block's own node, whose span is the block), not its first op.
    states = [n for n in dangling if n.cell and n.block and n.id == f"{n.cell}.{n.block}"]
    node = (states or dangling)[0]
    what = f"state {node.block!r}" if node.block else f"node {node.id}"
    where = f" of {node.cell}" if node.cell else ""
    raise IRValidationError(
        "E305",
        f"{what}{where} is computed but never read nor output",
        node.span,
        "list it in the cell's output, or remove the block",
    )


def validate(graph: IRGraph) -> CostReport:
    """Validate ``graph`` and return its cost report (computed once, here)."""
    _check_acyclic(graph)
    _check_nodes(graph)
    _check_dangling(graph)
    report = estimate(graph)
    if report.params + report.aux_params > MAX_PARAMS or report.macs > MAX_MACS:
        raise IRValidationError(
            "E303",
            f"network is absurdly large: {report.params + report.aux_params:,} parameters, "
            f"{report.macs:,} MACs (limits {MAX_PARAMS:.0e} and {MAX_MACS:.0e})",
            graph.arch.network_span("F"),
            "lower N, F or input_size",
        )
    return report
