"""IR network ops -> ONNX nodes: BatchNorm head, global pooling, classifier, NB-201 block.

Pipeline stage: exporter (IR -> **ONNX**). Imports numpy, ``nasgen.ir`` and the exporter's
``context``, ``fold`` and ``registry`` modules; never torch. Importing it registers them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasgen.exporters.onnx.context import Emitter, Value
from nasgen.exporters.onnx.fold import BN_EPS
from nasgen.exporters.onnx.registry import onnx_lowering
from nasgen.ir import IRNode

__all__: list[str] = []


@onnx_lowering("batch_norm")
def _batch_norm(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    """BatchNorm not after a conv (NB-201's last activation): a BatchNormalization node."""
    c = node.shape[0]
    prefix = f"{node.id}.bn"
    names = []
    for key in ("weight", "bias", "running_mean", "running_var"):
        array = em.weight(f"bn.{key}", (c,)).astype(np.float32)
        names.append(em.initializer(f"{prefix}.{key}", array))
    relu = node.attrs.get_bool("relu")
    x = em.tensor(inputs[0])
    out = em.emit(
        "BatchNormalization", [x, *names], "bn", output=None if relu else em.result, epsilon=BN_EPS
    )
    if relu:
        out = em.relu(out, output=em.result)
    return em.value(out)


@onnx_lowering("global_avg_pool")
def _global_avg_pool(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    x = em.tensor(inputs[0])
    if node.attrs.get_bool("relu"):
        x = em.relu(x)
    return em.value(em.emit("GlobalAveragePool", [x], "pool", output=em.result))


@onnx_lowering("linear")
def _linear(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    """Flatten - Gemm with the ``fc`` weight transposed [and bias]; dropout is the identity."""
    c_in, c_out = node.in_shapes[0][0], node.shape[0]
    flat = em.emit("Flatten", [em.tensor(inputs[0])], "flatten", axis=1)
    weight = em.weight("fc.weight", (c_out, c_in)).astype(np.float32)
    operands = [flat, em.initializer(f"{node.id}.fc.weight", weight)]
    if node.attrs.get_bool("bias", True):
        bias = em.weight("fc.bias", (c_out,)).astype(np.float32)
        operands.append(em.initializer(f"{node.id}.fc.bias", bias))
    return em.value(em.emit("Gemm", operands, "fc", output=em.result, transB=1))


@onnx_lowering("resnet_block")
def _resnet_block(em: Emitter, node: IRNode, inputs: Sequence[Value]) -> Value:
    """``shortcut(avgpool2(x)) + conv_b(conv_a(x))``, the ConvBNs with ReLU first."""
    c_in, c_out = node.in_shapes[0][0], node.shape[0]
    x = em.tensor(inputs[0])
    pooled = em.emit(
        "AveragePool",
        [x],
        "shortcut_pool",
        kernel_shape=[2, 2],
        strides=[2, 2],
        pads=[0, 0, 0, 0],
        count_include_pad=1,
    )
    residual = em.conv(pooled, "shortcut", (c_out, c_in, 1, 1))
    bn_a = em.batch_norm_params("conv_a.bn", c_out)
    a = em.conv(
        em.relu(x), "conv_a.conv", (c_out, c_in, 3, 3), bn=bn_a, stride=(2, 2), pads=(1, 1, 1, 1)
    )
    bn_b = em.batch_norm_params("conv_b.bn", c_out)
    b = em.conv(em.relu(a), "conv_b.conv", (c_out, c_out, 3, 3), bn=bn_b, pads=(1, 1, 1, 1))
    return em.value(em.emit("Add", [residual, b], "add", output=em.result))
