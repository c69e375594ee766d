"""RegNet X / Y written by hand from the paper, for ``bench_regnet.py``'s side-by-side timing.

Radosavovic et al., "Designing Network Design Spaces", CVPR 2020, sections 3.1 and 4 (the X
block: 1x1 conv - BN - ReLU, 3x3 group conv with the stage's stride - BN - ReLU, 1x1 conv -
BN, a 1x1 conv - BN shortcut where the shape changes, ReLU after the sum; Y adds
squeeze-excitation, Hu et al. 2018, reducing to a quarter of the block's input width) and its
simple stem (3x3 conv, stride 2, 32 channels) and head (pool, linear). Stage depths, widths and
group widths come from ``nasgen.design`` (the RegNet rule), so only the network is written here.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from nasgen.design import Stage


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    conv = nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(c_out))


class SE(nn.Module):
    """Squeeze-excitation: pool, 1x1 conv down, ReLU, 1x1 conv up, sigmoid, scale."""

    def __init__(self, c: int, c_se: int) -> None:
        super().__init__()
        self.down = nn.Conv2d(c, c_se, 1)
        self.up = nn.Conv2d(c_se, c, 1)

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.up(torch.relu(self.down(s))))


class XBlock(nn.Module):
    """The X block (Y with ``se`` > 0)."""

    def __init__(self, w_in: int, w_out: int, stride: int, group_width: int, se: float) -> None:
        super().__init__()
        groups = w_out // group_width
        self.a = _conv_bn(w_in, w_out, 1)
        self.b = _conv_bn(w_out, w_out, 3, stride, groups)
        self.se = SE(w_out, round(se * w_in)) if se > 0 else None
        self.c = _conv_bn(w_out, w_out, 1)
        self.proj = _conv_bn(w_in, w_out, 1, stride) if w_in != w_out or stride != 1 else None

    def forward(self, x: Tensor) -> Tensor:
        # in-place ReLUs, as pycls's (MODEL.ACTIVATION_INPLACE defaults to True)
        y = torch.relu_(self.b(torch.relu_(self.a(x))))
        if self.se is not None:
            y = self.se(y)
        y = self.c(y)
        return torch.relu_(y + (self.proj(x) if self.proj is not None else x))


class ReferenceRegNet(nn.Module):
    """Stem, stages of X (or Y) blocks, head."""

    def __init__(self, stages: Sequence[Stage], se: float, classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(3, 32, 3, 2), nn.ReLU(inplace=True))
        blocks, w = [], 32
        for stage in stages:
            for j in range(stage.depth):
                stride = stage.stride if j == 0 else 1
                blocks.append(XBlock(w, stage.width, stride, stage.group_width, se))
                w = stage.width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(w, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.blocks(self.stem(x))
        return self.fc(x.mean((2, 3)))  # type: ignore[no-any-return]
