"""Padding arithmetic of the ONNX exporter: PyTorch symmetric and TF SAME, in ONNX order.

Pipeline stage: exporter (IR -> **ONNX**). Imports nothing from nasgen.

ONNX ``pads`` are ``[top, left, bottom, right]`` for 2-D ops. TF SAME puts the odd extra
row/column at the bottom/right, which the exporter writes on the op itself (Conv, MaxPool and
AveragePool all take asymmetric ``pads``), so no separate ``Pad`` node is needed.
"""

from __future__ import annotations

__all__ = ["Pads", "conv_pads", "pool_pads", "tf_same_pads"]

Pads = tuple[int, int, int, int]
"""ONNX 2-D ``pads``: top, left, bottom, right."""


def tf_same_pads(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(begin, end) of TF SAME along one axis: total = max((ceil(n/s)-1)s + (k-1)d + 1 - n, 0)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _tf_same(hw: tuple[int, int], k: tuple[int, int], stride: int, dilation: int) -> Pads:
    top, bottom = tf_same_pads(hw[0], k[0], stride, dilation)
    left, right = tf_same_pads(hw[1], k[1], stride, dilation)
    return top, left, bottom, right


def conv_pads(
    hw: tuple[int, int],
    k: int,
    stride: int,
    *,
    dilation: int = 1,
    padding: str = "same",
    tf_same: bool = False,
) -> Pads:
    """Pads of a square conv as ``nasgen.backends.torch.layers._conv`` builds it.

    ``valid`` pads nothing; ``same`` pads (k-1)/2 * dilation on every side, except under the
    ``tf_same`` convention at stride > 1, where the padding depends on the input size.
    """
    if padding != "same":
        return 0, 0, 0, 0
    if tf_same and stride > 1:
        return _tf_same(hw, (k, k), stride, dilation)
    p = (k - 1) // 2 * dilation
    return p, p, p, p


def pool_pads(hw: tuple[int, int], k: int, stride: int, *, tf_same: bool) -> Pads:
    """Pads of a KxK SAME pool (``Pool`` in the torch backend)."""
    if tf_same and stride > 1:
        return _tf_same(hw, (k, k), stride, 1)
    p = (k - 1) // 2
    return p, p, p, p
