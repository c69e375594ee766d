"""A search space: its decisions, exact size, and the bijection choices <-> architecture AST.

Pipeline stage: search spaces (space AST -> **SearchSpace**; choices <-> ``Module``). Imports
``nasgen.errors``, ``nasgen.ops``, ``nasgen.dsl`` and ``nasgen.space.spec``; never a framework.

NOTE: [Choices are the coordinates of a space] A strategy works on a choice vector: one integer
per ``Decision``, each below its ``size``. ``decode`` turns a vector into an ordinary
architecture ``Module`` (printed, hashed, costed and compiled like any .cell file) and
``encode`` turns such a module back into its vector, so ``encode(decode(c)) == c`` for every
valid ``c``: the journal stores text and the strategy stores vectors, and the two agree.
The decisions of a block come in the controller's order (NASNet, Zoph et al. 2018, Fig. 3):
its inputs, then their ops, then the combine, then (chains) the skip bits. ``size`` is the
product of the decision sizes: the number of distinct choice vectors, exactly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from nasgen.dsl.ast import Block, CellDef, Module, NetworkDef, OpCall, Output, StateRef
from nasgen.dsl.network import REGNET_KEYS, STAGE_KEYS
from nasgen.errors import DslSemanticError, NasgenError
from nasgen.ops import OPS
from nasgen.space.design import DesignSpec, read_design
from nasgen.space.ranking import rank_combination, unrank_combination
from nasgen.space.spec import MAX_BLOCKS, CellSpec, read_cell_spec

__all__ = ["Decision", "SearchSpace", "read_space"]

_IDENTITY = "skip_connect"
_MAX_REDRAWS = 10_000


@dataclass(frozen=True, slots=True)
class Decision:
    """One choice of a controller: ``size`` options, shown as ``labels``."""

    name: str
    size: int
    labels: tuple[str, ...] = ()
    block: int = 0  # the block (0-based) of its cell that the decision belongs to


@dataclass(frozen=True, slots=True)
class _BlockLayout:
    inputs: int  # number of input decisions (choose) or 1 (distinct) or 0
    ops: int
    combine: bool
    skips: int


@dataclass(frozen=True, slots=True)
class SearchSpace:
    """A search space read from a ``space cell`` file."""

    module: Module
    cells: tuple[CellSpec, ...]
    design: DesignSpec | None = None
    _decisions: tuple[Decision, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Compute the decisions once (``decode`` checks every vector against them)."""
        decisions = tuple(
            d
            for spec in self.cells
            for j in range(spec.blocks)
            for d in self._block_decisions(spec, j)
        )
        if self.design is not None:
            decisions += tuple(
                Decision(
                    d.name, d.size, tuple(f"{v:g}" for v in d.values) if not d.sequence else ()
                )
                for d in self.design.decisions
            )
        object.__setattr__(self, "_decisions", decisions)

    @property
    def name(self) -> str:
        """The space's ``name`` (or ``space``)."""
        return self.module.name or "space"

    def with_blocks(self, blocks: int) -> SearchSpace:
        """The same space with ``blocks`` blocks in every cell (PNAS grows B from 1 to 5)."""
        if not 1 <= blocks <= MAX_BLOCKS:
            raise DslSemanticError("E801", f"blocks must be from 1 to {MAX_BLOCKS}, not {blocks}")
        if self.design is not None:
            raise DslSemanticError("E801", "a design space has stages, not cells of blocks")
        for spec in self.cells:
            if spec.output == "fixed":
                raise DslSemanticError(
                    "E801", f"cell {spec.name} has a fixed output; its block count is fixed"
                )
        return SearchSpace(self.module, tuple(replace(c, blocks=blocks) for c in self.cells))

    def _smaller(self, length: int) -> SearchSpace | None:
        """The space of the first b blocks of each cell whose vectors have ``length`` decisions.

        A cell with fewer than b blocks keeps all of its own.
        """
        if self.design is not None or any(spec.output == "fixed" for spec in self.cells):
            return None
        for b in range(1, max(spec.blocks for spec in self.cells)):
            count = sum(1 for d in self._decisions if d.block < b)
            if count == length:
                cells = tuple(replace(c, blocks=min(b, c.blocks)) for c in self.cells)
                return SearchSpace(self.module, cells)
        return None

    def _layout(self, spec: CellSpec, j: int) -> _BlockLayout:
        n = len(spec.earlier(j))
        mode = spec.input_mode
        inputs = {"choose": spec.k, "distinct": 1}.get(mode, 0)
        ops = {"all": n, "previous": 1}.get(mode, spec.k)
        return _BlockLayout(inputs, ops, len(spec.combines) > 1, j if spec.skips else 0)

    def _block_decisions(self, spec: CellSpec, j: int) -> list[Decision]:
        earlier = spec.earlier(j)
        where = f"{spec.name}.{spec.block_name(j)}"
        lay = self._layout(spec, j)
        out = []
        if spec.input_mode == "distinct":
            size = math.comb(len(earlier), spec.k)
            out.append(Decision(f"{where}.inputs", size, (), j))
        else:
            out += [
                Decision(f"{where}.input{i}", len(earlier), earlier, j) for i in range(lay.inputs)
            ]
        out += [Decision(f"{where}.op{i}", len(spec.ops), spec.ops, j) for i in range(lay.ops)]
        if lay.combine:
            out.append(Decision(f"{where}.combine", len(spec.combines), spec.combines, j))
        out += [Decision(f"{where}.skip{m + 1}", 2, ("no", "yes"), j) for m in range(lay.skips)]
        return out

    def decisions(self) -> tuple[Decision, ...]:
        """Every decision, cell by cell and block by block, in the controller's order."""
        return self._decisions

    def size(self) -> int:
        """The exact number of architectures: distinct choice vectors."""
        return math.prod(d.size for d in self.decisions())

    def symmetric_size(self) -> int:
        """The size once the operands of an ``add`` are unordered (PNAS's count)."""
        total = 1
        for spec in self.cells:
            for j in range(spec.blocks):
                total *= self._block_symmetric(spec, j)
        if self.design is not None:
            total *= math.prod(d.size for d in self.design.decisions)
        return total

    def _block_symmetric(self, spec: CellSpec, j: int) -> int:
        decisions = self._block_decisions(spec, j)
        exact = math.prod(d.size for d in decisions)
        if spec.input_mode != "choose":
            return exact  # already canonical: inputs in state order
        pair = len(spec.earlier(j)) * len(spec.ops)  # one operand: (input, op)
        ordered, unordered = pair**spec.k, math.comb(pair + spec.k - 1, spec.k)
        per_combine = {"add": unordered, "concat": ordered}
        return sum(per_combine[c] for c in spec.combines)

    def sample(self, rng: random.Random) -> tuple[int, ...]:
        """A uniformly random choice vector (each decision independently uniform).

        In a RegNet design space, some vectors name no network (their rule makes another
        stage count); those are drawn again, so the sample is uniform over the networks'.
        """
        for _ in range(_MAX_REDRAWS):
            vector = tuple(rng.randrange(d.size) for d in self.decisions())
            if self.design is None or self.design.kind != "regnet":
                return vector
            try:
                self.decode(vector)
            except NasgenError:
                continue
            return vector
        raise NasgenError(
            "E333", f"{self.name}: no network among {_MAX_REDRAWS:,} draws", hint="widen its ranges"
        )

    def check(self, choices: Sequence[int]) -> tuple[int, ...]:
        """``choices`` as a tuple, or a ``NasgenError`` if it is no vector of this space."""
        decisions = self.decisions()
        if len(choices) != len(decisions):
            raise DslSemanticError(
                "E802", f"{len(choices)} choices for a space of {len(decisions)} decisions"
            )
        for value, d in zip(choices, decisions, strict=True):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < d.size:
                raise DslSemanticError(
                    "E802", f"choice {d.name} = {value!r}: not in 0..{d.size - 1}"
                )
        return tuple(choices)

    def decode(self, choices: Sequence[int]) -> Module:
        """The architecture a choice vector names (an ordinary version-1 module).

        A shorter vector, that of ``with_blocks(b)`` for some b below the space's block count
        (the first b blocks' decisions of each cell, in order), decodes as that b-block
        architecture: PNAS proposes cells of 1, 2, ... blocks in one search.
        """
        if len(choices) != len(self._decisions):
            smaller = self._smaller(len(choices))
            if smaller is not None:
                return smaller.decode(choices)
        vector = self.check(choices)
        it = iter(vector)
        cells = tuple(self._decode_cell(spec, it) for spec in self.cells)
        m = self.module
        if self.design is None:
            return Module(1, m.name, m.source, m.convention, cells, m.network, m.variants)
        chosen = self.design.settings(vector[len(vector) - len(self.design.decisions) :])
        dropped = {"body", *REGNET_KEYS, *STAGE_KEYS}
        kept = tuple(s for s in (m.network.settings if m.network else ()) if s.key not in dropped)
        network = NetworkDef((*chosen, *kept))
        return Module(2, m.name, m.source, m.convention, cells, network, m.variants)

    def _decode_cell(self, spec: CellSpec, it: object) -> CellDef:
        blocks = [self._decode_block(spec, j, it) for j in range(spec.blocks)]
        inputs = tuple(StateRef(n) for n in spec.inputs)
        return CellDef(spec.name, inputs, tuple(blocks), _output(spec, blocks))

    def _decode_block(self, spec: CellSpec, j: int, it: object) -> Block:
        nxt = it.__next__  # type: ignore[attr-defined]
        earlier = spec.earlier(j)
        lay = self._layout(spec, j)
        if spec.input_mode == "distinct":
            states = [earlier[i] for i in unrank_combination(nxt(), len(earlier), spec.k)]
        elif spec.input_mode == "choose":
            states = [earlier[nxt()] for _ in range(lay.inputs)]
        elif spec.input_mode == "all":
            states = list(earlier)
        else:
            states = [earlier[-1]]
        calls = [OpCall(spec.ops[nxt()], StateRef(s)) for s in states]
        combine = spec.combines[nxt()] if lay.combine else spec.combines[0]
        for m in range(lay.skips):
            if nxt():
                calls.append(OpCall(_IDENTITY, StateRef(spec.block_name(m))))
        return Block(spec.block_name(j), combine, tuple(calls))

    def fixed_arc(self, choices: Sequence[int]) -> str:
        """ENAS's ``fixed_arc`` of a vector: per block input, op, input, op; cell after cell.

        Only for spaces whose blocks choose 2 inputs and add (ENAS micro); the op numbers are
        positions in the space's op list, which for ``enas_micro`` is ENAS's own order.
        """
        if any(s.input_mode != "choose" or s.k != 2 or s.combines != ("add",) for s in self.cells):
            raise DslSemanticError("E804", "fixed_arc needs blocks of choose(2) inputs and add")
        vector = self.check(choices)
        out = [vector[i + j] for i in range(0, len(vector), 4) for j in (0, 2, 1, 3)]
        return " ".join(map(str, out))

    def encode(self, module: Module) -> tuple[int, ...]:
        """The choice vector of an architecture of this space; a ``NasgenError`` if it is not."""
        if self.design is not None:  # the compatibility step is many-to-one
            raise _not_in("a design space's samples are not encoded back to vectors")
        out: list[int] = []
        for spec in self.cells:
            cell = module.cell(spec.name)
            if cell is None:
                raise _not_in(f"it has no cell {spec.name!r}")
            if len(cell.blocks) != spec.blocks:
                raise _not_in(f"cell {spec.name} has {len(cell.blocks)} blocks, not {spec.blocks}")
            for j, block in enumerate(cell.blocks):
                out += self._encode_block(spec, j, block)
            if not _same_output(spec, cell):
                raise _not_in(f"cell {spec.name}'s output is not the space's {spec.output}")
        return self.check(out)

    def _encode_block(self, spec: CellSpec, j: int, block: Block) -> list[int]:
        where = f"{spec.name}.{block.name}"
        if block.name != spec.block_name(j):
            raise _not_in(f"block {where} should be called {spec.block_name(j)}")
        earlier = spec.earlier(j)
        lay = self._layout(spec, j)
        calls = list(block.ops)
        skips = [0] * lay.skips
        if spec.input_mode == "previous":
            calls, extra = calls[:1], calls[1:]
            for call in extra:
                m = _skip_index(spec, call, j, where)
                if skips[m]:
                    raise _not_in(f"{where} adds {call.input.name} twice")
                skips[m] = 1
        if spec.input_mode in ("all", "distinct"):
            calls = sorted(calls, key=lambda c: _state_index(earlier, c, where))
        inputs = [_state_index(earlier, c, where) for c in calls]
        out = _encode_inputs(spec, lay, earlier, inputs, where)
        out += [_op_index(spec, c, where) for c in calls]
        if block.combine not in spec.combines:
            raise _not_in(
                f"{where} combines with {block.combine}, not {' or '.join(spec.combines)}"
            )
        if lay.combine:
            out.append(spec.combines.index(block.combine or ""))
        return out + skips


