"""The DARTS search network of a space: every edge a mixed op over the space's op list.

Pipeline stage: one-shot (space -> **supernet**). Imports torch, ``nasgen.backends.torch`` (its
layers and per-node lowerings), ``nasgen.ir`` (cell input projections), ``nasgen.dsl`` and
``nasgen.space``.

Liu, Simonyan, Yang, "DARTS: Differentiable Architecture Search", ICLR 2019, section 2.2; the
layout of the DARTS code's search ``Network`` (``cnn/model_search.py``):

- a stem conv 3x3 to ``stem_multiplier * C`` with BN (affine), then ``layers`` cells, the ones
  at ``layers // 3`` and ``2 * layers // 3`` reductions that double C, then global pooling and
  a linear classifier;
- each cell projects its inputs as the evaluation network does (``lower_inputs``: ReLU-1x1-BN,
  or a factorized reduction after a reduction cell), then node i sums a *mixed op* on every
  edge from the 2 + i states before it; an edge from a cell input strides 2 in a reduction
  cell; the cell concatenates its nodes;
- a mixed op is ``sum_k softmax(alpha)_k * op_k(x)`` over the space's op list, each op built by
  the torch backend's own lowering of the op's IR expansion (so a derived cell's ops are the
  ones its evaluation network trains), a pooling op followed by a BN as in the DARTS code;
- every BN inside the cells has no affine parameters (``affine=False`` in the DARTS code);
- the architecture parameters (``alphas_normal``, ``alphas_reduce``: edges x ops, 1e-3 * N(0,
  1) at the start) are kept apart from the weights (``arch_parameters`` / ``weights``).

On the DARTS space at C = 16, 8 cells and 10 classes this is the DARTS code's 1,930,618 weights
and 2 x 14 x 8 architecture parameters (tested against a count worked out from that code).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from nasgen.backends.torch.layers import ConvBN
from nasgen.backends.torch.lowerings import lower_node
from nasgen.dsl import parse_text, resolve
from nasgen.dsl.ast import Block, CellDef, Module, OpCall, Output, StateRef
from nasgen.dsl.foreign_alphas import darts_genotype
from nasgen.dsl.resolve import Architecture, ResolvedOp
from nasgen.errors import NasgenError
from nasgen.ir.emit import Emitter
from nasgen.ir.graph import IRGraph, IRNode
from nasgen.ir.lower_cell import CellUse, lower_inputs
from nasgen.ops import OPS, Attrs, ExpandContext
from nasgen.space import SearchSpace

__all__ = [
    "MixedOp",
    "SearchCell",
    "SearchNetwork",
    "SupernetSpec",
    "edges_of",
    "gdas_tau",
    "gumbel_hard",
]

_NETWORK = parse_text(
    "nasgen 1\ncell c(x) {\n  b = skip_connect(x)\n}\n"
    "network { N = 1  F = 16  reductions = 0  normal = c }\n"
).network  # the candidates' cell is resolved alone: one stage, no reduction cell


@dataclass(frozen=True, slots=True)
class SupernetSpec:
    """The search network's size (DARTS's defaults: C 16, 8 cells, CIFAR-10)."""

    C: int = 16
    layers: int = 8
    classes: int = 10
    stem_multiplier: int = 3
    input_channels: int = 3


def edges_of(nodes: int) -> list[tuple[int, int]]:
    """(node, input state) of every edge, in the DARTS code's order (node 0's 2, node 1's 3...)."""
    return [(i, j) for i in range(nodes) for j in range(2 + i)]


def _candidates(space: SearchSpace) -> tuple[tuple[str, ...], Architecture]:
    """The space's op list and a resolved cell whose blocks use those ops in order.

    The op list must be one, shared by the cells; the cell has the space's convention, two
    inputs and one block per op.
    """
    lists = {spec.ops for spec in space.cells}
    two_inputs = all(len(spec.inputs) == 2 for spec in space.cells)
    if len(lists) != 1 or not two_inputs or not all(spec.k == 2 for spec in space.cells):
        raise NasgenError(
            "E860",
            f"space {space.name}: a DARTS supernet needs two-input cells whose blocks each "
            "read 2 earlier states through one shared op list",
            hint="the darts space (and spaces written like it)",
        )
    names = next(iter(lists))
    inputs = (StateRef("h_prev"), StateRef("h"))
    blocks = tuple(
        Block(f"b{k + 1}", "add", (OpCall(n, inputs[0]), OpCall(n, inputs[1])))
        for k, n in enumerate(names)
    )
    output = Output("concat", tuple(StateRef(b.name) for b in blocks))
    cell = CellDef("c", inputs, blocks, output)
    return names, resolve(Module(1, None, None, space.module.convention, (cell,), _NETWORK))


