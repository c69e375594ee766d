"""Pooling ops: avg_pool, max_pool (searchable) and global_avg_pool (the classifier's pooling).

Pipeline stage: op definitions. Imports ``nasgen.ops.registry`` and ``nasgen.ops.geometry``.

Pools are padded to keep ceil(n/stride) (TF SAME, DARTS padding k//2); average pooling never
counts padded cells (DARTS ``count_include_pad=False``; TF SAME averages likewise). When the
input width differs from the cell's F, TF-slim follows the pool with a 1x1 conv + BN
(``_apply_conv_operation``); that is the ``proj`` node of the expansion.

Pools have no parameters and no MACs; a KxK pool's activations are its output elements (as
pycls ``pool2d_cx`` counts them), global pooling's none (pycls ``gap2d_cx``).
"""

from __future__ import annotations

from nasgen.ops.geometry import single, spatial
from nasgen.ops.registry import (
    OPS,
    Attrs,
    Cost,
    ExpandContext,
    ExpandFn,
    OpDef,
    Param,
    Shape,
    Step,
)

__all__ = ["AVG_POOL", "GLOBAL_AVG_POOL", "MAX_POOL"]


def _pool_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    shape = single(in_shapes)
    h, w = spatial(shape, attrs.get_int("k"), attrs.get_int("stride", 1))
    return (shape[0], h, w)


def _pool_cost(attrs: Attrs, in_shapes: tuple[Shape, ...], out: Shape) -> Cost:
    return Cost(0, 0, out[0] * out[1] * out[2])


def _pool_expand(op: str) -> ExpandFn:
    def expand(attrs: Attrs, ctx: ExpandContext) -> tuple[Step, ...]:
        pool = Step(op, Attrs.of(k=attrs.get_int("k"), stride=ctx.stride))
        if ctx.c_in == ctx.c_out:
            return (pool,)
        proj = Attrs.of(k=1, stride=1, c_out=ctx.c_out, relu=False)
        return (pool, Step("conv_bn", proj, "proj"))

    return expand


AVG_POOL = OPS.add(
    OpDef(
        name="avg_pool",
        doc="KxK average pooling, padded cells excluded from the mean",
        params={"k": Param(int, (3, 5))},
        aliases={"avg_pool_3x3": {"k": 3}, "avg_pool_5x5": {"k": 5}},
        infer_shape=_pool_shape,
        cost=_pool_cost,
        expand=_pool_expand("avg_pool"),
        pure=True,
    )
)

MAX_POOL = OPS.add(
    OpDef(
        name="max_pool",
        doc="KxK max pooling",
        params={"k": Param(int, (3, 5, 7))},
        aliases={"max_pool_3x3": {"k": 3}, "max_pool_5x5": {"k": 5}, "max_pool_7x7": {"k": 7}},
        infer_shape=_pool_shape,
        cost=_pool_cost,
        expand=_pool_expand("max_pool"),
        pure=True,
    )
)


def _gap_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    return (single(in_shapes)[0], 1, 1)


GLOBAL_AVG_POOL = OPS.add(
    OpDef(
        name="global_avg_pool",
        doc="[ReLU] - global average pooling, before the classifier",
        infer_shape=_gap_shape,
        pure=True,
    )
)
