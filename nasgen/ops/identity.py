"""Identity-like ops: identity (skip_connect), zero, `none`, factorized_reduce.

Pipeline stage: op definitions. Imports ``nasgen.ops.registry`` and ``nasgen.ops.geometry``.

``none`` is a naming trap: identity in TF code (``nasnet_utils._apply_conv_operation``),
zero in DARTS (``cnn/operations.py``) and NAS-Bench-201 (``cell_operations.py``). It exists
only in the DSL and expands by the file's ``none`` rule.
"""

from __future__ import annotations

from nasgen.ops.geometry import conv_cost, single, spatial
from nasgen.ops.registry import OPS, Attrs, Cost, ExpandContext, OpDef, Shape, Step

__all__ = ["FACTORIZED_REDUCE", "IDENTITY", "NONE", "ZERO"]


def _same_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    return single(in_shapes)


def _identity_expand(attrs: Attrs, ctx: ExpandContext) -> tuple[Step, ...]:
    if ctx.stride == 1 and ctx.c_in == ctx.c_out:
        return (Step("identity", Attrs()),)
    rule = ctx.convention.strided_identity
    if ctx.stride == 2 and rule.startswith("factorized_reduce"):
        relu = rule == "factorized_reduce"
        return (Step("factorized_reduce", Attrs.of(stride=2, c_out=ctx.c_out, relu=relu)),)
    # TF-slim `none` with stride > 1 or a width change: ReLU - 1x1 conv(stride) - BN.
    attrs = Attrs.of(k=1, stride=ctx.stride, c_out=ctx.c_out, relu=True)
    return (Step("conv_bn", attrs),)


IDENTITY = OPS.add(
    OpDef(
        name="identity",
        doc="the input itself; at stride 2 or a width change, the convention's projection",
        aliases={"skip_connect": {}},
        infer_shape=_same_shape,
        expand=_identity_expand,
        pure=True,
        is_identity=lambda attrs: True,
    )
)


def _zero_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    h, w = spatial(single(in_shapes), 1, attrs.get_int("stride", 1))
    return (attrs.get_int("c_out"), h, w)


def _zero_expand(attrs: Attrs, ctx: ExpandContext) -> tuple[Step, ...]:
    return (Step("zero", Attrs.of(stride=ctx.stride, c_out=ctx.c_out)),)


ZERO = OPS.add(
    OpDef(
        name="zero",
        doc="all zeros of the output shape (DARTS/NB-201 `none`; a search-time op)",
        infer_shape=_zero_shape,
        expand=_zero_expand,
        pure=True,
    )
)


def _none_expand(attrs: Attrs, ctx: ExpandContext) -> tuple[Step, ...]:
    meant = OPS[ctx.convention.none]
    assert meant.expand is not None
    return meant.expand(attrs, ctx)


NONE = OPS.add(
    OpDef(
        name="none",
        doc="identity or zero, as the file's convention rule `none` says",
        expand=_none_expand,
    )
)


def _fr_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    h, w = spatial(single(in_shapes), 1, attrs.get_int("stride"))
    return (attrs.get_int("c_out"), h, w)


def _fr_cost(attrs: Attrs, in_shapes: tuple[Shape, ...], out: Shape) -> Cost:
    # stride 2: two 1x1 convs to c_out//2 and c_out - c_out//2 (TF gives path 2 the odd
    # channel), concat, BN; stride 1: one 1x1 conv + BN. Same totals either way (the two
    # convs' outputs, c_out//2 and c_out - c_out//2 channels, sum to c_out x H x W acts).
    return conv_cost(in_shapes[0][0], out[0], 1, 1, out) + Cost(2 * out[0], 0)


FACTORIZED_REDUCE = OPS.add(
    OpDef(
        name="factorized_reduce",
        doc="[ReLU] - two 1x1 stride-2 convs on x and x shifted by one pixel - concat - BN",
        infer_shape=_fr_shape,
        cost=_fr_cost,
        pure=True,
        has_weights=True,
        bn_channels=lambda attrs, out: out[0],
        relu_attr="relu",
    )
)