def _encode_inputs(
    spec: CellSpec, lay: _BlockLayout, earlier: tuple[str, ...], inputs: list[int], where: str
) -> list[int]:
    expected = {"all": len(earlier), "previous": 1}.get(spec.input_mode, spec.k)
    if len(inputs) != expected:
        raise _not_in(f"{where} has {len(inputs)} operands, not {expected}")
    if spec.input_mode == "all":
        if inputs != list(range(len(earlier))):
            raise _not_in(f"{where} must read each earlier state once")
        return []
    if spec.input_mode == "previous":
        if inputs != [len(earlier) - 1]:
            raise _not_in(f"{where} must read {earlier[-1]} through its op")
        return []
    if spec.input_mode == "distinct":
        if len(set(inputs)) != len(inputs):
            raise _not_in(f"{where} reads a state twice; the space wants distinct inputs")
        return [rank_combination(inputs, len(earlier))]
    return inputs


def _output(spec: CellSpec, blocks: Sequence[Block]) -> Output | None:
    names = [b.name for b in blocks]
    if spec.output == "loose_ends":
        return None
    if spec.output == "last":
        return Output(None, (StateRef(names[-1]),))
    if spec.output == "all_blocks":
        return Output("concat", tuple(StateRef(n) for n in names))
    if spec.output == "fixed":
        states = tuple(StateRef(n) for n in spec.fixed_output)
        return Output("concat" if len(states) > 1 else None, states)
    read = {call.input.name for b in blocks for call in b.ops}
    unused = [n for n in (*spec.inputs, *names) if n not in read]
    return Output("concat", tuple(StateRef(n) for n in unused))


