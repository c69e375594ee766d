"""Common-subexpression elimination of pure, weightless ops.

Rules:
  - Two nodes with the same op, the same attributes and the same operands in the same order
    compute the same value if the op is pure and has no weights (pooling, identity, zero, add
    and concat): the later one (in topological order) is merged into the earlier.
  - Ops with weights are never merged: equal wiring, different parameters.
  - NASNet-A's normal cell pools h_{i-1} twice with ``avg_pool_3x3``: one pool remains, read
    twice by the ``add``. Drop path applies per ``add`` operand, so training is unchanged.
"""

from __future__ import annotations

from nasgen.ir import IRGraph
from nasgen.passes.base import Change, Pass, change

__all__ = ["CSE"]


def _run(graph: IRGraph) -> list[Change]:
    changes = []
    seen: dict[tuple[object, ...], str] = {}
    for node_id in [n.id for n in graph.nodes()]:
        node = graph.node(node_id)  # fresh: earlier rewrites may have changed its operands
        if not node.op_def.pure or node.op_def.has_weights or node.op == "input":
            continue
        key = (node.op, node.attrs.render(), node.inputs)
        first = seen.setdefault(key, node.id)
        if first == node.id:
            continue
        graph.redirect(node.id, first)
        graph.remove(node.id)
        changes.append(change("merged", node, into=first))
    return changes


CSE = Pass("cse", ("train", "inference"), _run, __doc__ or "")
