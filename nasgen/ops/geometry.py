"""Shape and cost arithmetic shared by the op families (conv/pool output sizes, conv costs).

Pipeline stage: shared definitions. Imports ``nasgen.ops.registry`` only.
"""

from __future__ import annotations

from nasgen.ops.registry import Cost, Shape, ShapeError

__all__ = ["conv_cost", "out_size", "single", "spatial"]


def out_size(size: int, k: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Output length of a conv or pool along one axis.

    ``same`` = ceil(n/s) (TF SAME, and PyTorch padding (k-1)/2·d for odd k);
    ``valid`` = floor((n - d(k-1) - 1)/s) + 1.
    """
    if padding == "same":
        return -(-size // stride)
    return (size - dilation * (k - 1) - 1) // stride + 1


def spatial(
    shape: Shape, k: int, stride: int, padding: str = "same", dilation: int = 1
) -> tuple[int, int]:
    """(h, w) after a square window."""
    return (
        out_size(shape[1], k, stride, padding, dilation),
        out_size(shape[2], k, stride, padding, dilation),
    )


def conv_cost(c_in: int, c_out: int, kh: int, kw: int, out: Shape, groups: int = 1) -> Cost:
    """Weights, MACs and activations (its c_out x H x W output) of one bias-free conv.

    ``out`` gives the output's spatial size.
    """
    weights = kh * kw * (c_in // groups) * c_out
    return Cost(weights, weights * out[1] * out[2], c_out * out[1] * out[2])


def single(in_shapes: tuple[Shape, ...]) -> Shape:
    """The one input shape of a unary op."""
    if len(in_shapes) != 1:
        raise ShapeError("E309", f"op takes exactly one input, got {len(in_shapes)}")
    return in_shapes[0]
