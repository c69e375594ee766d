"""IR op -> torch layer, one lowering per registry op, keyed by ``OpDef.name``.

Pipeline stage: backend (IR -> **nn.Module**). Imports torch, ``nasgen.ops``, ``nasgen.ir`` and
``nasgen.backends.torch.layers``.

A lowering registered for a name the op registry does not know raises at import time, and a
test checks that every IR op has one (totality).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from nasgen.backends.torch.fold import fold_batchnorm_
from nasgen.backends.torch.layers import (
    Add,
    AuxHead,
    BatchNormReLU,
    Classifier,
    Concat,
    ConvBN,
    FacConv,
    FactorizedReduce,
    GlobalAvgPool,
    Identity,
    Pool,
    ResNetBlock,
    SepConv,
    SqueezeExcite,
    Zero,
)
from nasgen.errors import BackendError
from nasgen.ir import IRNode
from nasgen.ops import OPS, Convention
from nasgen.ops.network import AUX_STYLES, aux_geometry

__all__ = ["TORCH_LOWERINGS", "lower_node", "torch_lowering"]

Lowering = Callable[[IRNode, Convention], nn.Module]
TORCH_LOWERINGS: dict[str, Lowering] = {}


def torch_lowering(name: str) -> Callable[[Lowering], Lowering]:
    """Register the lowering of IR op ``name``; unknown or repeated names raise at import."""

    def register(fn: Lowering) -> Lowering:
        if name not in OPS or not OPS[name].in_ir:
            raise BackendError("E501", f"torch lowering for unknown IR op {name!r}")
        if name in TORCH_LOWERINGS:
            raise BackendError("E501", f"two torch lowerings for {name!r}")
        TORCH_LOWERINGS[name] = fn
        return fn

    return register


def lower_node(node: IRNode, convention: Convention) -> nn.Module:
    """The torch layer of one IR node."""
    fn = TORCH_LOWERINGS.get(node.op)
    if fn is None:
        raise BackendError("E502", f"no torch lowering for op {node.op!r} (node {node.id})")
    layer = fn(node, convention)
    return fold_batchnorm_(layer) if node.attrs.get_bool("fold_bn") else layer


def _c_in(node: IRNode) -> int:
    return node.in_shapes[0][0]


def _tf(conv: Convention) -> bool:
    return conv.padding == "tf_same"


@torch_lowering("input")
def _input(node: IRNode, conv: Convention) -> nn.Module:
    return Identity()


@torch_lowering("conv_bn")
def _conv_bn(node: IRNode, conv: Convention) -> nn.Module:
    a = node.attrs
    return ConvBN(
        _c_in(node),
        node.shape[0],
        a.get_int("k"),
        a.get_int("stride", 1),
        relu=a.get_bool("relu"),
        padding=a.get_str("padding", "same"),
        dilation=a.get_int("dilation", 1),
        bn=a.get_bool("bn", True),
        tf_same=_tf(conv),
        groups=a.get_int("groups", 1),
    )


@torch_lowering("se")
def _se(node: IRNode, conv: Convention) -> nn.Module:
    return SqueezeExcite(node.shape[0], node.attrs.get_int("c_se"))


@torch_lowering("sep_conv")
def _sep_conv(node: IRNode, conv: Convention) -> nn.Module:
    a = node.attrs
    return SepConv(
        _c_in(node),
        node.shape[0],
        a.get_int("k"),
        a.get_int("stride"),
        dilation=a.get_int("dilation"),
        repeats=a.get_int("repeats"),
        tf_same=_tf(conv),
        relu_in=a.get_bool("relu_in", True),
    )


@torch_lowering("fac_conv")
def _fac_conv(node: IRNode, conv: Convention) -> nn.Module:
    a = node.attrs
    return FacConv(
        _c_in(node),
        node.shape[0],
        a.get_int("k"),
        a.get_int("stride"),
        mid_bn=a.get_bool("mid_bn"),
        relu_in=a.get_bool("relu_in", True),
    )


@torch_lowering("factorized_reduce")
def _factorized_reduce(node: IRNode, conv: Convention) -> nn.Module:
    a = node.attrs
    return FactorizedReduce(
        _c_in(node), node.shape[0], a.get_int("stride"), relu=a.get_bool("relu")
    )


@torch_lowering("relu")
def _relu(node: IRNode, conv: Convention) -> nn.Module:
    return nn.ReLU()


@torch_lowering("avg_pool")
def _avg_pool(node: IRNode, conv: Convention) -> nn.Module:
    return Pool("avg", node.attrs.get_int("k"), node.attrs.get_int("stride"), tf_same=_tf(conv))


@torch_lowering("max_pool")
def _max_pool(node: IRNode, conv: Convention) -> nn.Module:
    return Pool("max", node.attrs.get_int("k"), node.attrs.get_int("stride"), tf_same=_tf(conv))


@torch_lowering("identity")
def _identity(node: IRNode, conv: Convention) -> nn.Module:
    return Identity()


@torch_lowering("zero")
def _zero(node: IRNode, conv: Convention) -> nn.Module:
    return Zero(node.shape[0], node.attrs.get_int("stride"))


@torch_lowering("add")
def _add(node: IRNode, conv: Convention) -> nn.Module:
    return Add()


@torch_lowering("concat")
def _concat(node: IRNode, conv: Convention) -> nn.Module:
    return Concat()


@torch_lowering("batch_norm")
def _batch_norm(node: IRNode, conv: Convention) -> nn.Module:
    return BatchNormReLU(node.shape[0], relu=node.attrs.get_bool("relu"))


@torch_lowering("global_avg_pool")
def _gap(node: IRNode, conv: Convention) -> nn.Module:
    return GlobalAvgPool(relu=node.attrs.get_bool("relu"))


@torch_lowering("linear")
def _linear(node: IRNode, conv: Convention) -> nn.Module:
    dropout = float(node.attrs.get("dropout", 0.0))
    bias = node.attrs.get_bool("bias", True)
    return Classifier(_c_in(node), node.shape[0], dropout=dropout, bias=bias)


@torch_lowering("aux_head")
def _aux_head(node: IRNode, conv: Convention) -> nn.Module:
    style = AUX_STYLES[node.attrs.get_str("style")]
    _, _, kh, kw = aux_geometry(node.attrs, node.in_shapes[0])
    return AuxHead(
        _c_in(node),
        node.shape[0],
        pool_stride=style.pool_stride,
        kernel=(kh, kw),
        bn_768=style.bn_768,
        conv_same=style.conv_same,
        fc_bias=style.fc_bias,
    )


@torch_lowering("resnet_block")
def _resnet_block(node: IRNode, conv: Convention) -> nn.Module:
    return ResNetBlock(_c_in(node), node.shape[0])
