"""BatchNorm folding for inference: a conv followed by BN becomes one conv with a bias.

Pipeline stage: backend. Imports torch and ``nasgen.backends.torch.layers``.

The IR pass ``bn_fold`` marks nodes ``fold_bn``; their lowerings call ``fold_batchnorm_`` on
the new layer (so the module has the folded structure), and ``fold_weights`` carries trained
weights over: the same fold, computed in float64 from the running statistics.
"""

from __future__ import annotations

import torch
from torch import nn

from nasgen.backends.torch.layers import ConvBN, FacConv, FactorizedReduce, ResNetBlock, SepConv

__all__ = ["fold_batchnorm_"]


@torch.no_grad()
def _fold(conv: nn.Conv2d, bn: nn.Module, channels: slice) -> None:
    """Fold ``bn[channels]`` (a BatchNorm2d in eval form) into ``conv``, in place."""
    assert isinstance(bn, nn.BatchNorm2d), type(bn)
    assert bn.running_var is not None and bn.running_mean is not None
    var = bn.running_var[channels].double()
    mean = bn.running_mean[channels].double()
    gamma = bn.weight[channels].double() if bn.affine else torch.ones_like(var)
    beta = bn.bias[channels].double() if bn.affine else torch.zeros_like(var)
    scale = gamma / torch.sqrt(var + bn.eps)
    weight = conv.weight.double() * scale.view(-1, 1, 1, 1)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(var)
    conv.weight.copy_(weight.to(conv.weight.dtype))
    conv.bias = nn.Parameter(((bias - mean) * scale + beta).to(conv.weight.dtype))


def fold_batchnorm_(layer: nn.Module) -> nn.Module:
    """Fold every conv-then-BN pair of one nasgen layer into its conv; return the layer."""
    everything = slice(None)
    if isinstance(layer, ConvBN) and isinstance(layer.bn, nn.BatchNorm2d):
        _fold(layer.conv, layer.bn, everything)
        layer.bn = nn.Identity()
    elif isinstance(layer, SepConv):
        for i in range(1, layer.repeats + 1):
            _fold(getattr(layer, f"pointwise{i}"), getattr(layer, f"bn{i}"), everything)
            setattr(layer, f"bn{i}", nn.Identity())
        layer.layers = [
            (getattr(layer, f"depthwise{i}"), getattr(layer, f"pointwise{i}"), nn.Identity())
            for i in range(1, layer.repeats + 1)
        ]
    elif isinstance(layer, FacConv):
        if isinstance(layer.bn_mid, nn.BatchNorm2d):
            _fold(layer.conv_1xk, layer.bn_mid, everything)
            layer.bn_mid = nn.Identity()  # type: ignore[assignment]
        _fold(layer.conv_kx1, layer.bn, everything)
        layer.bn = nn.Identity()  # type: ignore[assignment]
    elif isinstance(layer, FactorizedReduce):
        first = layer.conv1.out_channels
        _fold(layer.conv1, layer.bn, slice(0, first))
        if layer.conv2 is not None:
            _fold(layer.conv2, layer.bn, slice(first, None))
        layer.bn = nn.Identity()  # type: ignore[assignment]
    elif isinstance(layer, ResNetBlock):
        fold_batchnorm_(layer.conv_a)
        fold_batchnorm_(layer.conv_b)
    else:
        raise TypeError(f"no BatchNorm folding for {type(layer).__name__}")
    return layer
