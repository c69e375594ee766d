"""A hand-written DARTS CIFAR network (DARTS_V2), written from the paper's description, for
side-by-side timing against the network nasgen compiles from ``genotypes/darts_v2.cell``.

Layout as in Liu et al. (ICLR 2019) and REFERENCE.md section 2.3: stem conv 3x3 (3 -> 3C) + BN;
``layers`` cells with reductions at layers // 3 and 2 * layers // 3 (C doubles); h_{i-1}
through FactorizedReduce after a reduction, else ReLU-1x1-BN; h_i through ReLU-1x1-BN; output
concat of the four nodes; auxiliary head after the second reduction; global pooling and a
linear classifier. ``count(model)`` excludes the auxiliary head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

NORMAL = [
    ("sep_conv_3x3", 0),
    ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 0),
    ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 1),
    ("skip_connect", 0),
    ("skip_connect", 0),
    ("dil_conv_3x3", 2),
]
REDUCE = [
    ("max_pool_3x3", 0),
    ("max_pool_3x3", 1),
    ("skip_connect", 2),
    ("max_pool_3x3", 1),
    ("max_pool_3x3", 0),
    ("skip_connect", 2),
    ("skip_connect", 2),
    ("max_pool_3x3", 1),
]


def _relu_conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))


class _FactorizedReduce(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.a = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.b = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(x)
        return self.bn(torch.cat([self.a(x), self.b(x[:, :, 1:, 1:])], 1))  # type: ignore[no-any-return]


def _sep(c: int, stride: int, dilation: int, repeats: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(repeats):
        s = stride if i == 0 else 1
        layers += [
            nn.ReLU(),
            nn.Conv2d(c, c, 3, s, dilation, dilation=dilation, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        ]
    return nn.Sequential(*layers)


def _op(name: str, c: int, stride: int) -> nn.Module:
    if name == "sep_conv_3x3":
        return _sep(c, stride, 1, 2)
    if name == "dil_conv_3x3":
        return _sep(c, stride, 2, 1)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, 1)
    return nn.Identity() if stride == 1 else _FactorizedReduce(c, c)


class _Cell(nn.Module):
    def __init__(
        self,
        genotype: list[tuple[str, int]],
        c_pp: int,
        c_p: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.pre0 = _FactorizedReduce(c_pp, c) if reduction_prev else _relu_conv_bn(c_pp, c)
        self.pre1 = _relu_conv_bn(c_p, c)
        self.ops = nn.ModuleList(
            _op(name, c, 2 if reduction and index < 2 else 1) for name, index in genotype
        )
        self.indices = [index for _, index in genotype]

    def forward(self, s0: Tensor, s1: Tensor) -> Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for i in range(4):
            a = self.ops[2 * i](states[self.indices[2 * i]])
            b = self.ops[2 * i + 1](states[self.indices[2 * i + 1]])
            states.append(a + b)
        return torch.cat(states[2:], dim=1)


class _AuxHead(nn.Module):
    def __init__(self, c: int, classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(),
            nn.AvgPool2d(5, 3, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(),
        )
        self.fc = nn.Linear(768, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.flatten(self.features(x), 1))  # type: ignore[no-any-return]


class DartsCifar(nn.Module):
    """DARTS_V2 on the CIFAR skeleton (C=36, 20 layers, 10 classes by default)."""

    def __init__(self, c: int = 36, layers: int = 20, classes: int = 10) -> None:
        super().__init__()
        self.layers = layers
        self.stem = nn.Sequential(
            nn.Conv2d(3, 3 * c, 3, padding=1, bias=False), nn.BatchNorm2d(3 * c)
        )
        c_pp, c_p, c_cur = 3 * c, 3 * c, c
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            c_cur = c_cur * 2 if reduction else c_cur
            genotype = REDUCE if reduction else NORMAL
            self.cells.append(_Cell(genotype, c_pp, c_p, c_cur, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, 4 * c_cur
            if i == 2 * layers // 3:
                c_aux = c_p
        self.aux = _AuxHead(c_aux, classes)
        self.fc = nn.Linear(c_p, classes)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        s0 = s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == 2 * self.layers // 3 and self.training:
                aux = self.aux(s1)
        logits = self.fc(torch.flatten(F.adaptive_avg_pool2d(s1, 1), 1))
        return (logits, aux) if aux is not None else logits


def count(model: nn.Module) -> int:
    """Parameters without the auxiliary head (DARTS ``count_parameters_in_MB``)."""
    return sum(p.numel() for n, p in model.named_parameters() if not n.startswith("aux."))
