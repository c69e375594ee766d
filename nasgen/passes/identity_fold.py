"""Identity folding.

Rules:
  - An ``identity`` node (``skip_connect`` at stride 1 and equal width) is replaced by its
    input wherever it is read.
  - An ``add`` or ``concat`` of a single operand is that operand.
  - The folded node's readers keep their operand order, so concat channel order is unchanged.
  - Weightless, so valid in training; drop path applies per ``add`` operand and never applied
    to an identity, so training is unchanged too.
"""

from __future__ import annotations

from nasgen.ir import IRGraph
from nasgen.passes.base import Change, Pass, change

__all__ = ["IDENTITY_FOLD"]


def _run(graph: IRGraph) -> list[Change]:
    changes = []
    for node_id in [n.id for n in graph.nodes()]:
        node = graph.node(node_id)  # fresh: earlier rewrites may have changed its operands
        single = node.op in ("add", "concat") and len(node.inputs) == 1
        if node.op != "identity" and not single:
            continue
        (src,) = node.inputs
        graph.redirect(node.id, src)
        graph.remove(node.id)
        changes.append(change("folded", node, into=src))
    return changes


IDENTITY_FOLD = Pass("identity_fold", ("train", "inference"), _run, __doc__ or "")
