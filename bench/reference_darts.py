"""A hand-written DARTS CIFAR evaluation network (genotype DARTS_V2), independent of nasgen.

Written from the published description (Liu, Simonyan, Yang, "DARTS: Differentiable
Architecture Search", ICLR 2019), to check and time the network nasgen compiles from
``genotypes/darts_v2.cell``:

- stem: conv 3x3 (3 -> 3C) + BN;
- ``layers`` cells, reductions at ``layers // 3`` and ``2 * layers // 3`` where C doubles;
- each cell: s0 through FactorizedReduce when the previous cell reduced, else ReLU-1x1-BN;
  s1 through ReLU-1x1-BN; four nodes, each the sum of two ops on earlier states; stride 2
  only for ops that read s0/s1 in a reduction cell; output = concat of nodes 2..5;
- ops: sep_conv_3x3 = (ReLU - dw 3x3 - pw 1x1 - BN) twice, stride in the first;
  dil_conv_3x3 = ReLU - dw 3x3 dilation 2 - pw 1x1 - BN; max_pool_3x3 padding 1;
  skip_connect = identity, or FactorizedReduce at stride 2;
- auxiliary head on the output of cell ``2 * layers // 3`` (training only): ReLU - avgpool 5
  stride 3 - 1x1 conv 128 - BN - ReLU - 2x2 conv 768 - BN - ReLU - linear;
- global average pooling and a linear classifier.

Like nasgen's module, eval mode returns logits and train mode ``(logits, aux_logits)``.
Drop path (training, ``drop_path_prob > 0``) zeroes whole samples of every non-identity op.

Its parameter counts are 3,349,342 without the auxiliary head and 3,825,768 with it.
``bench/reference_darts_copy.py`` copies nasgen's weights into it and checks that the two
compute the same function (``python bench/reference_darts_copy.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

# (op, input) pairs, two per node; inputs 0 = s0 (h_{i-1}), 1 = s1 (h_i), 2.. = nodes.
DARTS_V2_NORMAL: tuple[tuple[str, int], ...] = (
    ("sep_conv_3x3", 0),
    ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 0),
    ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 1),
    ("skip_connect", 0),
    ("skip_connect", 0),
    ("dil_conv_3x3", 2),
)
DARTS_V2_REDUCE: tuple[tuple[str, int], ...] = (
    ("max_pool_3x3", 0),
    ("max_pool_3x3", 1),
    ("skip_connect", 2),
    ("max_pool_3x3", 1),
    ("max_pool_3x3", 0),
    ("skip_connect", 2),
    ("skip_connect", 2),
    ("max_pool_3x3", 1),
)
DARTS_V2_CONCAT = (2, 3, 4, 5)

PARAMS = 3_349_342  # without the auxiliary head (the paper's 3.3M)
PARAMS_WITH_AUX = 3_825_768

__all__ = [
    "DARTS_V2_CONCAT",
    "DARTS_V2_NORMAL",
    "DARTS_V2_REDUCE",
    "PARAMS",
    "PARAMS_WITH_AUX",
    "ReferenceDartsCifar",
    "count_parameters",
]


# ---------------------------------------------------------------------------------- layers


class ReLUConvBN(nn.Module):
    """ReLU - conv (no bias) - BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        return self.bn(self.conv(self.relu(x)))  # type: ignore[no-any-return]


