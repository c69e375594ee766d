"""Convolution ops: conv_bn (the IR's plain conv), sep_conv, dil_conv, conv, dilated_conv, fac_conv.

Pipeline stage: op definitions. Imports ``nasgen.ops.registry`` and ``nasgen.ops.geometry``.

Counting rules (docs/conventions.md): convs have no bias, every BatchNorm has a trainable
scale and shift (2 per channel), MACs count conv and linear multiply-accumulates only, and
activations count the output elements of every conv (each depthwise and pointwise conv of a
sep_conv, both convs of a fac_conv; pycls ``conv2d_cx``), none for BN or ReLU.
"""

from __future__ import annotations

from nasgen.ops.geometry import conv_cost, single, spatial
from nasgen.ops.registry import (
    OPS,
    Attrs,
    Cost,
    ExpandContext,
    OpDef,
    Param,
    Shape,
    ShapeError,
    Step,
)

__all__ = ["CONV", "CONV_BN", "DILATED_CONV", "DIL_CONV", "FAC_CONV", "SEP_CONV"]


def _bn(channels: int) -> Cost:
    return Cost(2 * channels, 0)


# --- conv_bn: [ReLU] - KxK conv (stride, dilation) - [BN] -----------------------------------


def _conv_bn_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    groups = attrs.get_int("groups", 1)
    c_in, c_out = single(in_shapes)[0], attrs.get_int("c_out")
    if groups < 1 or c_in % groups or c_out % groups:
        raise ShapeError("E309", f"{groups} groups do not divide {c_in} -> {c_out} channels")
    h, w = spatial(
        single(in_shapes),
        attrs.get_int("k"),
        attrs.get_int("stride", 1),
        attrs.get_str("padding", "same"),
        attrs.get_int("dilation", 1),
    )
    return (attrs.get_int("c_out"), h, w)


def _conv_bn_cost(attrs: Attrs, in_shapes: tuple[Shape, ...], out: Shape) -> Cost:
    k = attrs.get_int("k")
    cost = conv_cost(in_shapes[0][0], out[0], k, k, out, attrs.get_int("groups", 1))
    return cost + (_bn(out[0]) if attrs.get_bool("bn", True) else Cost())


CONV_BN = OPS.add(
    OpDef(
        name="conv_bn",
        doc="[ReLU] - KxK conv (`groups`) - [BN]: stems, 1x1 projections, NB-201 nor_conv, "
        "TF 1x1, RegNet's block convs",
        infer_shape=_conv_bn_shape,
        cost=_conv_bn_cost,
        pure=True,
        has_weights=True,
        bn_channels=lambda attrs, out: out[0] if attrs.get_bool("bn", True) else 0,
        relu_attr="relu",
    )
)


def _conv_bn_step(k: int, stride: int, c_out: int, suffix: str = "", dilation: int = 1) -> Step:
    attrs = Attrs.of(k=k, stride=stride, c_out=c_out, relu=True, dilation=dilation)
    return Step("conv_bn", attrs, suffix)


def _bottleneck(ctx: ExpandContext, inner: Step, width: int) -> tuple[Step, ...]:
    """TF-TPU AmoebaNet: ReLU-1x1(r)-BN - inner op at r channels - ReLU-1x1(F)-BN."""
    return (
        _conv_bn_step(1, 1, width, "reduce"),
        Step(inner.op, inner.attrs.replace(c_out=width), ""),
        _conv_bn_step(1, 1, ctx.c_out, "expand"),
    )


# --- sep_conv: (ReLU - depthwise KxK - pointwise 1x1 - BN) x repeats --------------------------


def _sep_conv_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    h, w = spatial(
        single(in_shapes),
        attrs.get_int("k"),
        attrs.get_int("stride", 1),
        "same",
        attrs.get_int("dilation", 1),
    )
    return (attrs.get_int("c_out"), h, w)


def _sep_conv_cost(attrs: Attrs, in_shapes: tuple[Shape, ...], out: Shape) -> Cost:
    k = attrs.get_int("k")
    c, c_out = in_shapes[0][0], out[0]
    total = Cost()
    for _ in range(attrs.get_int("repeats")):
        # NOTE: [Width inside sep_conv] TF-slim maps c_in -> F in the first pointwise conv;
        # DARTS maps C -> C first, but its inputs always have C channels, so both agree there.
        total = total + conv_cost(c, c, k, k, out, groups=c) + conv_cost(c, c_out, 1, 1, out)
        total = total + _bn(c_out)
        c = c_out
    return total


def _sep_conv_expand(attrs: Attrs, ctx: ExpandContext) -> tuple[Step, ...]:
    full = attrs.replace(
        stride=ctx.stride,
        c_out=ctx.c_out,
        dilation=1,
        repeats=ctx.convention.sep_conv_repeats,
    )
    return (Step("sep_conv", full),)


SEP_CONV = OPS.add(
    OpDef(
        name="sep_conv",
        doc="(ReLU - depthwise KxK - pointwise - BN) x2 (x1 if the convention says so)",
        params={"k": Param(int, (3, 5, 7))},
        aliases={"sep_conv_3x3": {"k": 3}, "sep_conv_5x5": {"k": 5}, "sep_conv_7x7": {"k": 7}},
        infer_shape=_sep_conv_shape,
        cost=_sep_conv_cost,
        expand=_sep_conv_expand,
        pure=True,
        has_weights=True,
        bn_channels=lambda attrs, out: attrs.get_int("repeats") * out[0],
        relu_attr="relu_in",
    )
)


