"""IR cell ops -> ONNX nodes: convs, pools, identity, zero and the combines.

Pipeline stage: exporter (IR -> **ONNX**). Imports ``nasgen.ir`` and the exporter's
``context``, ``geometry`` and ``registry`` modules; never torch.

Each lowering mirrors the torch layer of the same op in ``nasgen.backends.torch.layers``
(same ReLU placement, padding and parameter names) in eval mode: a BatchNorm after a conv is
folded into it, and drop path vanishes. Importing this module registers the lowerings.
"""

from __future__ import annotations

import numpy as np

from collections.abc import Sequence

from nasgen.exporters.onnx.context import INPUT, AttrValue, Emitter, Value
from nasgen.exporters.onnx.geometry import conv_pads, pool_pads
from nasgen.exporters.onnx.registry import onnx_lowering
from nasgen.ir import IRNode

__all__: list[str] = []


def _hw(node: IRNode) -> tuple[int, int]:
    return node.in_shapes[0][1], node.in_shapes[0][2]


@onnx_lowering("input")
def _input(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    return Value(INPUT, node.shape, node.id)


@onnx_lowering("conv_bn")
def _conv_bn(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    a = node.attrs
    k, stride, dilation = a.get_int("k"), a.get_int("stride", 1), a.get_int("dilation", 1)
    c_in, c_out = node.in_shapes[0][0], node.shape[0]
    x = em.tensor(inputs[0])
    if a.get_bool("relu"):
        x = em.relu(x)
    bn = em.batch_norm_params("bn", c_out) if a.get_bool("bn", True) else None
    pads = conv_pads(
        _hw(node),
        k,
        stride,
        dilation=dilation,
        padding=a.get_str("padding", "same"),
        tf_same=em.tf_same,
    )
    groups = a.get_int("groups", 1)
    out = em.conv(
        x,
        "conv",
        (c_out, c_in // groups, k, k),
        bn=bn,
        stride=(stride, stride),
        pads=pads,
        dilation=dilation,
        group=groups,
        output=em.result,
    )
    return em.value(out)


@onnx_lowering("se")
def _se(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    c, c_se = node.shape[0], node.attrs.get_int("c_se")
    x = em.tensor(inputs[0])
    pooled = em.emit("GlobalAveragePool", [x], "pool")
    squeezed = em.emit("Relu", [_biased_conv(em, pooled, "reduce", c_se, c)], "relu")
    gate = em.emit("Sigmoid", [_biased_conv(em, squeezed, "expand", c, c_se)], "gate")
    return em.value(em.emit("Mul", [x, gate], "scale", output=em.result))


def _biased_conv(em: Emitter, x: str, part: str, c_out: int, c_in: int) -> str:
    """A 1x1 conv with its bias (``<node>.<part>.weight`` and ``.bias``)."""
    prefix = f"{em.node.id}.{part}"
    weight = em.weight(f"{part}.weight", (c_out, c_in, 1, 1)).astype(np.float32)
    bias = em.weight(f"{part}.bias", (c_out,)).astype(np.float32)
    inputs = [x, em.initializer(f"{prefix}.weight", weight), em.initializer(f"{prefix}.bias", bias)]
    return em.emit("Conv", inputs, part, kernel_shape=[1, 1])


@onnx_lowering("sep_conv")
def _sep_conv(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    a = node.attrs
    k, dilation, repeats = a.get_int("k"), a.get_int("dilation"), a.get_int("repeats")
    c, c_out, hw = node.in_shapes[0][0], node.shape[0], _hw(node)
    x = em.tensor(inputs[0])
    for i in range(1, repeats + 1):
        stride = a.get_int("stride") if i == 1 else 1
        if i > 1:
            x = em.relu(x, f"relu{i}")
        elif a.get_bool("relu_in", True):
            x = em.relu(x)
        pads = conv_pads(hw, k, stride, dilation=dilation, tf_same=em.tf_same)
        x = em.conv(
            x,
            f"depthwise{i}",
            (c, 1, k, k),
            stride=(stride, stride),
            pads=pads,
            dilation=dilation,
            group=c,
        )
        bn = em.batch_norm_params(f"bn{i}", c_out)
        out = em.result if i == repeats else None
        x = em.conv(x, f"pointwise{i}", (c_out, c, 1, 1), bn=bn, output=out)
        c, hw = c_out, (node.shape[1], node.shape[2])
    return em.value(x)


@onnx_lowering("fac_conv")
def _fac_conv(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    a = node.attrs
    k, stride = a.get_int("k"), a.get_int("stride")
    c_in, c_out, p = node.in_shapes[0][0], node.shape[0], (a.get_int("k") - 1) // 2
    x = em.tensor(inputs[0])
    if a.get_bool("relu_in", True):
        x = em.relu(x)
    mid = em.batch_norm_params("bn_mid", c_out) if a.get_bool("mid_bn") else None
    x = em.conv(x, "conv_1xk", (c_out, c_in, 1, k), bn=mid, stride=(1, stride), pads=(0, p, 0, p))
    if mid is not None:
        x = em.relu(x, "relu_mid")
    bn = em.batch_norm_params("bn", c_out)
    out = em.conv(
        x,
        "conv_kx1",
        (c_out, c_out, k, 1),
        bn=bn,
        stride=(stride, 1),
        pads=(p, 0, p, 0),
        output=em.result,
    )
    return em.value(out)


@onnx_lowering("factorized_reduce")
def _factorized_reduce(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    c_in, c_out = node.in_shapes[0][0], node.shape[0]
    x = em.tensor(inputs[0])
    if node.attrs.get_bool("relu"):
        x = em.relu(x)
    bn = em.batch_norm_params("bn", c_out)
    if node.attrs.get_int("stride") == 1:
        return em.value(em.conv(x, "conv1", (c_out, c_in, 1, 1), bn=bn, output=em.result))
    half = c_out // 2
    first = em.conv(x, "conv1", (half, c_in, 1, 1), bn=bn.select(slice(0, half)), stride=(2, 2))
    shifted, pads = _shifted(em, x, _hw(node))
    second = em.conv(
        shifted,
        "conv2",
        (c_out - half, c_in, 1, 1),
        bn=bn.select(slice(half, None)),
        stride=(2, 2),
        pads=pads,
    )
    return em.value(em.emit("Concat", [first, second], "concat", output=em.result, axis=1))


def _shifted(em: Emitter, x: str, hw: tuple[int, int]) -> tuple[str, tuple[int, int, int, int]]:
    """``F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]`` for a stride-2 1x1 conv, and that conv's pads.

    NOTE: [Shifted path] The strided 1x1 conv reads rows 1, 3, 5... of ``x``; the padded zero
    row is read only when the size is odd, so ``x[:, :, 1:, 1:]`` with one bottom/right pad
    on the conv itself (zeros, like the torch padding) is the same and needs no Pad node.
    Size-1 maps would slice to nothing, so they keep the explicit Pad.
    """
    h, w = hw
    axes, starts = em.ints([2, 3]), em.ints([1, 1])
    if min(h, w) > 1:
        shifted = em.emit("Slice", [x, starts, em.ints([h, w]), axes], "shift")
        return shifted, (0, 0, h % 2, w % 2)
    padded = em.emit("Pad", [x, em.ints([0, 0, 0, 0, 0, 0, 1, 1])], "shift_pad", mode="constant")
    return em.emit("Slice", [padded, starts, em.ints([h + 1, w + 1]), axes], "shift"), (0, 0, 0, 0)


def _pool(em: Emitter, node: IRNode, inputs: Sequence[Value], op_type: str) -> Value:
    if inputs[0].is_zero:  # a pool of zeros is zeros (max pads are -inf, averages skip pads)
        return em.value(None)
    k, stride = node.attrs.get_int("k"), node.attrs.get_int("stride")
    pads = pool_pads(_hw(node), k, stride, tf_same=em.tf_same)
    x, kernel, strides = em.tensor(inputs[0]), [k, k], [stride, stride]
    attrs: dict[str, AttrValue] = {"kernel_shape": kernel, "strides": strides, "pads": list(pads)}
    if op_type == "AveragePool":  # torch averages over real cells only: say so at every opset
        attrs["count_include_pad"] = 0
    # (mypy cannot see that these keys never collide with emit's own keyword parameters)
    out = em.emit(op_type, [x], "pool", output=em.result, **attrs)  # type: ignore[arg-type]
    return em.value(out)


@onnx_lowering("avg_pool")
def _avg_pool(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    return _pool(em, node, inputs, "AveragePool")


@onnx_lowering("max_pool")
def _max_pool(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    return _pool(em, node, inputs, "MaxPool")


@onnx_lowering("relu")
def _relu(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    # A shared ReLU (relu_share pass); the emitter already keeps one Relu per tensor.
    return Value(em.relu(em.tensor(inputs[0])), node.shape, node.id)


@onnx_lowering("identity")
def _identity(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    return inputs[0]


@onnx_lowering("zero")
def _zero(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    return em.value(None)


@onnx_lowering("add")
def _add(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    terms = [v.name for v in inputs if v.name is not None]
    if not terms:
        return em.value(None)
    if len(terms) == 1:
        return Value(terms[0], node.shape, node.id)
    op_type = "Add" if len(terms) == 2 else "Sum"
    return em.value(em.emit(op_type, terms, "add", output=em.result))


@onnx_lowering("concat")
def _concat(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    if len(inputs) == 1:
        return inputs[0]
    if all(v.is_zero for v in inputs):
        return em.value(None)
    parts = [em.tensor(v) for v in inputs]
    return em.value(em.emit("Concat", parts, "concat", output=em.result, axis=1))