class FactorizedReduce(nn.Module):
    """ReLU - two 1x1 stride-2 convs, on x and on x[:, :, 1:, 1:] - concat - BN."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError("FactorizedReduce needs an even number of output channels")
        self.relu = nn.ReLU(inplace=False)
        self.path_a = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.path_b = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        x = self.relu(x)
        a = self.path_a(x)
        b = self.path_b(x[:, :, 1:, 1:])
        return self.bn(torch.cat((a, b), dim=1))  # type: ignore[no-any-return]


class SepConv3x3(nn.Module):
    """(ReLU - depthwise 3x3 - pointwise 1x1 - BN) x 2; the stride is in the first depthwise."""

    def __init__(self, c: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        return self.body(x)  # type: ignore[no-any-return]


class DilConv3x3(nn.Module):
    """ReLU - depthwise 3x3 dilation 2 padding 2 - pointwise 1x1 - BN."""

    def __init__(self, c: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, 3, stride, 2, dilation=2, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        return self.body(x)  # type: ignore[no-any-return]


def make_op(name: str, c: int, stride: int) -> nn.Module:
    """The layer of one genotype op at width ``c``."""
    if name == "sep_conv_3x3":
        return SepConv3x3(c, stride)
    if name == "dil_conv_3x3":
        return DilConv3x3(c, stride)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    raise ValueError(f"op {name!r} is not used by DARTS_V2")


def _drop_path(x: Tensor, prob: float) -> Tensor:
    keep = 1.0 - prob
    mask = torch.empty(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x / keep * mask


class Cell(nn.Module):
    """One DARTS cell (normal or reduction)."""

    def __init__(
        self,
        genotype: Sequence[tuple[str, int]],
        concat: Sequence[int],
        c_prev_prev: int,
        c_prev: int,
        c: int,
        *,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(c_prev_prev, c)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, c)
        self.preprocess1 = ReLUConvBN(c_prev, c)
        self.ops = nn.ModuleList()
        for name, index in genotype:
            stride = 2 if reduction and index < 2 else 1
            self.ops.append(make_op(name, c, stride))
        self.inputs = tuple(index for _, index in genotype)
        self.concat = tuple(concat)
        self.nodes = len(genotype) // 2
        self.multiplier = len(self.concat)

    def forward(self, s0: Tensor, s1: Tensor, drop_prob: float = 0.0) -> Tensor:
        """Apply the cell to h_{i-1} (s0) and h_i (s1)."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(self.nodes):
            total: Tensor | None = None
            for j in (2 * node, 2 * node + 1):
                op = self.ops[j]
                h = op(states[self.inputs[j]])
                if self.training and drop_prob > 0.0 and not isinstance(op, nn.Identity):
                    h = _drop_path(h, drop_prob)
                total = h if total is None else total + h
            assert total is not None
            states.append(total)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHeadCifar(nn.Module):
    """Auxiliary classifier for an 8x8 input."""

    def __init__(self, c: int, classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),  # 8x8 -> 2x2
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, classes)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the head."""
        return self.classifier(self.features(x).flatten(1))  # type: ignore[no-any-return]


class ReferenceDartsCifar(nn.Module):
    """DARTS NetworkCIFAR with the DARTS_V2 genotype (C=36, 20 layers, 10 classes)."""

    def __init__(
        self,
        c: int = 36,
        layers: int = 20,
        classes: int = 10,
        *,
        auxiliary: bool = True,
        stem_multiplier: int = 3,
        drop_path_prob: float = 0.0,
    ) -> None:
        super().__init__()
        self.layers = layers
        self.auxiliary = auxiliary
        self.drop_path_prob = drop_path_prob
        self.aux_at = 2 * layers // 3
        c_curr = stem_multiplier * c
        self.stem = nn.Sequential(
            nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, c
        self.cells = nn.ModuleList()
        reduction_prev = False
        c_aux = 0
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            genotype = DARTS_V2_REDUCE if reduction else DARTS_V2_NORMAL
            cell = Cell(
                genotype,
                DARTS_V2_CONCAT,
                c_prev_prev,
                c_prev,
                c_curr,
                reduction=reduction,
                reduction_prev=reduction_prev,
            )
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if i == self.aux_at:
                c_aux = c_prev
        self.aux_head = AuxiliaryHeadCifar(c_aux, classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, classes)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """Logits; in training mode with the auxiliary head, ``(logits, aux_logits)``."""
        aux_logits: Tensor | None = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_at and self.aux_head is not None and self.training:
                aux_logits = self.aux_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        if aux_logits is not None:
            return logits, aux_logits
        return logits  # type: ignore[no-any-return]


def count_parameters(model: nn.Module, *, aux: bool = False) -> int:
    """Parameters, without the auxiliary head unless ``aux`` (the paper's count)."""
    skip = ("aux_head.", "aux.")
    return sum(p.numel() for n, p in model.named_parameters() if aux or not n.startswith(skip))
