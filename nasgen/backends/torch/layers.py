"""PyTorch layers for the IR ops: one class per op family, parameters named for reading.

Pipeline stage: backend (IR -> **nn.Module**). Imports torch only.

Parameter names inside a layer are stable and documented in docs/torch.md: ``conv``/``bn``
(conv_bn), ``depthwise1``/``pointwise1``/``bn1``... (sep_conv), ``conv_1xk``/``conv_kx1``/
``bn_mid``/``bn`` (fac_conv), ``conv1``/``conv2``/``bn`` (factorized_reduce), ``fc``
(linear). Padding is symmetric (PyTorch) or TF SAME (extra row/column at the bottom/right,
computed per input size), as the convention says.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

__all__ = [
    "Add",
    "AuxHead",
    "BatchNormReLU",
    "Classifier",
    "Concat",
    "ConvBN",
    "FacConv",
    "FactorizedReduce",
    "GlobalAvgPool",
    "Identity",
    "Pool",
    "ResNetBlock",
    "SepConv",
    "TFSameConv2d",
    "Zero",
]


def _tf_same_pad(
    x: Tensor, k: tuple[int, int], stride: tuple[int, int], dilation: int, value: float
) -> Tensor:
    """Pad like TF SAME: total = max((ceil(n/s)-1)s + (k-1)d + 1 - n, 0), extra at the end."""
    pads = []
    for size, kk, s in ((x.shape[3], k[1], stride[1]), (x.shape[2], k[0], stride[0])):
        out = (size + s - 1) // s  # ceil(size / s); traces to ONNX exactly, unlike -(-a // b)
        total = max((out - 1) * s + (kk - 1) * dilation + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x


class TFSameConv2d(nn.Conv2d):
    """A conv padded like TF SAME at run time (asymmetric for even totals); same parameters."""

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        k = (self.kernel_size[0], self.kernel_size[1])
        s = (self.stride[0], self.stride[1])
        return super().forward(_tf_same_pad(x, k, s, self.dilation[0], 0.0))


def _conv(
    c_in: int,
    c_out: int,
    k: int,
    stride: int,
    *,
    dilation: int = 1,
    groups: int = 1,
    padding: str = "same",
    tf_same: bool = False,
) -> nn.Conv2d:
    """A bias-free square conv; TF SAME padding only where it differs (stride > 1)."""
    if padding == "same" and tf_same and stride > 1:
        return TFSameConv2d(c_in, c_out, k, stride, 0, dilation=dilation, groups=groups, bias=False)
    pad = (k - 1) // 2 * dilation if padding == "same" else 0
    return nn.Conv2d(c_in, c_out, k, stride, pad, dilation=dilation, groups=groups, bias=False)


class ConvBN(nn.Module):
    """[ReLU] - KxK conv - [BN]."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        k: int,
        stride: int,
        *,
        relu: bool,
        padding: str = "same",
        dilation: int = 1,
        bn: bool = True,
        tf_same: bool = False,
        groups: int = 1,
    ) -> None:
        super().__init__()
        self.relu = relu
        self.conv = _conv(
            c_in,
            c_out,
            k,
            stride,
            dilation=dilation,
            groups=groups,
            padding=padding,
            tf_same=tf_same,
        )
        self.bn = nn.BatchNorm2d(c_out) if bn else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        if self.relu:
            x = F.relu(x)
        return self.bn(self.conv(x))  # type: ignore[no-any-return]


