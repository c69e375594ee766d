"""ENAS's shared network over a chain (macro) space: every layer holds every op.

Pipeline stage: one-shot. Imports torch, ``nasgen.backends.torch`` (per-node lowerings),
``nasgen.ir`` (the skeleton's stacking), ``nasgen.dsl`` and ``nasgen.space``.

Pham et al. 2018, section 2.2 (the seed's macro space, ``enas_chain``): layer j applies one
op to layer j - 1 and adds any subset of the layers before it. The shared network keeps, in
each chain of the skeleton, one candidate of every op per layer (the torch backend's lowering
of the op's IR expansion, so a sampled chain runs the ops its evaluation network trains) and
runs a sampled chain's ops and identities only: layer j is ``op_j(l_{j-1}) + sum of the chosen
skips``, exactly as the space's cells add them. Everything around the chains (the stem, the
residual blocks between stages, the head) is the space's own skeleton, lowered as
``nasgen compile`` lowers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from torch import Tensor, nn

from nasgen.backends.torch.lowerings import lower_node
from nasgen.dsl.ast import Block, CellDef, Module, OpCall, Output, StateRef
from nasgen.dsl.options import CompileOptions
from nasgen.dsl.resolve import Architecture, ResolvedOp, resolve
from nasgen.errors import NasgenError
from nasgen.ir.graph import IRGraph
from nasgen.ir.lower import Stacker
from nasgen.oneshot.mixed import candidate
from nasgen.space import SearchSpace

__all__ = ["ChainArch", "ChainSearchNetwork", "is_chain"]

Layer = tuple[int, tuple[int, ...]]
"""A sampled layer: its op, and the earlier layers (1-based; 0 is the chain's input) it adds."""


@dataclass(frozen=True, slots=True)
class ChainArch:
    """A sampled chain: one ``Layer`` per layer."""

    layers: tuple[Layer, ...]


def is_chain(space: SearchSpace) -> bool:
    """Whether the space is a chain: one one-input cell of layers reading the previous one."""
    return len(space.cells) == 1 and space.cells[0].input_mode == "previous"


class _Chains(Stacker[IRGraph]):
    """The skeleton with each chain lowered as a representative cell; remembers the chains."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__(arch, IRGraph(arch))
        self.chains: list[tuple[str, str, str, int]] = []  # (prefix, input, output, width)

    def cell(
        self, name: str, prefix: str, stage: str, stride: int, scale: Fraction, h_prev: str | None
    ) -> str:
        h = self.history[-1]
        assert h is not None
        out = super().cell(name, prefix, stage, stride, scale, h_prev)
        self.chains.append((prefix, h, out, self.filters(scale)))
        return out


class _ChainCell(nn.Module):
    """Every op at every layer of one chain."""

    def __init__(self, ops: Sequence[ResolvedOp], layers: int, c: int, arch: Architecture):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList(candidate(rop, rop.op.name, c, 1, arch) for rop in ops)
            for _ in range(layers)
        )

    def forward(self, x: Tensor, arch: ChainArch) -> Tensor:
        states = [x]
        for candidates, (op, skips) in zip(self.layers, arch.layers, strict=True):
            assert isinstance(candidates, nn.ModuleList)
            out: Tensor = candidates[op](states[-1])
            for j in skips:
                out = out + states[j]
            states.append(out)
        return states[-1]


class ChainSearchNetwork(nn.Module):
    """The space's skeleton with each chain a ``_ChainCell`` (see the module notes)."""

    def __init__(self, space: SearchSpace, options: CompileOptions) -> None:
        """Build it on the skeleton ``options`` set (data settings, F); weights from torch's RNG."""
        super().__init__()
        if (
            not is_chain(space)
            or space.cells[0].output != "last"
            or space.cells[0].combines != ("add",)
        ):
            raise NasgenError(
                "E868",
                f"space {space.name}: an ENAS chain needs one cell of layers, each adding an op "
                "of the layer before and skips, whose output is its last layer",
                hint="the enas_chain space",
            )
        self.space, self.mode = space, "enas"
        spec = space.cells[0]
        blocks = tuple(
            Block(f"b{k + 1}", None, (OpCall(n, StateRef("x")),)) for k, n in enumerate(spec.ops)
        )
        probe = CellDef(
            spec.name,
            (StateRef("x"),),
            blocks,
            Output("concat", tuple(StateRef(b.name) for b in blocks)),
        )
        template = space.decode([0] * len(space.decisions()))
        arch = resolve(template, options)
        ops_arch = resolve(
            Module(1, None, None, template.convention, (probe,), template.network), options
        )
        rops = [b.ops[0] for b in ops_arch.cells[spec.name].blocks]
        stacker = _Chains(arch)
        graph = stacker.build()
        self.chain_of = {out: (inp, k) for k, (_, inp, out, _) in enumerate(stacker.chains)}
        inside = tuple(f"{prefix}." for prefix, _, _, _ in stacker.chains)
        self.chains = nn.ModuleList(
            _ChainCell(rops, spec.blocks, width, arch) for _, _, _, width in stacker.chains
        )
        self.steps: list[tuple[str, tuple[str, ...], str]] = []  # (node, inputs, "layer"|"chain")
        self.skeleton = nn.ModuleDict()
        for node in graph.nodes():
            if node.op == "input":
                continue
            if node.id in self.chain_of:
                self.steps.append((node.id, (self.chain_of[node.id][0],), "chain"))
            elif not node.id.startswith(inside):
                self.skeleton[node.id.replace(".", "_")] = lower_node(node, arch.convention)
                self.steps.append((node.id, node.inputs, "layer"))
        self.input_id = next(n.id for n in graph.nodes() if n.op == "input")
        self.output_id = graph.output
        self.spec = spec

    def arch_parameters(self) -> list[nn.Parameter]:
        """None: ENAS's controller holds the architecture."""
        return []

    def sampled(self, choices: Sequence[int]) -> ChainArch:
        """The layers of the chain a choice vector of the space names."""
        cell = self.space.decode(choices).cells[0]
        names = [cell.inputs[0].name, *(b.name for b in cell.blocks)]
        layers = []
        for block in cell.blocks:
            first, *skips = block.ops
            layers.append(
                (self.spec.ops.index(first.op), tuple(names.index(s.input.name) for s in skips))
            )
        return ChainArch(tuple(layers))

    def forward(self, x: Tensor, arch: ChainArch | None = None, **_: object) -> Tensor:
        """Logits of a batch through the sampled chain."""
        if arch is None:
            raise ValueError("an ENAS chain runs a sampled architecture (arch=...)")
        values = {self.input_id: x}
        for node_id, inputs, kind in self.steps:
            if kind == "chain":
                values[node_id] = self.chains[self.chain_of[node_id][1]](values[inputs[0]], arch)
            else:
                layer = self.skeleton[node_id.replace(".", "_")]
                values[node_id] = layer(*(values[i] for i in inputs))
        out: Tensor = values[self.output_id]
        return out
