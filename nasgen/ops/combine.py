"""Combine ops: add and concat (the NASNet search space's two ways to merge a block).

Pipeline stage: op definitions. Imports ``nasgen.ops.registry``.
"""

from __future__ import annotations

from nasgen.ops.registry import OPS, Attrs, OpDef, Shape, ShapeError

__all__ = ["ADD", "CONCAT"]


def _render(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


def _add_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    first = in_shapes[0]
    for other in in_shapes[1:]:
        if other != first:
            raise ShapeError(
                "E301",
                f"add of mismatched shapes {_render(first)} and {_render(other)}",
                "every operand of add must have the same channels and size",
            )
    return first


def _concat_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    first = in_shapes[0]
    for other in in_shapes[1:]:
        if other[1:] != first[1:]:
            raise ShapeError(
                "E306",
                f"concat of states with different sizes {_render(first)} and {_render(other)}",
                "the convention does not adapt concatenated states (output_adapt = none)",
            )
    return (sum(s[0] for s in in_shapes), first[1], first[2])


ADD = OPS.add(
    OpDef(
        name="add",
        doc="element-wise sum",
        infer_shape=_add_shape,
        arity=None,
        combine=True,
        pure=True,
    )
)
CONCAT = OPS.add(
    OpDef(
        name="concat",
        doc="concatenation along channels",
        infer_shape=_concat_shape,
        arity=None,
        combine=True,
        pure=True,
    )
)