def _node(node_id: str, op: str, attrs: Attrs, src: IRNode) -> IRNode:
    shape = OPS[op].shape(attrs, (src.shape,))
    return IRNode(node_id, op, attrs, (src.id,), (src.shape,), shape, "search", "op")


def _chain(nodes: Sequence[IRNode], arch: Architecture) -> nn.Module:
    layers = [lower_node(n, arch.convention) for n in nodes]
    return layers[0] if len(layers) == 1 else nn.Sequential(*layers)


def _candidate(rop: ResolvedOp, name: str, c: int, stride: int, arch: Architecture) -> nn.Module:
    """One op of a mixed op: the torch lowering of its IR expansion at width c."""
    assert rop.op.expand is not None
    src = IRNode("x", "input", Attrs(), (), (), (c, 64, 64), "search", "input")
    nodes: list[IRNode] = []
    last = src
    for step in rop.op.expand(rop.params, ExpandContext(c, c, stride, arch.convention)):
        last = _node(f"x.{len(nodes)}", step.op, step.attrs, last)
        nodes.append(last)
    layer = _chain(nodes, arch)
    if "pool" in name:  # the DARTS code's MixedOp: a BN after each pooling op
        layer = nn.Sequential(layer, nn.BatchNorm2d(c, affine=False))
    return layer


def gumbel_hard(
    alphas: Tensor, tau: float, generator: torch.Generator | None = None
) -> tuple[Tensor, list[int]]:
    """GDAS's draw per row, hard in value with the soft weights' gradient, and its column.

    The soft weights are ``softmax((log_softmax(a) + g) / tau)`` with Gumbel noise g.
    """
    u = torch.rand(alphas.shape, generator=generator).clamp(1e-10, 1 - 1e-10)
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


def _no_affine(module: nn.Module) -> None:
    """Drop the affine parameters of every BN under ``module``, in place.

    In place, not by swapping modules: a layer may hold references to its BNs (``SepConv``
    keeps a list of its steps), which must stay the modules that run.
    """
    for bn in module.modules():
        if isinstance(bn, nn.BatchNorm2d) and bn.affine:
            bn.affine = False
            bn.register_parameter("weight", None)
            bn.register_parameter("bias", None)


class SearchCell(nn.Module):
    """Input projections, then every edge a mixed op, nodes summed, nodes concatenated."""

    def __init__(
        self,
        names: Sequence[str],
        arch: Architecture,
        nodes: int,
        shapes: tuple[tuple[int, int, int], tuple[int, int, int]],
        c: int,
        reduction: bool,
    ) -> None:
        """A cell reading states of ``shapes`` (h_prev, h) at width ``c``."""
        super().__init__()
        self.nodes, self.reduction = nodes, reduction
        cell = arch.cells["c"]
        graph = IRGraph(arch)
        for node_id, shape in zip(("s0", "s1"), shapes, strict=True):
            graph.add(IRNode(node_id, "input", Attrs(), (), (), shape, "search", "input"))
        stride = 2 if reduction else 1
        use = CellUse(cell, "cell", "search", stride, c, "s0", "s1")
        states = lower_inputs(Emitter(graph), use, arch.convention)
        self.preprocess = nn.ModuleList(
            _chain(_path(graph, states[n]), arch)
            if states[n] not in ("s0", "s1")
            else nn.Identity()
            for n in cell.inputs
        )
        rops = [block.ops[0] for block in cell.blocks]
        self.edges = nn.ModuleList(
            MixedOp(
                [
                    _candidate(rop, name, c, 2 if reduction and j < 2 else 1, arch)
                    for rop, name in zip(rops, names, strict=True)
                ]
            )
            for _, j in edges_of(nodes)
        )
        _no_affine(self)

    def forward(
        self, s0: Tensor, s1: Tensor, weights: Tensor, chosen: Sequence[int] | None = None
    ) -> Tensor:
        """The cell on (h_prev, h) with one row of op weights per edge.

        ``chosen`` (GDAS): the candidate each edge runs.
        """
        states = [self.preprocess[0](s0), self.preprocess[1](s1)]
        offset = 0
        for _ in range(self.nodes):
            total = sum(
                (
                    self.edges[offset + j](
                        h, weights[offset + j], None if chosen is None else chosen[offset + j]
                    )
                    for j, h in enumerate(states)
                ),
                torch.zeros(()),
            )
            offset += len(states)
            states.append(total)
        return torch.cat(states[2:], dim=1)