def _same_output(spec: CellSpec, cell: CellDef) -> bool:
    """Whether the cell's output is the space's (loose ends also when spelled out)."""
    expected = _output(spec, list(cell.blocks))
    if cell.output == expected:
        return True
    if spec.output != "loose_ends" or cell.output is None:
        return False
    read = {call.input.name for b in cell.blocks for call in b.ops}
    loose = tuple(b.name for b in cell.blocks if b.name not in read)
    return tuple(s.name for s in cell.output.states) == loose and (
        cell.output.combine == "concat" or len(loose) == 1
    )


def _not_in(message: str) -> DslSemanticError:
    return DslSemanticError("E803", f"not an architecture of this space: {message}")


def _state_index(earlier: tuple[str, ...], call: OpCall, where: str) -> int:
    if call.input.name not in earlier:
        raise _not_in(f"{where} reads {call.input.name}, which is no earlier state")
    return earlier.index(call.input.name)


def _op_index(spec: CellSpec, call: OpCall, where: str) -> int:
    if call.op in spec.ops and not call.params:
        return spec.ops.index(call.op)
    wanted = OPS.lookup(call.op)
    for i, name in enumerate(spec.ops):
        listed = OPS.lookup(name)
        if wanted is not None and listed is not None and not call.params and listed == wanted:
            return i
    raise _not_in(f"{where} uses {call.op}, which is not in the space's ops")


