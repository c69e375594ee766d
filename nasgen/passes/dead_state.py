"""Dead-state elimination (inference only).

Rules:
  - A node from which no network output can be reached is removed, with its weights: the
    projection of an input a cell never reads, and the cells that only fed it.
  - In the inference form the auxiliary head is not an output, so it goes too.
  - Not a training pass: TF and DARTS build and count such nodes, and the papers' parameter
    counts include them.
"""

from __future__ import annotations

from nasgen.ir import IRGraph
from nasgen.passes.base import Change, Pass, change

__all__ = ["DEAD_STATE"]


def _run(graph: IRGraph) -> list[Change]:
    graph.aux_output = None
    live = graph.ancestors(graph.output) | {graph.output}
    dead = [n for n in graph.nodes() if n.id not in live]
    for node in reversed(dead):
        graph.remove(node.id)
    return [change("removed", n, detail="unused") for n in dead]


DEAD_STATE = Pass("dead_state", ("inference",), _run, __doc__ or "")
