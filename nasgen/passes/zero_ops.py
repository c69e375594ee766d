"""Zero-op elimination (DARTS and NB-201 ``none``).

Rules:
  - An operand of ``add`` that is a ``zero`` node is dropped from the sum (x + 0 = x).
  - An ``add`` left with one operand becomes that operand (see identity folding).
  - A ``zero`` in a ``concat`` or as a cell output stays: it carries channels.
  - A ``zero`` that nothing reads any more is removed. Weightless, so valid in training.
  - A ``zero`` that is the only reader of its input stays: removing it would leave that state
    computed for nothing (NB-201 ``none(n2)``), and its weights are part of the paper's count.
"""

from __future__ import annotations

from nasgen.ir import IRGraph
from nasgen.passes.base import Change, Pass, change

__all__ = ["ZERO_OPS"]


def _removable(graph: IRGraph, node_id: str) -> bool:
    """A zero whose input something else reads too (so removing it leaves nothing dangling)."""
    node = graph.node(node_id)
    return node.op == "zero" and len(graph.consumers(node.inputs[0])) > 1


def _run(graph: IRGraph) -> list[Change]:
    changes = []
    for node_id in [n.id for n in graph.nodes()]:
        node = graph.node(node_id)  # fresh: earlier rewrites may have changed its operands
        if node.op != "add":
            continue
        kept = tuple(i for i in node.inputs if not _removable(graph, i))
        if not kept or len(kept) == len(node.inputs):
            continue
        for src in set(node.inputs) - set(kept):
            zero = graph.node(src)
            graph.set_inputs(node.id, kept)
            if not graph.consumers(src) and src not in graph.outputs():
                graph.remove(src)
                changes.append(change("removed", zero, detail=f"zero operand of {node.id}"))
    return changes


ZERO_OPS = Pass("zero_ops", ("train", "inference"), _run, __doc__ or "")