def _skip_index(spec: CellSpec, call: OpCall, j: int, where: str) -> int:
    ident = OPS.lookup(_IDENTITY)
    blocks = [spec.block_name(m) for m in range(j)]
    if OPS.lookup(call.op) != ident or call.input.name not in blocks:
        raise _not_in(f"{where}: a skip is skip_connect of an earlier block")
    return blocks.index(call.input.name)


def read_space(module: Module) -> SearchSpace:
    """The search space of a parsed space file; located errors for every mistake."""
    if module.design is not None:
        if module.space_cells or module.cells:
            first = (module.space_cells or module.cells)[0]
            raise DslSemanticError(
                "E800", "a design space chooses stages; it holds no cells", first.span
            )
        return SearchSpace(module, (), read_design(module.design))
    if not module.space_cells:
        raise DslSemanticError(
            "E800",
            "not a search space: the file has no `space cell`",
            module.span,
            "a space file starts with `nasgen 2` and declares `space cell NAME(...) { ... }`",
        )
    if module.cells:
        raise DslSemanticError(
            "E800",
            "a search space holds only space cells, not fixed cells",
            module.cells[0].span,
        )
    seen: set[str] = set()
    specs = []
    for cell in module.space_cells:
        if cell.name in seen:
            raise DslSemanticError("E205", f"space cell {cell.name!r} is defined twice", cell.span)
        seen.add(cell.name)
        specs.append(read_cell_spec(module, cell))
    return SearchSpace(module, tuple(specs))
