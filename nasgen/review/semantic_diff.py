"""Semantic diff: what changed between two architectures as networks, not as text.

Pipeline stage: review (reads two ``Analysis`` results). Imports ``nasgen.api``, ``nasgen.dsl``,
``nasgen.ops``, ``nasgen.review.fingerprint`` and ``nasgen.review.diff_report`` (the
result records and their rendering).

Cells are paired by the role the network gives them (``normal``, ``reduction``, ``stem_cell``),
so renaming a cell is no change. Blocks are matched in three steps (``_match``):

  1. equal Merkle hashes (the same computation from the cell inputs), preferring equal names;
  2. equal local form: same combine, ops and (already matched) inputs; this pairs the blocks
     below a changed one, whose Merkle hashes all changed with it;
  3. the most similar pair left (shared operands, then the same name), which is how a single
     op change reads ``block b3: op avg_pool_3x3 -> max_pool_3x3 on input h``; then 2 again.

When the cells' fingerprints are equal, the canonical labelling maps state to state exactly and
only renames are reported. Otherwise every matched pair is compared locally, so a diff lists at
least one change whenever the fingerprints differ. Names are A's; a state only B has keeps B's
name (``B:name`` where A uses that name for another state).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

from nasgen.api import Analysis
from nasgen.dsl.network import KEYS, KeyValue
from nasgen.dsl.printer import print_value
from nasgen.dsl.resolve import ResolvedBlock, ResolvedCell, ResolvedOp
from nasgen.ops import Attrs
from nasgen.review.diff_report import (
    ArchDiff,
    BlockChange,
    CellDiff,
    CostDelta,
    SettingChange,
    Value,
)
from nasgen.review.fingerprint import (
    CellFingerprint,
    architecture_hash,
    block_width,
    fingerprint_cell,
    is_commutative,
    used_cells,
)

__all__ = [
    "ArchDiff",
    "BlockChange",
    "CellDiff",
    "CostDelta",
    "SettingChange",
    "diff_architectures",
]

# -- block matching ---------------------------------------------------------------------------

_Operand = tuple[str, Attrs, str, str]
"""(resolved op name, params, input state in A's names, spelling as written)."""


def _spell(op: ResolvedOp) -> str:
    params = ", ".join(f"{s.key}={print_value(s.value)}" for s in op.call.params)
    return f"{op.call.op}({params})" if params else op.call.op


def _operands(block: ResolvedBlock, rename: Callable[[str], str]) -> list[_Operand]:
    return [(op.op.name, op.params, rename(op.input), _spell(op)) for op in block.ops]


def _local(block: ResolvedBlock, rename: Callable[[str], str | None]) -> object:
    """A block's own form with its inputs renamed; None when an input has no name yet."""
    ops = [(op.op.name, op.params, rename(op.input)) for op in block.ops]
    if any(op[2] is None for op in ops):
        return None
    return block.combine, Counter(ops) if is_commutative(block.combine) else ops


def _score(a: ResolvedBlock, b: ResolvedBlock, mapping: Mapping[str, str]) -> int:
    xs = Counter((op.op.name, op.params, mapping.get(op.input)) for op in a.ops)
    ys = Counter[tuple[str, Attrs, str | None]]((op.op.name, op.params, op.input) for op in b.ops)
    same_input = Counter(k[2] for k in xs) & Counter(k[2] for k in ys)
    same_op = Counter(k[:2] for k in xs) & Counter(k[:2] for k in ys)
    shared = 4 * (xs & ys).total() + same_input.total() + same_op.total()
    return shared + 2 * (a.name == b.name) if shared or a.name == b.name else 0


def _prefer(name: str, index: int, candidates: list[str], order: Mapping[str, int]) -> str:
    return min(candidates, key=lambda c: (c != name, abs(order[c] - index), order[c]))


def _match(
    ca: ResolvedCell, cb: ResolvedCell, fa: CellFingerprint, fb: CellFingerprint
) -> dict[str, str]:
    mapping = dict(zip(ca.inputs, cb.inputs, strict=False))
    if fa.digest == fb.digest:
        by_label = {label: state for state, label in fb.labels.items()}
        return {state: by_label[label] for state, label in fa.labels.items()}
    order = {b.name: i for i, b in enumerate(cb.blocks)}
    blocks_b = {b.name: b for b in cb.blocks}
    free = list(order)
    for same_name in (True, False):
        for i, blk in enumerate(ca.blocks):
            same = [n for n in free if fb.merkle[n] == fa.merkle[blk.name]]
            same = [n for n in same if n == blk.name] if same_name else same
            if same and blk.name not in mapping:
                mapping[blk.name] = pick = _prefer(blk.name, i, same, order)
                free.remove(pick)
    while True:
        todo = [(i, b) for i, b in enumerate(ca.blocks) if b.name not in mapping]
        exact = [
            (i, a, n)
            for i, a in todo
            for n in free
            if (form := _local(a, mapping.get)) is not None
            and form == _local(blocks_b[n], lambda s: s)
        ]
        scored = [(_score(a, blocks_b[n], mapping), -i, a, n) for i, a in todo for n in free]
        best = max(scored, key=lambda t: (t[0], t[1], -order[t[3]]), default=None)
        if exact:
            i, a, _ = exact[0]
            pick = _prefer(a.name, i, [n for _, x, n in exact if x is a], order)
        elif best is not None and best[0] > 0:
            a, pick = best[2], best[3]
        else:
            return mapping
        mapping[a.name] = pick
        free.remove(pick)


# -- changes ----------------------------------------------------------------------------------


def _call(x: _Operand) -> str:
    return f"{x[3]}({x[2]})"


def _take(rest: list[_Operand], key: Callable[[_Operand], Any], value: object) -> _Operand | None:
    found = next((y for y in rest if key(y) == value), None)
    if found is not None:
        rest.remove(found)
    return found


_EXACT, _INPUT, _OP = itemgetter(0, 1, 2), itemgetter(2), itemgetter(0, 1)


def _pair(block: str, x: _Operand, y: _Operand) -> list[BlockChange]:
    if x[:3] == y[:3]:
        return []
    if x[2] == y[2]:
        return [BlockChange("op", block, x[3], y[3], x[2])]
    if x[:2] == y[:2]:
        return [BlockChange("input", block, x[2], y[2], x[3])]
    return [BlockChange("operand", block, _call(x), _call(y))]


def _pairs(block: str, xs: list[_Operand], ys: list[_Operand]) -> list[BlockChange]:
    n = min(len(xs), len(ys))
    changes = [c for x, y in zip(xs[:n], ys[:n], strict=True) for c in _pair(block, x, y)]
    changes += [BlockChange("operand_removed", block, _call(x), None) for x in xs[n:]]
    return changes + [BlockChange("operand_added", block, None, _call(y)) for y in ys[n:]]


def _unordered(block: str, xs: list[_Operand], ys: list[_Operand]) -> list[BlockChange]:
    rest_a, rest_b = [], list(ys)
    for x in xs:
        if _take(rest_b, _EXACT, _EXACT(x)) is None:
            rest_a.append(x)
    paired_a, paired_b = [], []
    for key in (_INPUT, _OP):  # an op changed on the same input, then an input of the same op
        for x in list(rest_a):
            y = _take(rest_b, key, key(x))
            if y is not None:
                rest_a.remove(x)
                paired_a.append(x)
                paired_b.append(y)
    return _pairs(block, paired_a + rest_a, paired_b + rest_b)


def _ordered(block: str, xs: list[_Operand], ys: list[_Operand]) -> list[BlockChange]:
    if xs != ys and Counter(x[:3] for x in xs) == Counter(y[:3] for y in ys):
        return [BlockChange("order", block, ", ".join(map(_call, xs)), ", ".join(map(_call, ys)))]
    return _pairs(block, xs, ys)


def _block_changes(a: ResolvedBlock, b: ResolvedBlock, b_name: Any) -> list[BlockChange]:
    changes = []
    if a.combine != b.combine:
        changes.append(BlockChange("combine", a.name, a.combine or "none", b.combine or "none"))
    xs, ys = _operands(a, lambda s: s), _operands(b, b_name)
    if is_commutative(a.combine) and is_commutative(b.combine):
        return changes + _unordered(a.name, xs, ys)
    return changes + _ordered(a.name, xs, ys)


def _text(block: ResolvedBlock, rename: Callable[[str], str]) -> str:
    ops = ", ".join(_call(x) for x in _operands(block, rename))
    return f"{block.combine}({ops})" if block.combine else ops


def _output(cell: ResolvedCell, rename: Callable[[str], str]) -> str:
    states = ", ".join(map(rename, cell.output))
    return f"concat({states})" if cell.concat_output else states


def _last(cell: ResolvedCell, rename: Callable[[str], str]) -> str:
    return f"{rename(cell.blocks[-1].name)} ({block_width(cell.blocks[-1])}F)"


def _cell_changes(ca: ResolvedCell, cb: ResolvedCell, mapping: dict[str, str]) -> list[BlockChange]:
    back = {b: a for a, b in mapping.items()}
    a_states = {*ca.inputs, *(b.name for b in ca.blocks)}

    def b_name(state: str) -> str:
        if state in back:
            return back[state]
        return f"B:{state}" if state in a_states else state

    changes = []
    if len(ca.inputs) != len(cb.inputs):
        changes.append(BlockChange("inputs", None, ", ".join(ca.inputs), ", ".join(cb.inputs)))
    blocks_b = {b.name: b for b in cb.blocks}
    for blk in ca.blocks:
        if blk.name in mapping:
            changes += _block_changes(blk, blocks_b[mapping[blk.name]], b_name)
        else:
            changes.append(BlockChange("block_removed", blk.name, _text(blk, str), None))
    changes += [
        BlockChange("block_added", b_name(blk.name), None, _text(blk, b_name))
        for blk in cb.blocks
        if blk.name not in back
    ]
    out_a, out_b = _output(ca, str), _output(cb, b_name)
    if out_a != out_b:
        changes.append(BlockChange("output", None, out_a, out_b))
    if ca.blocks and cb.blocks and block_width(ca.blocks[-1]) != block_width(cb.blocks[-1]):
        changes.append(BlockChange("last_block", None, _last(ca, str), _last(cb, b_name)))
    return changes


def _cell_diff(role: str, a: Analysis, b: Analysis, na: str | None, nb: str | None) -> CellDiff:
    ca, cb = a.arch.cells.get(na or ""), b.arch.cells.get(nb or "")
    if ca is None or cb is None:
        kind = "cell_removed" if cb is None else "cell_added"
        return CellDiff(role, na, nb, False, (BlockChange(kind, None, na, nb, role),), ())
    fa, fb = fingerprint_cell(ca), fingerprint_cell(cb)
    mapping = _match(ca, cb, fa, fb)
    same = fa.digest == fb.digest
    changes = () if same else tuple(_cell_changes(ca, cb, mapping))
    renamed = tuple((x, y) for x, y in mapping.items() if x != y)
    return CellDiff(role, na, nb, same, changes, renamed)


def _settings(a: Mapping[str, Value], b: Mapping[str, Value]) -> tuple[SettingChange, ...]:
    keys = [*a, *(k for k in b if k not in a)]
    return tuple(SettingChange(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k))


def _skeleton(x: Analysis) -> str:
    spec = x.arch.network
    size = f"{spec.input_channels}x{spec.input_size}x{spec.input_size}"
    return f"{spec.skeleton()}, {size}, {spec.classes} classes"


def _cost(a: Analysis, b: Analysis) -> CostDelta:
    pa = {s.stage: s.params for s in a.cost.stages}
    pb = {s.stage: s.params for s in b.cost.stages}
    stages = tuple((s, pa.get(s), pb.get(s)) for s in [*pa, *(s for s in pb if s not in pa)])
    ca, cb = a.cost, b.cost
    return CostDelta(ca.params, cb.params, ca.macs, cb.macs, ca.aux_params, cb.aux_params, stages)


def diff_architectures(a: Analysis, b: Analysis) -> ArchDiff:
    """Compare two analysed architectures as networks.

    Args:
        a: the old side (its state names name the changes).
        b: the new side.

    Returns:
        The convention, network and per-cell block changes and the cost of both;
        ``equivalent`` is true exactly when the fingerprints are equal.

    """
    roles_a, roles_b = used_cells(a.arch.network), used_cells(b.arch.network)
    cells, seen = [], set()
    for role in [*roles_a, *(r for r in roles_b if r not in roles_a)]:
        pair = (roles_a.get(role), roles_b.get(role))
        if pair not in seen:
            seen.add(pair)
            cells.append(_cell_diff(role, a, b, *pair))
    net_a, net_b = a.arch.network.as_dict(), b.arch.network.as_dict()

    def shown(net: dict[str, KeyValue]) -> dict[str, str | int | float | None]:
        return {
            k: f"[{', '.join(f'{x:g}' for x in v)}]" if isinstance(v, tuple) else v
            for k, v in net.items()
            if not KEYS[k].cell_name
        }

    network = _settings(shown(net_a), shown(net_b))
    return ArchDiff(
        a.source.path,
        b.source.path,
        architecture_hash(a.arch),
        architecture_hash(b.arch),
        _skeleton(a),
        _skeleton(b),
        _settings(a.arch.convention.rules(), b.arch.convention.rules()),
        network,
        tuple(cells),
        _cost(a, b),
    )
