"""The op registry (``OPS``) and conventions; importing this package registers every op.

Pipeline stage: shared definitions below the DSL. Imports ``nasgen.errors`` at most.
"""

from nasgen.ops import combine, conv, identity, network, pool  # noqa: F401  (registration)
from nasgen.ops.convention import PRESETS, RULES, Convention, Rule
from nasgen.ops.registry import (
    OPS,
    Attrs,
    Cost,
    ExpandContext,
    OpDef,
    OpRegistry,
    Param,
    ParamValue,
    Shape,
    ShapeError,
    Step,
)

__all__ = [
    "OPS",
    "PRESETS",
    "RULES",
    "Attrs",
    "Convention",
    "Cost",
    "ExpandContext",
    "OpDef",
    "OpRegistry",
    "Param",
    "ParamValue",
    "Rule",
    "Shape",
    "ShapeError",
    "Step",
]