class SqueezeExcite(nn.Module):
    """Global pool - 1x1 conv (bias) - ReLU - 1x1 conv (bias) - sigmoid - scale (RegNetY)."""

    def __init__(self, c: int, c_se: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(c, c_se, 1, bias=True)
        self.expand = nn.Conv2d(c_se, c, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(torch.relu_(self.reduce(s))))


class SepConv(nn.Module):
    """(ReLU - depthwise KxK - pointwise 1x1 - BN) x repeats; stride in the first only.

    ``relu_in = False`` leaves out the first ReLU (the input is already a shared ReLU).
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        k: int,
        stride: int,
        *,
        dilation: int,
        repeats: int,
        tf_same: bool,
        relu_in: bool = True,
    ) -> None:
        super().__init__()
        self.repeats, self.relu_in = repeats, relu_in
        c = c_in
        for i in range(1, repeats + 1):
            s = stride if i == 1 else 1
            dw = _conv(c, c, k, s, dilation=dilation, groups=c, tf_same=tf_same)
            self.add_module(f"depthwise{i}", dw)
            self.add_module(f"pointwise{i}", nn.Conv2d(c, c_out, 1, bias=False))
            self.add_module(f"bn{i}", nn.BatchNorm2d(c_out))
            c = c_out
        self.layers = [
            (
                getattr(self, f"depthwise{i}"),
                getattr(self, f"pointwise{i}"),
                getattr(self, f"bn{i}"),
            )
            for i in range(1, repeats + 1)
        ]

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        for i, (dw, pw, bn) in enumerate(self.layers):
            x = bn(pw(dw(F.relu(x) if i or self.relu_in else x)))
        return x


class FacConv(nn.Module):
    """ReLU - 1xK conv (stride (1, s)) - [BN - ReLU] - Kx1 conv (stride (s, 1)) - BN."""

    def __init__(
        self, c_in: int, c_out: int, k: int, stride: int, *, mid_bn: bool, relu_in: bool = True
    ) -> None:
        super().__init__()
        self.relu_in = relu_in
        p = (k - 1) // 2
        self.conv_1xk = nn.Conv2d(c_in, c_out, (1, k), (1, stride), (0, p), bias=False)
        self.bn_mid = nn.BatchNorm2d(c_out) if mid_bn else None
        self.conv_kx1 = nn.Conv2d(c_out, c_out, (k, 1), (stride, 1), (p, 0), bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        x = self.conv_1xk(F.relu(x) if self.relu_in else x)
        if self.bn_mid is not None:
            x = F.relu(self.bn_mid(x))
        return self.bn(self.conv_kx1(x))  # type: ignore[no-any-return]


class FactorizedReduce(nn.Module):
    """[ReLU] - 1x1 convs on x and on x shifted by one pixel, stride 2 - concat - BN.

    The shifted path pads one zero row and column at the bottom/right before the shift (TF
    ``factorized_reduction``), so odd sizes work; for even sizes this equals DARTS's
    ``x[:, :, 1:, 1:]``. Stride 1 is a 1x1 conv + BN (``conv1`` only).
    """

    def __init__(self, c_in: int, c_out: int, stride: int, *, relu: bool) -> None:
        super().__init__()
        self.relu, self.stride = relu, stride
        if stride == 1:
            self.conv1 = nn.Conv2d(c_in, c_out, 1, bias=False)
            self.conv2: nn.Conv2d | None = None
        else:
            self.conv1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
            self.conv2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        if self.relu:
            x = F.relu(x)
        if self.conv2 is None:
            return self.bn(self.conv1(x))  # type: ignore[no-any-return]
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv1(x), self.conv2(shifted)], dim=1))  # type: ignore[no-any-return]


class Pool(nn.Module):
    """KxK max or average pooling with SAME padding; averages exclude padded cells."""

    def __init__(self, kind: str, k: int, stride: int, *, tf_same: bool) -> None:
        super().__init__()
        self.kind, self.k, self.stride = kind, k, stride
        self.tf_same = tf_same and stride > 1
        self.pad = 0 if self.tf_same else (k - 1) // 2
        self._counts: dict[tuple[object, ...], Tensor] = {}

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer.

        On the CPU, pooling runs in channels-last layout: PyTorch's NCHW pooling kernels are
        3-6x slower there, more than the two layout copies cost (bench/bench_passes.py).
        """
        if x.device.type == "cpu" and x.dim() == 4 and x.is_contiguous():
            return self._pool(x.contiguous(memory_format=torch.channels_last)).contiguous()
        return self._pool(x)

    def _pool(self, x: Tensor) -> Tensor:
        if self.kind == "max":
            if self.tf_same:
                x = _tf_same_pad(x, (self.k, self.k), (self.stride, self.stride), 1, float("-inf"))
            return F.max_pool2d(x, self.k, self.stride, self.pad)
        if self.tf_same:
            # Average over real cells only: divide by the pooled, padded mask of ones (the same
            # for every input of one size, so it is computed once per size, device and dtype).
            key = (x.shape[2], x.shape[3], x.device, x.dtype)
            counts = self._counts.get(key)
            if counts is None:
                ones = torch.ones((1, 1, x.shape[2], x.shape[3]), device=x.device, dtype=x.dtype)
                ones = _tf_same_pad(ones, (self.k, self.k), (self.stride, self.stride), 1, 0.0)
                counts = F.avg_pool2d(ones, self.k, self.stride)
                self._counts[key] = counts
            x = _tf_same_pad(x, (self.k, self.k), (self.stride, self.stride), 1, 0.0)
            return F.avg_pool2d(x, self.k, self.stride) / counts
        return F.avg_pool2d(x, self.k, self.stride, self.pad, count_include_pad=False)


class Identity(nn.Module):
    """The input itself."""

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        return x


class Zero(nn.Module):
    """Zeros of the output shape (DARTS ``Zero``, generalised to a width change)."""

    def __init__(self, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_out, self.stride = c_out, stride

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        x = x[:, :1, :: self.stride, :: self.stride]
        return x.new_zeros(x.shape[0], self.c_out, x.shape[2], x.shape[3])


class Add(nn.Module):
    """Element-wise sum of its inputs."""

    def forward(self, *xs: Tensor) -> Tensor:
        """Apply the layer."""
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concat(nn.Module):
    """Concatenation along channels."""

    def forward(self, *xs: Tensor) -> Tensor:
        """Apply the layer."""
        return torch.cat(xs, dim=1)


class BatchNormReLU(nn.Module):
    """BatchNorm [- ReLU]."""

    def __init__(self, c: int, *, relu: bool) -> None:
        super().__init__()
        self.relu = relu
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        x = self.bn(x)
        return F.relu(x) if self.relu else x


class GlobalAvgPool(nn.Module):
    """[ReLU] - mean over height and width, keeping (N, C, 1, 1)."""

    def __init__(self, *, relu: bool) -> None:
        super().__init__()
        self.relu = relu

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        if self.relu:
            x = F.relu(x)
        return x.mean(dim=(2, 3), keepdim=True)


class Classifier(nn.Module):
    """[Dropout] - linear [with bias], on a pooled (N, C, 1, 1) input; returns (N, classes)."""

    def __init__(self, c_in: int, classes: int, *, dropout: float, bias: bool = True) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(c_in, classes, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        return self.fc(self.dropout(torch.flatten(x, 1)))  # type: ignore[no-any-return]


class AuxHead(nn.Module):
    """ReLU - avgpool 5 VALID - 1x1 conv 128 - BN - ReLU - conv 768 - [BN] - ReLU - linear.

    With ``conv_same`` (ENAS) the 768 conv is TF-SAME padded and globally average-pooled.
    """

    def __init__(
        self,
        c_in: int,
        classes: int,
        *,
        pool_stride: int,
        kernel: tuple[int, int],
        bn_768: bool,
        conv_same: bool = False,
        fc_bias: bool = True,
    ) -> None:
        super().__init__()
        self.pool_stride = pool_stride
        self.same_pad = (
            ((kernel[1] - 1) // 2, kernel[1] // 2, (kernel[0] - 1) // 2, kernel[0] // 2)
            if conv_same
            else None
        )
        self.proj = nn.Conv2d(c_in, 128, 1, bias=False)
        self.bn_proj = nn.BatchNorm2d(128)
        self.conv = nn.Conv2d(128, 768, kernel, bias=False)
        self.bn = nn.BatchNorm2d(768) if bn_768 else nn.Identity()
        self.fc = nn.Linear(768, classes, bias=fc_bias)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        x = F.avg_pool2d(F.relu(x), 5, self.pool_stride)
        x = F.relu(self.bn_proj(self.proj(x)))
        if self.same_pad is not None:
            x = F.pad(x, self.same_pad)
        x = F.relu(self.bn(self.conv(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))  # type: ignore[no-any-return]


class ResNetBlock(nn.Module):
    """NB-201 stride-2 block: ReLUConvBN 3x3 s2 - ReLUConvBN 3x3, plus avgpool-1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ConvBN(c_in, c_out, 3, 2, relu=True)
        self.conv_b = ConvBN(c_out, c_out, 3, 1, relu=True)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        residual = self.shortcut(F.avg_pool2d(x, 2, 2))
        return residual + self.conv_b(self.conv_a(x))  # type: ignore[no-any-return]