def _dil_conv_expand(attrs: Attrs, ctx: ExpandContext) -> tuple[Step, ...]:
    full = Attrs.of(
        k=attrs.get_int("k"),
        dilation=attrs.get_int("dilation"),
        stride=ctx.stride,
        c_out=ctx.c_out,
        repeats=1,
    )
    return (Step("sep_conv", full),)


DIL_CONV = OPS.add(
    OpDef(
        name="dil_conv",
        doc="DARTS dilated *separable* conv, applied once: ReLU - dw KxK dilation 2 - pw - BN",
        params={"k": Param(int, (3, 5)), "dilation": Param(int, (2, 4), default=2)},
        aliases={"dil_conv_3x3": {"k": 3}, "dil_conv_5x5": {"k": 5}},
        expand=_dil_conv_expand,
    )
)


# --- conv: ReLU - KxK conv - BN (bottlenecked under tf_amoeba for k > 1) ---------------------


def _conv_expand(attrs: Attrs, ctx: ExpandContext) -> tuple[Step, ...]:
    k = attrs.get_int("k")
    step = _conv_bn_step(k, ctx.stride, ctx.c_out)
    if ctx.convention.bottleneck_convs and k > 1:
        return _bottleneck(ctx, step, ctx.c_out // 4)
    return (step,)


CONV = OPS.add(
    OpDef(
        name="conv",
        doc="ReLU - KxK conv - BN (NB-201 nor_conv, TF-TPU 1x1/3x3 with the 3x3 bottlenecked in "
        "tf_amoeba, ENAS macro's 5x5)",
        params={"k": Param(int, (1, 3, 5))},
        aliases={
            "conv_1x1": {"k": 1},
            "conv_3x3": {"k": 3},
            "conv_5x5": {"k": 5},
            "nor_conv_1x1": {"k": 1},
            "nor_conv_3x3": {"k": 3},
        },
        expand=_conv_expand,
    )
)


def _dilated_conv_expand(attrs: Attrs, ctx: ExpandContext) -> tuple[Step, ...]:
    step = _conv_bn_step(3, ctx.stride, ctx.c_out, dilation=attrs.get_int("dilation"))
    if ctx.convention.bottleneck_convs:
        return _bottleneck(ctx, step, ctx.c_out // 4)
    return (step,)


DILATED_CONV = OPS.add(
    OpDef(
        name="dilated_conv",
        doc="the NASNet paper's plain 3x3 dilated conv: ReLU - conv 3x3 dilation d - BN",
        params={"dilation": Param(int, (2, 4, 6), default=2)},
        aliases={"dilated_conv_3x3": {"dilation": 2}},
        expand=_dilated_conv_expand,
    )
)


# --- fac_conv: ReLU - 1xK conv - [BN - ReLU] - Kx1 conv - BN ---------------------------------


def _fac_conv_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    h, w = spatial(single(in_shapes), 1, attrs.get_int("stride", 1))
    return (attrs.get_int("c_out"), h, w)


def _fac_conv_cost(attrs: Attrs, in_shapes: tuple[Shape, ...], out: Shape) -> Cost:
    k, c_in, c_out = attrs.get_int("k"), in_shapes[0][0], out[0]
    # The 1xK conv strides along the width only (DARTS `stride=(1, s)`), so its output is
    # in_h x out_w.
    mid: Shape = (c_out, in_shapes[0][1], out[2])
    total = conv_cost(c_in, c_out, 1, k, mid) + conv_cost(c_out, c_out, k, 1, out) + _bn(c_out)
    return total + (_bn(c_out) if attrs.get_bool("mid_bn") else Cost())


def _fac_conv_expand(attrs: Attrs, ctx: ExpandContext) -> tuple[Step, ...]:
    k = attrs.get_int("k")
    step = Step("fac_conv", Attrs.of(k=k, stride=ctx.stride, c_out=ctx.c_out, mid_bn=False))
    if ctx.convention.bottleneck_convs:
        inner = Step("fac_conv", step.attrs.replace(mid_bn=True))
        # TF-TPU: r = F/4 for 1x7_7x1, 3F/8 for 1x3_3x1 (TF-TPU `network_utils.py`).
        width = ctx.c_out * 3 // 8 if k == 3 else ctx.c_out // 4
        return _bottleneck(ctx, inner, width)
    return (step,)


FAC_CONV = OPS.add(
    OpDef(
        name="fac_conv",
        doc="ReLU - 1xK conv - Kx1 conv - BN (DARTS conv_7x1_1x7; BN-ReLU between in tf_amoeba)",
        params={"k": Param(int, (3, 7))},
        aliases={
            "conv_7x1_1x7": {"k": 7},
            "conv_1x7_7x1": {"k": 7},
            "conv_1x3_3x1": {"k": 3},
            "conv_3x1_1x3": {"k": 3},
        },
        infer_shape=_fac_conv_shape,
        cost=_fac_conv_cost,
        expand=_fac_conv_expand,
        pure=True,
        has_weights=True,
        bn_channels=lambda attrs, out: out[0] * (2 if attrs.get_bool("mid_bn") else 1),
        relu_attr="relu_in",
    )
)