def _path(graph: IRGraph, node_id: str) -> list[IRNode]:
    """The projection nodes from a cell input to ``node_id``, first to last."""
    out = []
    node = graph.node(node_id)
    while node.op != "input":
        out.append(node)
        node = graph.node(node.inputs[0])
    return out[::-1]


class SearchNetwork(nn.Module):
    """The DARTS search network of a space (see the module notes)."""

    def __init__(
        self, space: SearchSpace, spec: SupernetSpec = SupernetSpec(), input_size: int = 32
    ) -> None:
        """Build the supernet; its alphas drawn from the current torch generator."""
        super().__init__()
        names, arch = _candidates(space)
        nodes = {c.blocks for c in space.cells}
        if len(nodes) != 1:
            raise NasgenError("E860", f"space {space.name}: its cells differ in block count")
        self.nodes = nodes.pop()
        self.primitives = tuple(names)
        c_stem = spec.stem_multiplier * spec.C
        self.stem = ConvBN(spec.input_channels, c_stem, 3, 1, relu=False)
        size = input_size
        shapes = ((c_stem, size, size), (c_stem, size, size))
        c, cells, self.reductions = spec.C, [], []
        for i in range(spec.layers):
            reduction = i in (spec.layers // 3, 2 * spec.layers // 3)
            if reduction:
                c *= 2
                size = -(-size // 2)
            cells.append(SearchCell(names, arch, self.nodes, shapes, c, reduction))
            self.reductions.append(reduction)
            shapes = (shapes[1], (self.nodes * c, size, size))
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(shapes[1][0], spec.classes)
        k = len(edges_of(self.nodes))
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(k, len(names)))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(k, len(names)))

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters (alphas), apart from the weights."""
        return [self.alphas_normal, self.alphas_reduce]

    def weights(self) -> Iterator[nn.Parameter]:
        """Every parameter but the alphas."""
        alphas = {id(p) for p in self.arch_parameters()}
        return (p for p in self.parameters() if id(p) not in alphas)

    def genotype(self) -> str:
        """The ``Genotype(...)`` the DARTS rule derives from the current alphas."""
        rows = [a.detach().cpu().tolist() for a in self.arch_parameters()]
        return darts_genotype(rows[0], rows[1], self.primitives)

    def forward(
        self, x: Tensor, tau: float | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """Logits of a batch, every mixed op weighted by the softmax of its alphas.

        With ``tau`` (GDAS, Dong & Yang, CVPR 2019): one Gumbel-softmax draw per edge for the
        batch, shared by the cells of a kind; only the drawn candidate runs (the memory-lean
        variant), with straight-through hard weights.
        """
        if tau is None:
            normal = torch.softmax(self.alphas_normal, dim=-1)
            reduce = torch.softmax(self.alphas_reduce, dim=-1)
            chosen: tuple[list[int] | None, list[int] | None] = (None, None)
        else:
            (normal, n_index), (reduce, r_index) = (
                gumbel_hard(a, tau, generator) for a in self.arch_parameters()
            )
            chosen = (n_index, r_index)
        s0 = s1 = self.stem(x)
        for cell, reduction in zip(self.cells, self.reductions, strict=True):
            weights, index = (reduce, chosen[1]) if reduction else (normal, chosen[0])
            s0, s1 = s1, cell(s0, s1, weights, index)
        pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(s1, 1), 1)
        return self.classifier(pooled)  # type: ignore[no-any-return]
