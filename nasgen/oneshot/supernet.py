"""The DARTS (and ENAS) search network of a space: every edge a mixed op over its op list.

Pipeline stage: one-shot (space -> **supernet**). Imports torch, ``nasgen.backends.torch`` (its
layers), ``nasgen.oneshot.mixed`` (the candidates), ``nasgen.ir`` (cell input projections),
``nasgen.dsl`` and ``nasgen.space``.

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
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from nasgen.backends.torch.layers import ConvBN
from nasgen.dsl import parse_text, resolve
from nasgen.dsl.ast import Block, CellDef, Module, OpCall, Output, StateRef
from nasgen.dsl.foreign_alphas import darts_genes, darts_genotype
from nasgen.dsl.resolve import Architecture
from nasgen.errors import NasgenError
from nasgen.ir.emit import Emitter
from nasgen.ir.graph import IRGraph, IRNode
from nasgen.ir.lower_cell import CellUse, lower_inputs
from nasgen.oneshot.mixed import MixedOp, candidate, gumbel_hard, lower_chain, no_affine
from nasgen.ops import Attrs
from nasgen.space import SearchSpace

__all__ = [
    "SampledArch",
    "SearchCell",
    "SearchNetwork",
    "SupernetSpec",
    "edges_of",
    "seeded_supernet",
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


def _candidates(space: SearchSpace, mode: str) -> tuple[tuple[str, ...], Architecture]:
    """The space's op list and a resolved cell whose blocks use those ops in order.

    The op list must be one, shared by the cells; the cell has the space's convention, two
    inputs and one block per op. DARTS's relaxation mixes every edge and concatenates every
    node, so its space's output is ``all_blocks``; ENAS samples, so loose ends are allowed.
    """
    lists = {spec.ops for spec in space.cells}
    two_inputs = all(len(spec.inputs) == 2 for spec in space.cells)
    outputs = {spec.output for spec in space.cells}
    allowed = {"all_blocks"} if mode == "darts" else {"all_blocks", "loose_ends"}
    modes = {spec.input_mode for spec in space.cells}
    if (
        len(lists) != 1
        or not two_inputs
        or not all(spec.k == 2 for spec in space.cells)
        or not outputs <= allowed
        or not modes <= {"choose", "distinct"}
        or any(spec.skips or len(spec.combines) != 1 for spec in space.cells)
    ):
        what = "every node" if mode == "darts" else "every node or its loose ends"
        raise NasgenError(
            "E868",
            f"space {space.name}: a {mode.upper()} supernet needs two-input cells whose blocks "
            f"each add 2 earlier states through one shared op list, and output {what}",
            hint="the darts space"
            + (" (and spaces written like it)" if mode == "darts" else " or enas_micro"),
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


Path = tuple[tuple[int, int], ...]
"""One node of a sampled cell: (input state, op) per branch (ENAS: two branches, added)."""


@dataclass(frozen=True, slots=True)
class SampledArch:
    """The paths of a sampled architecture: one per node of the normal and the reduction cell."""

    normal: tuple[Path, ...]
    reduce: tuple[Path, ...]


class SearchCell(nn.Module):
    """Input projections, every (node, branch, input) a mixed op, the nodes' output.

    DARTS (one branch): node i sums a mixed op on each of its 2 + i inputs; the cell
    concatenates every node. ENAS (``branches = 2``, ``loose = True`` for spaces whose cells
    output their loose ends): node i adds the chosen op of each branch on its chosen input,
    with weights of their own per (node, branch, input, op) as in ENAS's ``x``/``y`` scopes;
    the loose ends go through ReLU, a 1x1 convolution with one weight slice per node (ENAS's
    gathered ``final_conv``) and a BN, so every sampled cell outputs ``c`` channels.
    """

    def __init__(
        self,
        names: Sequence[str],
        arch: Architecture,
        nodes: int,
        shapes: tuple[tuple[int, int, int], tuple[int, int, int]],
        c: int,
        reduction: bool,
        *,
        branches: int = 1,
        loose: bool = False,
        darts: bool = True,
    ) -> None:
        """A cell reading states of ``shapes`` (h_prev, h) at width ``c``."""
        super().__init__()
        self.nodes, self.reduction, self.branches = nodes, reduction, branches
        cell = arch.cells["c"]
        graph = IRGraph(arch)
        for node_id, shape in zip(("s0", "s1"), shapes, strict=True):
            graph.add(IRNode(node_id, "input", Attrs(), (), (), shape, "search", "input"))
        stride = 2 if reduction else 1
        use = CellUse(cell, "cell", "search", stride, c, "s0", "s1")
        states = lower_inputs(Emitter(graph), use, arch.convention)
        self.preprocess = nn.ModuleList(
            lower_chain(_path(graph, states[n]), arch)
            if states[n] not in ("s0", "s1")
            else nn.Identity()
            for n in cell.inputs
        )
        rops = [block.ops[0] for block in cell.blocks]
        self.edges = nn.ModuleList(
            MixedOp(
                [
                    candidate(rop, name, c, 2 if reduction and j < 2 else 1, arch, darts)
                    for rop, name in zip(rops, names, strict=True)
                ]
            )
            for i in range(nodes)
            for _ in range(branches)
            for j in range(2 + i)
        )
        self.gather = (
            nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for _ in range(nodes)) if loose else None
        )
        self.gather_bn = nn.BatchNorm2d(c) if loose else None
        self.out_channels = c if loose else nodes * c
        if darts:
            no_affine(self)

    def edge(self, node: int, branch: int, j: int) -> MixedOp:
        """The mixed op of a node's branch on input state ``j``."""
        first = self.branches * (node * (node + 3) // 2)  # branches x (2 + 3 + ... + (1 + node))
        found = self.edges[first + branch * (2 + node) + j]
        assert isinstance(found, MixedOp)
        return found

    def forward(
        self,
        s0: Tensor,
        s1: Tensor,
        weights: Tensor | None = None,
        chosen: Sequence[int] | None = None,
        paths: Sequence[Path] | None = None,
    ) -> Tensor:
        """The cell on (h_prev, h): mixed (``weights``, one row per edge) or sampled (``paths``).

        ``chosen`` (GDAS): the candidate each edge runs.
        """
        states = [self.preprocess[0](s0), self.preprocess[1](s1)]
        if paths is not None:
            return self._sampled(states, paths)
        assert weights is not None
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

    def _sampled(self, states: list[Tensor], paths: Sequence[Path]) -> Tensor:
        read = set()
        for i, path in enumerate(paths):
            terms = []
            for branch, (j, k) in enumerate(path):
                terms.append(self.edge(i, branch, j).ops[k](states[j]))
                read.add(j)
            states.append(sum(terms[1:], terms[0]))
        if self.gather is None or self.gather_bn is None:
            return torch.cat(states[2:], dim=1)
        loose = [i for i in range(self.nodes) if 2 + i not in read]
        total = sum(
            (self.gather[i](torch.relu(states[2 + i])) for i in loose[1:]),
            self.gather[loose[0]](torch.relu(states[2 + loose[0]])),
        )
        out: Tensor = self.gather_bn(total)
        return out


def _path(graph: IRGraph, node_id: str) -> list[IRNode]:
    """The projection nodes from a cell input to ``node_id``, first to last."""
    out = []
    node = graph.node(node_id)
    while node.op != "input":
        out.append(node)
        node = graph.node(node.inputs[0])
    return out[::-1]


class SearchNetwork(nn.Module):
    """The DARTS or ENAS search network of a space (see the module notes)."""

    def __init__(
        self,
        space: SearchSpace,
        spec: SupernetSpec = SupernetSpec(),
        input_size: int = 32,
        mode: str = "darts",
    ) -> None:
        """Build the supernet; its weights (and alphas) drawn from the current torch generator."""
        super().__init__()
        if mode not in ("darts", "enas"):
            raise ValueError(f"mode must be darts or enas, not {mode}")
        names, arch = _candidates(space, mode)
        nodes = {c.blocks for c in space.cells}
        if len(nodes) != 1:
            raise NasgenError("E868", f"space {space.name}: its cells differ in block count")
        self.space, self.mode = space, mode
        self.nodes = nodes.pop()
        self.template = space.decode([0] * len(space.decisions()))
        network = resolve(self.template).network
        self.kinds = (network.normal, network.reduction)  # the cells' names, by role
        if mode == "darts" and network.normal == network.reduction:
            raise NasgenError(
                "E868",
                f"space {space.name}: DARTS's search network has a normal and a reduction cell; "
                f"this space's network uses {network.normal} for both",
            )
        self.primitives = tuple(names)
        darts = mode == "darts"
        kind = {
            "branches": 1 if darts else 2,
            "loose": not darts and space.cells[0].output == "loose_ends",
            "darts": darts,
        }
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
            cell = SearchCell(names, arch, self.nodes, shapes, c, reduction, **kind)  # type: ignore[arg-type]
            cells.append(cell)
            self.reductions.append(reduction)
            shapes = (shapes[1], (cell.out_channels, size, size))
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(shapes[1][0], spec.classes)
        if darts:
            k = len(edges_of(self.nodes))
            self.alphas_normal = nn.Parameter(1e-3 * torch.randn(k, len(names)))
            self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(k, len(names)))

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters (DARTS's alphas; none for ENAS), apart from the weights."""
        return [self.alphas_normal, self.alphas_reduce] if self.mode == "darts" else []

    def weights(self) -> Iterator[nn.Parameter]:
        """Every parameter but the alphas."""
        alphas = {id(p) for p in self.arch_parameters()}
        return (p for p in self.parameters() if id(p) not in alphas)

    def genotype(self) -> str:
        """The ``Genotype(...)`` the DARTS rule derives from the current alphas."""
        rows = [a.detach().cpu().tolist() for a in self.arch_parameters()]
        return darts_genotype(rows[0], rows[1], self.primitives)

    def derived(self) -> tuple[int, ...]:
        """The space's choice vector of the cell the DARTS rule derives from the alphas.

        Each cell gets the alphas of its role (the network's ``normal`` and ``reduction``), in
        whatever order the space writes its cells.
        """
        genes = {
            kind: darts_genes(a.detach().cpu().tolist(), self.primitives)
            for kind, a in zip(self.kinds, self.arch_parameters(), strict=True)
        }
        cells = []
        for spec, cell in zip(self.space.cells, self.template.cells, strict=True):
            gene = genes[cell.name]
            states = (*spec.inputs, *(spec.block_name(i) for i in range(self.nodes)))
            blocks = tuple(
                replace(
                    block,
                    ops=tuple(OpCall(op, StateRef(states[j])) for op, j in gene[2 * i : 2 * i + 2]),
                )
                for i, block in enumerate(cell.blocks)
            )
            cells.append(replace(cell, blocks=blocks))
        return self.space.encode(replace(self.template, cells=tuple(cells)))

    def sampled(self, choices: Sequence[int]) -> SampledArch:
        """The paths of the architecture a choice vector of the space names."""
        module = self.space.decode(choices)
        found = {}
        for spec in self.space.cells:
            cell = module.cell(spec.name)
            assert cell is not None
            states = [*spec.inputs, *(b.name for b in cell.blocks)]
            found[spec.name] = tuple(
                tuple((states.index(c.input.name), spec.ops.index(c.op)) for c in b.ops)
                for b in cell.blocks
            )
        return SampledArch(found[self.kinds[0]], found[self.kinds[1]])

    def forward(
        self,
        x: Tensor,
        tau: float | None = None,
        generator: torch.Generator | None = None,
        arch: SampledArch | None = None,
    ) -> Tensor:
        """Logits of a batch: mixed (DARTS), Gumbel-sampled (GDAS) or one sampled cell (ENAS).

        DARTS: every mixed op weighted by the softmax of its alphas. With ``tau`` (GDAS, Dong &
        Yang, CVPR 2019): one Gumbel-softmax draw per edge for the batch, shared by the cells
        of a kind; only the drawn candidate runs (the memory-lean variant), with
        straight-through hard weights. With ``arch`` (ENAS): the sampled paths only.
        """
        s0 = s1 = self.stem(x)
        if arch is not None:
            for cell, reduction in zip(self.cells, self.reductions, strict=True):
                paths = arch.reduce if reduction else arch.normal
                s0, s1 = s1, cell(s0, s1, paths=paths)
            return self._head(s1)
        if tau is None:
            normal = torch.softmax(self.alphas_normal, dim=-1)
            reduce = torch.softmax(self.alphas_reduce, dim=-1)
            chosen: tuple[list[int] | None, list[int] | None] = (None, None)
        else:
            (normal, n_index), (reduce, r_index) = (
                gumbel_hard(a, tau, generator) for a in self.arch_parameters()
            )
            chosen = (n_index, r_index)
        for cell, reduction in zip(self.cells, self.reductions, strict=True):
            weights, index = (reduce, chosen[1]) if reduction else (normal, chosen[0])
            s0, s1 = s1, cell(s0, s1, weights, index)
        return self._head(s1)

    def _head(self, s1: Tensor) -> Tensor:
        pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(s1, 1), 1)
        return self.classifier(pooled)  # type: ignore[no-any-return]


def seeded_supernet(
    space: SearchSpace,
    size: tuple[int, int],
    shape: tuple[int, int, int],
    seed: int,
    device: torch.device,
    mode: str = "darts",
) -> SearchNetwork:
    """A supernet of ``size`` (C, cells) for inputs of ``shape`` (channels, side, classes).

    Its weights are drawn from ``seed`` alone (torch's global generator is left as it was).
    """
    channels, side, classes = shape
    spec = SupernetSpec(size[0], size[1], classes, input_channels=channels)
    with torch.random.fork_rng(devices=[]):  # built on the CPU: only its generator is used
        torch.default_generator.manual_seed(seed)
        return SearchNetwork(space, spec, side, mode).to(device)
