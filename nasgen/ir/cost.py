"""Static cost model: parameters, MACs and activations of every IR node, per stage and in total.

Pipeline stage: IR. Imports ``nasgen.ops`` and ``nasgen.ir.graph``.

Convention (REFERENCE.md section 7): trainable parameters (conv weights, BN scale and shift,
linear weights and biases); MACs count conv and linear multiply-accumulates only (BN, pooling
and additions excluded); activations (the RegNet paper's "acts", pycls ``blocks.py`` ``*_cx``)
count the output elements of every conv, spatial pool and linear layer (``nasgen.ops.Cost``).
The auxiliary head is reported separately and excluded from totals, as the DARTS and ENAS code
and the TF published figures do.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasgen.ir.graph import IRGraph, IRNode
from nasgen.ops import Cost

__all__ = ["CostReport", "StageCost", "cost_report", "estimate", "node_cost"]


@dataclass(frozen=True, slots=True)
class StageCost:
    """One row of the summary: a stage, its cells, output shape and cost."""

    stage: str
    cells: int
    shape: tuple[int, int, int]
    params: int
    macs: int
    acts: int


@dataclass(frozen=True, slots=True)
class CostReport:
    """Totals (auxiliary head excluded), the auxiliary head, and the per-stage breakdown."""

    params: int
    macs: int
    acts: int
    aux_params: int
    aux_macs: int
    aux_acts: int
    stages: tuple[StageCost, ...]


def node_cost(node: IRNode) -> Cost:
    """Params, MACs and activations of one node, from its ``OpDef``.

    A node whose BatchNorms were folded into its convs (``fold_bn``, inference) has one bias
    per BN channel instead of a scale and a shift (its MACs and activations are unchanged).
    """
    cost = node.op_def.cost(node.attrs, node.in_shapes, node.shape)
    folded = node.op_def.bn_channels
    if folded is not None and node.attrs.get_bool("fold_bn"):
        return Cost(cost.params - folded(node.attrs, node.shape), cost.macs, cost.acts)
    return cost


def estimate(graph: IRGraph) -> CostReport:
    """The cost report of a graph."""
    order: list[str] = []
    totals: dict[str, Cost] = {}
    cells: dict[str, set[str]] = {}
    last: dict[str, IRNode] = {}
    for node in graph.nodes():
        if node.stage not in totals:
            order.append(node.stage)
            totals[node.stage] = Cost()
            cells[node.stage] = set()
        totals[node.stage] = totals[node.stage] + node_cost(node)
        if node.cell is not None:
            cells[node.stage].add(node.cell)
        last[node.stage] = node
    rows = tuple(
        StageCost(s, len(cells[s]), last[s].shape, totals[s].params, totals[s].macs, totals[s].acts)
        for s in order
    )
    return cost_report(rows, totals.get("aux", Cost()))


def cost_report(rows: tuple[StageCost, ...], aux: Cost) -> CostReport:
    """The totals of the stage rows (the ``aux`` row left out) and the auxiliary head's cost."""
    main = [r for r in rows if r.stage != "aux"]
    return CostReport(
        sum(r.params for r in main),
        sum(r.macs for r in main),
        sum(r.acts for r in main),
        aux.params,
        aux.macs,
        aux.acts,
        rows,
    )
