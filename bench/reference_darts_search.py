"""A hand-written DARTS search network and architecture step, independent of nasgen.

Written from the published description (Liu, Simonyan, Yang, "DARTS: Differentiable
Architecture Search", ICLR 2019, sections 2.2-2.3 and appendix A.1), to time and size the
supernet nasgen compiles from ``genotypes/spaces/darts.cell``:

- stem: conv 3x3 (3 -> 3C) + BN; ``layers`` cells, reductions at ``layers // 3`` and
  ``2 * layers // 3`` (C doubles); global average pooling and a linear classifier;
- each cell: s0 through FactorizedReduce when the previous cell reduced, else ReLU-1x1-BN; s1
  through ReLU-1x1-BN; node i sums a mixed op on each of its 2 + i inputs; an edge from s0/s1
  strides 2 in a reduction cell; output = concat of the 4 nodes;
- a mixed op: sum over the 8 ops of softmax(alpha) * op(x); none = zero (strided), pools with
  padding 1 followed by BN, skip = identity or FactorizedReduce at stride 2, sep_conv = (ReLU -
  dw - pw - BN) twice, dil_conv = ReLU - dw (dilation 2) - pw - BN; no BN in a cell has affine
  parameters.

Run as a script it prints the weight count (1,930,618 at C = 16, 8 cells, 10 classes)::

    python bench/reference_darts_search.py
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

PRIMITIVES = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)  # fmt: skip


class Zero(nn.Module):
    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        return x[:, :, :: self.stride, :: self.stride] * 0.0


class ReLUConvBN(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(F.relu(x)))


class FactorizedReduce(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=False)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(x)
        return self.bn(torch.cat([self.conv1(x), self.conv2(x[:, :, 1:, 1:])], dim=1))


def _dw_pw(c: int, k: int, stride: int, dilation: int) -> list[nn.Module]:
    pad = dilation * (k - 1) // 2
    return [
        nn.ReLU(),
        nn.Conv2d(c, c, k, stride, pad, dilation=dilation, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c, affine=False),
    ]


def make_op(name: str, c: int, stride: int) -> nn.Module:
    if name == "none":
        return Zero(stride)
    if name == "max_pool_3x3":
        return nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.BatchNorm2d(c, affine=False))
    if name == "avg_pool_3x3":
        pool = nn.AvgPool2d(3, stride, 1, count_include_pad=False)
        return nn.Sequential(pool, nn.BatchNorm2d(c, affine=False))
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    k = 3 if name.endswith("3x3") else 5
    if name.startswith("sep"):
        return nn.Sequential(*_dw_pw(c, k, stride, 1), *_dw_pw(c, k, 1, 1))
    return nn.Sequential(*_dw_pw(c, k, stride, 2))


class MixedOp(nn.Module):
    def __init__(self, c: int, stride: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(make_op(p, c, stride) for p in PRIMITIVES)

    def forward(self, x: Tensor, weights: Tensor) -> Tensor:
        return sum(w * op(x) for w, op in zip(weights, self.ops, strict=True))  # type: ignore[return-value]


class Cell(nn.Module):
    def __init__(self, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c)
        self.pre1 = ReLUConvBN(c_p, c)
        self.edges = nn.ModuleList(
            MixedOp(c, 2 if reduction and j < 2 else 1) for i in range(4) for j in range(2 + i)
        )

    def forward(self, s0: Tensor, s1: Tensor, weights: Tensor) -> Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        offset = 0
        for _ in range(4):
            node = sum(self.edges[offset + j](h, weights[offset + j]) for j, h in enumerate(states))
            offset += len(states)
            states.append(node)  # type: ignore[arg-type]
        return torch.cat(states[2:], dim=1)


class ReferenceDartsSearch(nn.Module):
    def __init__(self, C: int = 16, layers: int = 8, classes: int = 10) -> None:
        super().__init__()
        c_curr = 3 * C
        self.stem = nn.Sequential(
            nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_pp, c_p, c = c_curr, c_curr, C
        cells, self.reductions, reduction_prev = [], [], False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            cells.append(Cell(c_pp, c_p, c, reduction, reduction_prev))
            self.reductions.append(reduction)
            reduction_prev = reduction
            c_pp, c_p = c_p, 4 * c
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(c_p, classes)
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(14, len(PRIMITIVES)))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(14, len(PRIMITIVES)))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas_normal, self.alphas_reduce]

    def forward(self, x: Tensor) -> Tensor:
        normal = F.softmax(self.alphas_normal, dim=-1)
        reduce = F.softmax(self.alphas_reduce, dim=-1)
        s0 = s1 = self.stem(x)
        for cell, reduction in zip(self.cells, self.reductions, strict=True):
            s0, s1 = s1, cell(s0, s1, reduce if reduction else normal)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(s1, 1), 1))


def first_order_step(
    net: ReferenceDartsSearch,
    w_opt: torch.optim.Optimizer,
    a_opt: torch.optim.Optimizer,
    train: tuple[Tensor, Tensor],
    valid: tuple[Tensor, Tensor],
) -> None:
    """The alphas on the validation loss, then the weights on the training loss (clip 5)."""
    a_opt.zero_grad()
    F.cross_entropy(net(valid[0]), valid[1]).backward()
    a_opt.step()
    w_opt.zero_grad()
    F.cross_entropy(net(train[0]), train[1]).backward()
    alphas = {id(a) for a in net.arch_parameters()}
    nn.utils.clip_grad_norm_([p for p in net.parameters() if id(p) not in alphas], 5.0)
    for a in net.arch_parameters():
        a.grad = None
    w_opt.step()


def weight_count(net: nn.Module) -> int:
    alphas = {id(a) for a in net.arch_parameters()}  # type: ignore[operator]
    return sum(p.numel() for p in net.parameters() if id(p) not in alphas)


if __name__ == "__main__":
    print(f"weights: {weight_count(ReferenceDartsSearch()):,}")
