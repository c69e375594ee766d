"""Stage networks costed by the stage: one design space's skeleton, many stage lists, fast.

Pipeline stage: IR. Imports ``nasgen.design``, ``nasgen.dsl``, ``nasgen.ops`` and the other
``nasgen.ir`` modules.

An EDF samples n models of a design space in a MAC regime by rejection; AnyNetX_A has under
0.1% of its networks in 360-400M MACs, so 500 models take some 600,000 draws. Those draws are
costed here without a file, a resolve or a graph: the skeleton's stem and head once, each
stage as its first block plus (depth - 1) times its repeated block, each block lowered once
by ``Stacker.block`` into a ledger (the same lowering and op registry as every other cost)
and memoized by what its lowering reads. It is an optimisation, never a second opinion:
a draw it keeps is costed again by the full path, which must agree (tests/ir check both
on samples of every design space), and a block it cannot cost says None.
"""

from __future__ import annotations

from collections.abc import Sequence

from nasgen.design import Stage
from nasgen.dsl.resolve import Architecture
from nasgen.errors import NasgenError
from nasgen.ir.emit import Place
from nasgen.ir.graph import IRNode
from nasgen.ir.static_cost import _CostStacker, _DoubtError, _Ledger
from nasgen.ops import Attrs, Shape

__all__ = ["StageCoster"]

_Sum = tuple[int, int, int]  # params, MACs, acts


class StageCoster:
    """Params, MACs and acts of stage lists on the skeleton of ``arch`` (a stage network)."""

    def __init__(self, arch: Architecture) -> None:
        """Cost the stem once; blocks and heads are costed as they come."""
        self.arch = arch
        stacker = _CostStacker(arch)
        spec = arch.network
        attrs = Attrs.of(c=spec.input_channels, h=spec.input_size, w=spec.input_size)
        image = stacker.em.emit("input", "input", attrs, (), Place("stem", "input")).id
        x = stacker.stage_stem(image)
        self.stem_shape = stacker.graph.node(x).shape
        self.stem = _row(stacker.graph, "stem")
        self.blocks: dict[tuple[object, ...], tuple[Shape, _Sum] | None] = {}
        self.heads: dict[Shape, _Sum] = {}

    def _ledger(self, shape: Shape) -> tuple[_CostStacker, str]:
        stacker = _CostStacker(self.arch)
        node = IRNode("x", "relu", Attrs(), (), (), shape, "in", "op", None)
        stacker.graph.nodes[node.id] = node
        return stacker, node.id

    def _block(
        self, shape: Shape, w_out: int, stride: int, stage: Stage
    ) -> tuple[Shape, _Sum] | None:
        key = (shape, w_out, stride, stage.bottleneck, stage.group_width)
        if key not in self.blocks:
            stacker, x = self._ledger(shape)
            try:
                out = stacker.block("b", x, w_out, stride, stage, Place("s", "op", "b"))
                self.blocks[key] = (stacker.graph.node(out).shape, _row(stacker.graph, "s"))
            except (_DoubtError, NasgenError):
                self.blocks[key] = None
        return self.blocks[key]

    def _head(self, shape: Shape) -> _Sum:
        if shape not in self.heads:
            stacker, x = self._ledger(shape)
            stacker.history = [None, x]
            stacker.head()
            self.heads[shape] = _row(stacker.graph, "head")
        return self.heads[shape]

    def cost(self, stages: Sequence[Stage], max_macs: int | None = None) -> _Sum | None:
        """The network's (params, MACs, acts), or None when a block does not lower.

        With ``max_macs``, the sum so far as soon as its MACs pass it (every stage adds MACs,
        so the network is over the bound whatever its later stages are).
        """
        shape = self.stem_shape
        params, macs, acts = self.stem
        for stage in stages:
            if max_macs is not None and macs > max_macs:
                return params, macs, acts
            first = self._block(shape, stage.width, stage.stride, stage)
            if first is None:
                return None
            shape, (p, m, a) = first
            params, macs, acts = params + p, macs + m, acts + a
            if stage.depth > 1:
                rest = self._block(shape, stage.width, 1, stage)
                if rest is None:
                    return None
                shape, (p, m, a) = rest
                n = stage.depth - 1
                params, macs, acts = params + n * p, macs + n * m, acts + n * a
        p, m, a = self._head(shape)
        return params + p, macs + m, acts + a


def _row(ledger: _Ledger, stage: str) -> _Sum:
    row = ledger.stage(stage)
    return row.params, row.macs, row.acts
