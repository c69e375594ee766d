"""NAS-Bench-201 strings, both ways: ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.

Pipeline stage: front end (foreign text -> **AST**, AST -> foreign text). Imports
``nasgen.dsl.ast``, ``nasgen.errors`` and the ``nasgen.dsl.foreign_*`` modules.

Node ``j`` (1-based) sums edges ``op~i`` from earlier nodes ``i < j``; node 0 is the cell input.
The string is cut at ``+``, ``|`` and ``~`` with offsets kept, so every error points into it.
"""

from __future__ import annotations

import re

from nasgen.dsl.ast import (
    Block,
    CellDef,
    ConventionDef,
    Module,
    NetworkDef,
    OpCall,
    Output,
    StateRef,
)
from nasgen.dsl.foreign_cells import MAX_BLOCKS, check_block_count, known_op, settings
from nasgen.dsl.foreign_source import ForeignSource, shorten
from nasgen.errors import DslSyntaxError, SourceText

__all__ = ["export_nb201", "import_nb201"]

_HINT = "expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2| (node j sums edges from nodes 0..j-1)"
_NB201_NETWORK = (
    ("N", 5), ("F", 16), ("reduction_mode", "resnet_block"), ("head", "bn_relu_gap"),
    ("classes", 10), ("input_size", 32),
)  # fmt: skip
_SOURCE = re.compile(r"[0-9]{1,9}", re.ASCII)


def _pieces(text: str, start: int, end: int, sep: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of the parts of ``text[start:end]`` cut at ``sep``."""
    out = []
    while True:
        cut = text.find(sep, start, end)
        if cut < 0:
            out.append((start, end))
            return out
        out.append((start, cut))
        start = cut + 1


def import_nb201(text: str | SourceText, name: str = "nb201") -> Module:
    """A NAS-Bench-201 string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
    src = ForeignSource(text, "E121", _HINT)
    body = src.text
    lo, hi = len(body) - len(body.lstrip()), len(body.rstrip())
    if lo >= hi:
        raise DslSyntaxError("E121", f"{src.path}: empty NAS-Bench-201 string", hint=_HINT)
    check_block_count(src, body.count("+", lo, hi) + 1, "the NB-201 cell", lo, hi)
    nodes = _pieces(body, lo, hi, "+")
    blocks = tuple(_node(src, j, start, end) for j, (start, end) in enumerate(nodes, start=1))
    output = Output(None, (StateRef(blocks[-1].name),))
    cell = CellDef("normal", (StateRef("x"),), blocks, output, src.span(lo, hi))
    network = NetworkDef(settings(_NB201_NETWORK))
    return Module(1, name, None, ConventionDef("nb201"), (cell,), network, (), src.span(lo, hi))


def _node(src: ForeignSource, j: int, start: int, end: int) -> Block:
    node = src.text[start:end]
    if len(node) < 2 or node[0] != "|" or node[-1] != "|":
        raise src.error(f"node {j} is not |op~i|...|: {shorten(node)}", start, end)
    if node.count("|") - 1 > MAX_BLOCKS:
        raise src.error(f"node {j} has more than {MAX_BLOCKS} edges", start, end)
    edges = _pieces(src.text, start + 1, end - 1, "|")
    ops = tuple(_edge(src, j, a, b) for a, b in edges)
    return Block(f"n{j}", "add", ops, src.span(start, end))


def _edge(src: ForeignSource, j: int, start: int, end: int) -> OpCall:
    edge = src.text[start:end]
    op, sep, index = edge.partition("~")
    if not sep or not op:
        raise src.error(f"edge {shorten(edge)} of node {j} is not op~i", start, max(end, start + 1))
    at = start + len(op) + 1
    if not _SOURCE.fullmatch(index) or int(index) >= j:
        raise src.error(
            f"edge {shorten(edge)} of node {j}: the source must be a node number 0..{j - 1}",
            at,
            max(end, at + 1),
        )
    source = int(index)
    ref = StateRef("x" if source == 0 else f"n{source}", src.span(at, end))
    return known_op(src, op, start, ref)


def _nb201_cell(module: Module) -> CellDef:
    found = [c for c in module.cells if len(c.inputs) == 1]
    if len(found) != 1:
        raise DslSyntaxError(
            "E122",
            f"{len(found)} one-input cells; an NB-201 string is one cell(x)",
            module.span,
            "an NB-201 cell reads one input and outputs its last node",
        )
    return found[0]


def export_nb201(module: Module) -> str:
    """The NAS-Bench-201 string of a one-input cell whose output is its last node."""
    cell = _nb201_cell(module)
    index = {cell.inputs[0].name: 0}
    parts = []
    for j, block in enumerate(cell.blocks, start=1):
        if block.combine not in ("add", None) or any(op.params for op in block.ops):
            raise DslSyntaxError(
                "E122", f"node {block.name} is not add(op(x), ...) of plain ops", block.span
            )
        edges = []
        for op in block.ops:
            if op.input.name not in index:
                raise DslSyntaxError(
                    "E122",
                    f"node {block.name} reads {op.input.name!r}, no earlier node",
                    op.input.span,
                )
            edges.append(f"{op.op}~{index[op.input.name]}")
        parts.append("|" + "|".join(edges) + "|")
        index[block.name] = j
    if not cell.blocks or _outputs(cell) != [cell.blocks[-1].name]:
        raise DslSyntaxError("E122", f"cell {cell.name} does not output its last node", cell.span)
    return "+".join(parts)


def _outputs(cell: CellDef) -> list[str]:
    if cell.output is not None:
        return [s.name for s in cell.output.states]
    read = {op.input.name for block in cell.blocks for op in block.ops}
    return [b.name for b in cell.blocks if b.name not in read]  # the loose ends
