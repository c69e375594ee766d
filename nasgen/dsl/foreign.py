"""Foreign genotype formats: DARTS ``Genotype(...)`` and NAS-Bench-201 strings, both ways.

Pipeline stage: front end (foreign text -> **AST**, AST -> foreign text). Imports
``nasgen.errors`` and ``nasgen.dsl.ast``.

A ``Genotype(...)`` string is read with Python's own *parser* (``ast.parse``) and interpreted
node by node as data: lists, tuples, strings, integers and ``range(a, b)``. Nothing is
evaluated, so a string holding code is refused, never run.
"""

from __future__ import annotations

import ast as pyast
import re

from nasgen.dsl.ast import (
    Block,
    CellDef,
    ConventionDef,
    Ident,
    Module,
    NetworkDef,
    OpCall,
    Output,
    Setting,
    StateRef,
    VariantDef,
)
from nasgen.errors import DslSyntaxError

__all__ = ["export_darts", "export_nb201", "import_darts", "import_nb201", "split_genotypes"]

_DARTS_NETWORK = (
    ("N", 6), ("F", 36), ("stem", "conv3x3"), ("stem_multiplier", 3), ("aux_head", "darts_cifar"),
    ("drop_path", 0.2), ("head", "gap"), ("classes", 10), ("input_size", 32),
)  # fmt: skip
_DARTS_IMAGENET = (
    ("N", 4), ("F", 48), ("stem", "darts_imagenet"), ("aux_head", "darts_imagenet"),
    ("drop_path", 0.0), ("classes", 1000), ("input_size", 224),
)  # fmt: skip
_NB201_NETWORK = (
    ("N", 5), ("F", 16), ("reduction_mode", "resnet_block"), ("head", "bn_relu_gap"),
    ("classes", 10), ("input_size", 32),
)  # fmt: skip


def _settings(pairs: tuple[tuple[str, object], ...]) -> tuple[Setting, ...]:
    return tuple(Setting(k, Ident(v) if isinstance(v, str) else v) for k, v in pairs)  # type: ignore[arg-type]


def _bad(message: str) -> DslSyntaxError:
    return DslSyntaxError("E120", message, hint="expected Genotype(normal=[(op, input), ...], ...)")


def _literal(node: pyast.expr) -> object:
    """Interpret a literal expression as data (lists, tuples, str, int, range); never evaluate."""
    if isinstance(node, pyast.Constant) and isinstance(node.value, str | int):
        return node.value
    if isinstance(node, pyast.List | pyast.Tuple):
        return [_literal(e) for e in node.elts]
    if (
        isinstance(node, pyast.Call)
        and isinstance(node.func, pyast.Name)
        and node.func.id in ("range", "list")
        and not node.keywords
    ):
        args = [_literal(a) for a in node.args]
        if node.func.id == "list" and len(args) == 1 and isinstance(args[0], list):
            return args[0]
        ints = [a for a in args if isinstance(a, int)]
        if node.func.id == "range" and len(ints) == len(args) and 1 <= len(ints) <= 2:
            return list(range(*ints))
    raise _bad(f"not a genotype literal: {pyast.unparse(node)[:60]!r}")


def _state(index: int, blocks_before: int) -> str:
    if index == 0:
        return "h_prev"
    if index == 1:
        return "h"
    if 2 <= index < blocks_before + 2:
        return f"b{index - 1}"
    raise _bad(f"input index {index} refers to no earlier state")


