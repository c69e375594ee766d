"""Mixed ops: the candidates of a choice point, lowered as the torch backend lowers them.

Pipeline stage: one-shot. Imports torch, ``nasgen.backends.torch`` (per-node lowerings),
``nasgen.ir`` (nodes), ``nasgen.ops`` and ``nasgen.dsl`` (resolved ops).

A candidate is the torch lowering of an op's IR expansion at one width and stride, so a
supernet trains the layers its derived cells' evaluation networks train (``SearchNetwork``'s
mixed edges, ``ChainSearchNetwork``'s layers). GDAS's Gumbel draw and temperature live here
beside ``MixedOp``, which runs one drawn candidate when given its index.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from nasgen.backends.torch.lowerings import lower_node
from nasgen.dsl.resolve import Architecture, ResolvedOp
from nasgen.ir.graph import IRNode
from nasgen.ops import OPS, Attrs, ExpandContext

__all__ = ["MixedOp", "candidate", "gdas_tau", "gumbel_hard", "lower_chain", "no_affine"]


def _node(node_id: str, op: str, attrs: Attrs, src: IRNode) -> IRNode:
    shape = OPS[op].shape(attrs, (src.shape,))
    return IRNode(node_id, op, attrs, (src.id,), (src.shape,), shape, "search", "op")


def lower_chain(nodes: Sequence[IRNode], arch: Architecture) -> nn.Module:
    """The torch layers of IR nodes that run one after another."""
    layers = [lower_node(n, arch.convention) for n in nodes]
    return layers[0] if len(layers) == 1 else nn.Sequential(*layers)


def candidate(
    rop: ResolvedOp, name: str, c: int, stride: int, arch: Architecture, pool_bn: bool = False
) -> nn.Module:
    """One op of a mixed op (or a chain layer): the torch lowering of its IR expansion at c."""
    assert rop.op.expand is not None
    src = IRNode("x", "input", Attrs(), (), (), (c, 64, 64), "search", "input")
    nodes: list[IRNode] = []
    last = src
    for step in rop.op.expand(rop.params, ExpandContext(c, c, stride, arch.convention)):
        last = _node(f"x.{len(nodes)}", step.op, step.attrs, last)
        nodes.append(last)
    layer = lower_chain(nodes, arch)
    if pool_bn and "pool" in name:  # the DARTS code's MixedOp: a BN after each pooling op
        layer = nn.Sequential(layer, nn.BatchNorm2d(c, affine=False))
    return layer


def gumbel_hard(
    alphas: Tensor, tau: float, generator: torch.Generator | None = None
) -> tuple[Tensor, list[int]]:
    """GDAS's draw per row, hard in value with the soft weights' gradient, and its column.

    The soft weights are ``softmax((log_softmax(a) + g) / tau)`` with Gumbel noise g.
    """
    u = torch.rand(alphas.shape, generator=generator).clamp(1e-10, 1 - 1e-10).to(alphas.device)
    gumbels = -torch.log(-torch.log(u))
    probs = torch.softmax((torch.log_softmax(alphas, dim=-1) + gumbels) / tau, dim=-1)
    index = probs.argmax(dim=-1)
    hard = torch.zeros_like(probs).scatter_(-1, index.unsqueeze(-1), 1.0)
    return hard - probs.detach() + probs, index.tolist()


def gdas_tau(epoch: int, epochs: int, start: float = 10.0, end: float = 0.1) -> float:
    """GDAS's temperature: from ``start`` at the first epoch down to ``end`` at the last."""
    if epochs <= 1:
        return end
    frac = epoch / (epochs - 1)
    return end * frac + start * (1 - frac)


class MixedOp(nn.Module):
    """``sum_k w_k * op_k(x)`` over the candidates."""

    def __init__(self, ops: Sequence[nn.Module]) -> None:
        """Mix these candidate layers."""
        super().__init__()
        self.ops = nn.ModuleList(ops)

    def forward(self, x: Tensor, weights: Tensor, index: int | None = None) -> Tensor:
        """The weighted sum of every candidate on ``x``; with ``index``, of that one only.

        With ``index`` (GDAS), ``weights`` are hard (one-hot in value, with the softmax's
        gradient): the chosen candidate runs, and the others add their weight (0 in value)
        so the gradient still reaches every alpha of the edge.
        """
        if index is not None:
            rest = sum((w for k, w in enumerate(weights) if k != index), torch.zeros(()))
            out: Tensor = weights[index] * self.ops[index](x) + rest
            return out
        return sum((w * op(x) for w, op in zip(weights, self.ops, strict=True)), torch.zeros(()))


def no_affine(module: nn.Module) -> None:
    """Drop the affine parameters of every BN under ``module``, in place.

    In place, not by swapping modules: a layer may hold references to its BNs (``SepConv``
    keeps a list of its steps), which must stay the modules that run.
    """
    for bn in module.modules():
        if isinstance(bn, nn.BatchNorm2d) and bn.affine:
            bn.affine = False
            bn.register_parameter("weight", None)
            bn.register_parameter("bias", None)
