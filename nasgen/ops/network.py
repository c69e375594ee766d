"""Network-level ops: the image input, BatchNorm, the classifier, auxiliary heads, NB-201 blocks.

Pipeline stage: op definitions. Imports ``nasgen.ops.registry`` and ``nasgen.ops.geometry``.

Activations (``Cost.acts``): BatchNorm, ReLU and the image input count none; a linear layer
counts its out features, SE its two 1x1 convs' outputs, the composite heads and blocks each of
their convs, spatial pools and linear layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from nasgen.ops.geometry import conv_cost, out_size, single
from nasgen.ops.registry import OPS, Attrs, Cost, OpDef, Shape, ShapeError

__all__ = [
    "AUX_HEAD",
    "AUX_STYLES",
    "BATCH_NORM",
    "INPUT",
    "LINEAR",
    "RELU",
    "RESNET_BLOCK",
    "AuxStyle",
    "aux_geometry",
]


def _input_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    return (attrs.get_int("c"), attrs.get_int("h"), attrs.get_int("w"))


INPUT = OPS.add(OpDef(name="input", doc="the image batch", infer_shape=_input_shape, arity=0))


def _bn_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    return single(in_shapes)


BATCH_NORM = OPS.add(
    OpDef(
        name="batch_norm",
        doc="BatchNorm [- ReLU] (NB-201's last activation)",
        infer_shape=_bn_shape,
        cost=lambda attrs, ins, out: Cost(2 * out[0], 0),
        pure=True,
        has_weights=True,
    )
)


RELU = OPS.add(
    OpDef(
        name="relu",
        doc="ReLU of a state, shared by the ops that read it (inserted by the relu_share pass)",
        infer_shape=_bn_shape,
        pure=True,
    )
)


def _se_cost(attrs: Attrs, ins: tuple[Shape, ...], out: Shape) -> Cost:
    # Two 1x1 convs with biases on the pooled 1x1 map: c -> c_se -> c (pycls SE.complexity);
    # their outputs (c_se and c elements) are the activations, the pool and scale count none.
    c, c_se = out[0], attrs.get_int("c_se")
    return Cost(2 * c * c_se + c_se + c, 2 * c * c_se, c_se + c)


SQUEEZE_EXCITE = OPS.add(
    OpDef(
        name="se",
        doc="squeeze-excitation (Hu et al. 2018; RegNetY): global pool - 1x1 conv to `c_se` - "
        "ReLU - 1x1 conv back - sigmoid - scale; both convs have biases",
        infer_shape=_bn_shape,
        cost=_se_cost,
        pure=True,
        has_weights=True,
    )
)


def _linear_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    shape = single(in_shapes)
    if shape[1:] != (1, 1):
        raise ShapeError(
            "E307", f"classifier input must be pooled to 1x1, got {shape[1]}x{shape[2]}"
        )
    return (attrs.get_int("c_out"), 1, 1)


LINEAR = OPS.add(
    OpDef(
        name="linear",
        doc="[dropout] - fully connected layer, with a bias unless `bias = false` (the classifier)",
        infer_shape=_linear_shape,
        cost=lambda attrs, ins, out: Cost(
            ins[0][0] * out[0] + (out[0] if attrs.get_bool("bias", True) else 0),
            ins[0][0] * out[0],
            out[0],
        ),
        pure=True,
        has_weights=True,
    )
)


@dataclass(frozen=True, slots=True)
class AuxStyle:
    """One source's auxiliary classifier (TF-slim nasnet.py, DARTS model.py, ENAS micro_child.py).

    ReLU - avgpool(5, ``pool_stride``, VALID) - 1x1 conv 128 - BN - ReLU - conv 768 (kernel
    ``conv_k``, or the whole remaining map when 0; SAME-padded and globally pooled when
    ``conv_same``) - [BN] - ReLU - linear [bias]. ``placement`` says which cell it reads:
    ``before_reduction2`` (TF: the last normal cell before the second reduction),
    ``after_reduction2`` (DARTS: the second reduction cell) or ``after_reduction2_cell1``
    (ENAS: the first cell after it).
    """

    pool_stride: int
    conv_k: int
    bn_768: bool
    placement: str
    conv_same: bool = False
    fc_bias: bool = True


AUX_STYLES: Mapping[str, AuxStyle] = MappingProxyType(
    {
        "tf_slim": AuxStyle(pool_stride=3, conv_k=0, bn_768=True, placement="before_reduction2"),
        "darts_cifar": AuxStyle(pool_stride=3, conv_k=2, bn_768=True, placement="after_reduction2"),
        # "This batchnorm was omitted ... for consistency with the experiments in the paper."
        "darts_imagenet": AuxStyle(
            pool_stride=2, conv_k=2, bn_768=False, placement="after_reduction2"
        ),
        # micro_child.py: conv [hw, hw] with SAME padding, global pool, matmul without bias.
        "enas": AuxStyle(
            pool_stride=3,
            conv_k=0,
            bn_768=True,
            placement="after_reduction2_cell1",
            conv_same=True,
            fc_bias=False,
        ),
    }
)


def aux_geometry(attrs: Attrs, shape: Shape) -> tuple[int, int, int, int]:
    """Pooled size (h1, w1) and 768-conv kernel (kh, kw) of an aux head on ``shape``."""
    style = AUX_STYLES[attrs.get_str("style")]
    h1 = out_size(shape[1], 5, style.pool_stride, "valid")
    w1 = out_size(shape[2], 5, style.pool_stride, "valid")
    if min(h1, w1) < 1:
        raise ShapeError(
            "E308",
            f"auxiliary head needs a map of at least 5x5, got {shape[1]}x{shape[2]}",
            "use a larger input size or set aux_head = none",
        )
    kh, kw = (h1, w1) if style.conv_k == 0 else (style.conv_k, style.conv_k)
    if not style.conv_same and (h1 - kh + 1, w1 - kw + 1) != (1, 1):
        raise ShapeError(
            "E308",
            f"auxiliary head ({attrs.get_str('style')}): its {kh}x{kw} conv does not cover "
            f"the pooled {h1}x{w1} map of a {shape[1]}x{shape[2]} input",
            "the DARTS heads assume 8x8 (CIFAR) or 7x7 (ImageNet) inputs; use aux_head = tf_slim",
        )
    return h1, w1, kh, kw


def _aux_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    aux_geometry(attrs, single(in_shapes))
    return (attrs.get_int("classes"), 1, 1)


def _aux_cost(attrs: Attrs, in_shapes: tuple[Shape, ...], out: Shape) -> Cost:
    shape = in_shapes[0]
    h1, w1, kh, kw = aux_geometry(attrs, shape)
    classes = attrs.get_int("classes")
    style = AUX_STYLES[attrs.get_str("style")]
    pool = Cost(0, 0, shape[0] * h1 * w1)  # the 5x5 average pool's output
    total = pool + conv_cost(shape[0], 128, 1, 1, (128, h1, w1)) + Cost(256, 0)
    conv_out = (768, h1, w1) if style.conv_same else (768, 1, 1)
    total = total + conv_cost(128, 768, kh, kw, conv_out)
    total = total + (Cost(2 * 768, 0) if style.bn_768 else Cost())
    fc = Cost(768 * classes + (classes if style.fc_bias else 0), 768 * classes, classes)
    return total + fc


AUX_HEAD = OPS.add(
    OpDef(
        name="aux_head",
        doc="auxiliary classifier (training only; its loss weight is a network setting)",
        infer_shape=_aux_shape,
        cost=_aux_cost,
        has_weights=True,
    )
)


def _resnet_shape(attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
    _, h, w = single(in_shapes)
    if h % 2 or w % 2:
        raise ShapeError(
            "E302",
            f"NB-201 residual block halves an odd size {h}x{w} (its 2x2 average-pool shortcut "
            "and 3x3 conv disagree)",
            "use an input size divisible by 4",
        )
    return (attrs.get_int("c_out"), h // 2, w // 2)


def _resnet_cost(attrs: Attrs, in_shapes: tuple[Shape, ...], out: Shape) -> Cost:
    c_in, c_out = in_shapes[0][0], out[0]
    conv_a = conv_cost(c_in, c_out, 3, 3, out) + Cost(2 * c_out, 0)
    conv_b = conv_cost(c_out, c_out, 3, 3, out) + Cost(2 * c_out, 0)
    shortcut = conv_cost(c_in, c_out, 1, 1, out)  # after a 2x2 average pool, no BN
    pool = Cost(0, 0, c_in * out[1] * out[2])  # that average pool's output
    return conv_a + conv_b + pool + shortcut


RESNET_BLOCK = OPS.add(
    OpDef(
        name="resnet_block",
        doc="NB-201 stride-2 basic block: ReLUConvBN 3x3 s2, ReLUConvBN 3x3, avgpool-1x1 shortcut",
        infer_shape=_resnet_shape,
        cost=_resnet_cost,
        pure=True,
        has_weights=True,
        bn_channels=lambda attrs, out: 2 * out[0],
    )
)