def _darts_cell(name: str, pairs: object, concat: object) -> CellDef:
    if not isinstance(pairs, list) or len(pairs) % 2 or not pairs:
        raise _bad(f"{name}: expected an even, non-empty list of (op, input) pairs")
    blocks = []
    for i in range(0, len(pairs), 2):
        ops = []
        for pair in pairs[i : i + 2]:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise _bad(f"{name}: {pair!r} is not an (op, input) pair")
            if not isinstance(pair[1], int):
                raise _bad(f"{name}: input of {pair[0]} is not an integer")
            ops.append(OpCall(pair[0], StateRef(_state(pair[1], i // 2))))
        blocks.append(Block(f"b{i // 2 + 1}", "add", tuple(ops)))
    if not isinstance(concat, list) or not all(isinstance(c, int) for c in concat):
        raise _bad(f"{name}_concat must be a list of integers")
    states = tuple(StateRef(_state(int(c), len(blocks))) for c in concat)
    return CellDef(
        name, (StateRef("h_prev"), StateRef("h")), tuple(blocks), Output("concat", states)
    )


def split_genotypes(text: str) -> list[tuple[str | None, str]]:
    """Every ``[NAME =] Genotype(...)`` in a text (a file may hold many), as (name, call text)."""
    out: list[tuple[str | None, str]] = []
    for match in re.finditer(r"(?:([A-Za-z_]\w*)\s*=\s*)?(Genotype\s*\()", text):
        start, depth = match.start(2), 0
        for j in range(match.end(2) - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0:
                out.append((match.group(1), text[start : j + 1]))
                break
        else:
            raise _bad("unbalanced parentheses in Genotype(...)")
    return out


def import_darts(text: str, name: str = "imported") -> Module:
    """A DARTS-family ``Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...)``."""
    try:
        tree = pyast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise _bad(f"not a Genotype(...) expression: {err.msg}") from None
    call = tree.body
    if not (
        isinstance(call, pyast.Call)
        and isinstance(call.func, pyast.Name)
        and call.func.id == "Genotype"
    ):
        raise _bad("expected a Genotype(...) call")
    fields = ["normal", "normal_concat", "reduce", "reduce_concat"]
    values: dict[str, object] = dict(zip(fields, (_literal(a) for a in call.args), strict=False))
    for kw in call.keywords:
        if kw.arg not in fields:
            raise _bad(f"unknown Genotype field {kw.arg!r}")
        values[kw.arg] = _literal(kw.value)
    if set(values) != set(fields):
        raise _bad(f"Genotype needs {', '.join(fields)}")
    cells = (
        _darts_cell("normal", values["normal"], values["normal_concat"]),
        _darts_cell("reduction", values["reduce"], values["reduce_concat"]),
    )
    variant = VariantDef("imagenet", _settings(_DARTS_IMAGENET))
    network = NetworkDef(_settings(_DARTS_NETWORK))
    return Module(1, name, None, ConventionDef("darts"), cells, network, (variant,))


def import_nb201(text: str, name: str = "nb201") -> Module:
    """A NAS-Bench-201 string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
    nodes = text.strip().split("+")
    blocks = []
    for j, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")):
            raise DslSyntaxError("E121", f"node {j} is not |op~i|...|: {node!r}")
        ops = []
        for edge in node.strip("|").split("|"):
            op, sep, src = edge.partition("~")
            if not sep or not src.isdigit() or int(src) >= j or not op:
                raise DslSyntaxError("E121", f"bad edge {edge!r} in node {j}")
            ops.append(OpCall(op, StateRef("x" if src == "0" else f"n{src}")))
        blocks.append(Block(f"n{j}", "add", tuple(ops)))
    if not blocks:
        raise DslSyntaxError("E121", "empty NAS-Bench-201 string")
    cell = CellDef(
        "normal", (StateRef("x"),), tuple(blocks), Output(None, (StateRef(blocks[-1].name),))
    )
    return Module(
        1, name, None, ConventionDef("nb201"), (cell,), NetworkDef(_settings(_NB201_NETWORK))
    )


def _index(cell: CellDef, state: str) -> int:
    names = [r.name for r in cell.inputs] + [b.name for b in cell.blocks]
    return names.index(state)


def _darts_pairs(cell: CellDef) -> tuple[str, str]:
    pairs = []
    for block in cell.blocks:
        if block.combine != "add" or len(block.ops) != 2 or any(op.params for op in block.ops):
            raise DslSyntaxError(
                "E122", f"block {block.name} is not add(op(x), op(y)); no DARTS form"
            )
        pairs += [f"('{op.op}', {_index(cell, op.input.name)})" for op in block.ops]
    if cell.output is None or cell.output.combine is None:
        raise DslSyntaxError("E122", f"cell {cell.name} has no explicit concat output")
    concat = [_index(cell, s.name) for s in cell.output.states]
    return f"[{', '.join(pairs)}]", f"{concat}"


def export_darts(module: Module, normal: str = "normal", reduction: str = "reduction") -> str:
    """The DARTS ``Genotype(...)`` string of a two-cell module."""
    cells = {c.name: c for c in module.cells}
    if normal not in cells or reduction not in cells:
        raise DslSyntaxError("E122", f"needs cells {normal!r} and {reduction!r}")
    n, nc = _darts_pairs(cells[normal])
    r, rc = _darts_pairs(cells[reduction])
    return f"Genotype(normal={n}, normal_concat={nc}, reduce={r}, reduce_concat={rc})"


def export_nb201(module: Module) -> str:
    """The NAS-Bench-201 string of a one-input cell whose output is its last node."""
    (cell,) = [c for c in module.cells if len(c.inputs) == 1] or [None]  # type: ignore[list-item]
    if cell is None:
        raise DslSyntaxError("E122", "no one-input (NB-201) cell")
    names = [cell.inputs[0].name] + [b.name for b in cell.blocks]
    parts = []
    for block in cell.blocks:
        edges = [f"{op.op}~{names.index(op.input.name)}" for op in block.ops]
        parts.append("|" + "|".join(edges) + "|")
    return "+".join(parts)
