"""The IR: lowering, validation and the static cost model (no torch anywhere on this path).

Pipeline stage: IR. Imports ``nasgen.errors``, ``nasgen.ops`` and ``nasgen.dsl``.
"""

from nasgen.ir.cost import CostReport, StageCost, estimate, node_cost
from nasgen.ir.graph import IRGraph, IRNode
from nasgen.ir.lower import lower
from nasgen.ir.validate import validate

__all__ = [
    "CostReport",
    "IRGraph",
    "IRNode",
    "StageCost",
    "estimate",
    "lower",
    "node_cost",
    "validate",
]
