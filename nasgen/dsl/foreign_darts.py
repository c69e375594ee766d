"""DARTS-family genotypes, both ways: ``Genotype(normal, normal_concat, reduce, reduce_concat)``.

Pipeline stage: front end (foreign text -> **AST**, AST -> foreign text). Imports
``nasgen.dsl.ast``, ``nasgen.errors`` and the ``nasgen.dsl.foreign_*`` modules.

The text is read by the bounded literal reader (``foreign_reader``), never evaluated. A file
(the DARTS code's ``genotypes.py``) may hold many ``NAME = Genotype(...)`` and aliases
``NAME = OTHER`` (``DARTS = DARTS_V2``); they are found in one linear pass and only the chosen
genotype is interpreted. DARTS indexes 0 = h_{i-1} (s0), 1 = h_i (s1), 2... = blocks.
"""

from __future__ import annotations

import bisect

from nasgen.dsl.ast import (
    Block,
    CellDef,
    ConventionDef,
    Module,
    NetworkDef,
    Output,
    StateRef,
    VariantDef,
)
from nasgen.dsl.foreign_cells import check_block_count, known_op, settings
from nasgen.dsl.foreign_reader import Binding, Lit, LiteralReader
from nasgen.dsl.foreign_source import ForeignSource, shorten
from nasgen.dsl.foreign_values import int_list, int_of, seq_of, text_of, text_start
from nasgen.errors import DslSyntaxError, SourceSpan, SourceText, did_you_mean

__all__ = ["export_darts", "import_darts", "import_darts_file", "split_genotypes"]

_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")
_HINT = (
    "expected Genotype(normal=[(op, input), ...], normal_concat=[...], reduce=[...], "
    "reduce_concat=[...])"
)
_DARTS_NETWORK = (
    ("N", 6), ("F", 36), ("stem", "conv3x3"), ("stem_multiplier", 3), ("aux_head", "darts_cifar"),
    ("drop_path", 0.2), ("head", "gap"), ("classes", 10), ("input_size", 32),
)  # fmt: skip
_DARTS_IMAGENET = (
    ("N", 4), ("F", 48), ("stem", "darts_imagenet"), ("aux_head", "darts_imagenet"),
    ("drop_path", 0.0), ("classes", 1000), ("input_size", 224),
)  # fmt: skip


def _source(text: str | SourceText) -> ForeignSource:
    return ForeignSource(text, "E120", _HINT)


def _bindings(src: ForeignSource) -> list[Binding]:
    return list(LiteralReader(src).scan("Genotype"))


def split_genotypes(text: str | SourceText) -> list[tuple[str | None, str]]:
    """Every ``[NAME =] Genotype(...)`` in a text (a file may hold many), as (name, call text)."""
    src = _source(text)
    return [(b.name, src.text[b.start : b.end]) for b in _bindings(src) if b.target is None]


def _select(src: ForeignSource, name: str | None) -> Binding:
    bindings = _bindings(src)
    names = sorted({b.name for b in bindings if b.name is not None})
    shown = [n if len(n) <= 40 else f"{n[:40]}..." for n in names[:12]]
    listed = f"names: {', '.join(shown)}" + (", ..." if len(names) > 12 else "")
    if name is not None:
        return _follow(src, bindings, name, names, listed if names else None)
    calls = [b for b in bindings if b.target is None]
    if len(calls) == 1:
        return calls[0]
    what = (
        f"{len(calls)} Genotype(...) found; choose one with --name"
        if calls
        else "no Genotype(...) found"
    )
    raise DslSyntaxError("E123", f"{src.path}: {what}", hint=listed if names else _HINT)


def _follow(
    src: ForeignSource, bindings: list[Binding], name: str, names: list[str], listed: str | None
) -> Binding:
    """The genotype ``name`` is bound to, through aliases, as Python would bind it."""
    by_name: dict[str, list[Binding]] = {}
    for b in bindings:  # in file order, so each list is sorted by offset
        if b.name is not None:
            by_name.setdefault(b.name, []).append(b)
    starts = {key: [b.start for b in found] for key, found in by_name.items()}
    wanted, before, via = name, len(src.text) + 1, None
    while True:  # each alias step moves strictly backwards through the file
        k = bisect.bisect_left(starts.get(wanted, []), before)
        if k == 0:
            others = [n for n in names if via is None or n != via.name]
            close = did_you_mean(wanted, others) if len(wanted) <= 64 else None
            message = f"no Genotype named {shorten(wanted)}"
            if via is None:
                raise DslSyntaxError("E123", f"{src.path}: {message}", hint=close or listed)
            raise src.error(f"{message} (this alias)", via.start, via.end, close or listed, "E123")
        via = by_name[wanted][k - 1]
        target = via.target
        if target is None:
            return via
        wanted, before = target, via.start


def import_darts_file(text: str | SourceText, name: str | None = None) -> Module:
    """The genotype ``name`` (or the only one) of a text of ``[NAME =] Genotype(...)`` lines.

    ``NAME = OTHER`` aliases are followed, as Python would (``DARTS = DARTS_V2``).
    """
    src = _source(text)
    binding = _select(src, name)
    call = LiteralReader(src, binding.start, binding.end).expression()
    return _module(src, call, (binding.name or "imported").lower())


def import_darts(text: str | SourceText, name: str = "imported") -> Module:
    """A DARTS-family ``Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...)``."""
    src = _source(text)
    return _module(src, LiteralReader(src).expression(), name)


def _fields(src: ForeignSource, call: Lit) -> dict[str, Lit]:
    if call.kind != "call" or call.value != "Genotype":
        raise src.error("expected a Genotype(...) call", call.start, call.end)
    if len(call.items) > len(_FIELDS):
        extra = call.items[len(_FIELDS)]
        raise src.error(
            f"Genotype takes {len(_FIELDS)} fields ({', '.join(_FIELDS)}); this is a 5th",
            extra.start,
            extra.end,
        )
    values = dict(zip(_FIELDS, call.items, strict=False))
    for key, value in call.pairs:
        field = str(key.value)
        if field not in _FIELDS:
            hint = did_you_mean(field, _FIELDS) or f"fields: {', '.join(_FIELDS)}"
            raise src.error(f"unknown Genotype field {shorten(field)}", key.start, key.end, hint)
        if field in values:
            raise src.error(f"Genotype field {field} given twice", key.start, key.end)
        values[field] = value
    missing = [f for f in _FIELDS if f not in values]
    if missing:
        where = (call.start, call.start + len("Genotype"))
        raise src.error(f"Genotype needs {', '.join(missing)}", *where)
    return values


def _module(src: ForeignSource, call: Lit, name: str) -> Module:
    fields = _fields(src, call)
    cells = (
        _cell(src, "normal", "normal", fields["normal"], fields["normal_concat"]),
        _cell(src, "reduction", "reduce", fields["reduce"], fields["reduce_concat"]),
    )
    variant = VariantDef("imagenet", settings(_DARTS_IMAGENET))
    network = NetworkDef(settings(_DARTS_NETWORK))
    conv = ConventionDef("darts")
    return Module(1, name, None, conv, cells, network, (variant,), src.span(call.start, call.end))


def _state(index: int) -> str:
    return ("h_prev", "h")[index] if index < 2 else f"b{index - 1}"


def _cell(src: ForeignSource, name: str, field: str, pairs_lit: Lit, concat_lit: Lit) -> CellDef:
    pairs = seq_of(src, pairs_lit, field)
    if not pairs or len(pairs) % 2:
        raise src.error(
            f"{field}: expected an even, non-empty list of (op, input) pairs, two per block; "
            f"found {len(pairs)}",
            pairs_lit.start,
            pairs_lit.end,
        )
    check_block_count(src, len(pairs) // 2, field, pairs_lit.start, pairs_lit.end)
    blocks = tuple(_block(src, field, pairs, b) for b in range(len(pairs) // 2))
    hint = f"states: 0 = h_prev, 1 = h, 2..{len(blocks) + 1} = blocks"
    concat = int_list(src, concat_lit, f"{field}_concat", 0, len(blocks) + 1, hint)
    if not concat:
        raise src.error(f"{field}_concat is empty", concat_lit.start, concat_lit.end)
    states = tuple(StateRef(_state(i), src.span(lit.start, lit.end)) for i, lit in concat)
    output = Output("concat", states, src.span(concat_lit.start, concat_lit.end))
    inputs = (StateRef("h_prev"), StateRef("h"))
    return CellDef(name, inputs, blocks, output, src.span(pairs_lit.start, pairs_lit.end))


def _block(src: ForeignSource, field: str, pairs: tuple[Lit, ...], b: int) -> Block:
    ops = []
    for pair in pairs[2 * b : 2 * b + 2]:
        parts = seq_of(src, pair, f"{field} entry")
        if len(parts) != 2:
            raise src.error(
                f"{field}: an entry is an (op, input) pair; this has {len(parts)} items",
                pair.start,
                pair.end,
            )
        op = text_of(src, parts[0], f"{field}: the op name")
        index = int_of(src, parts[1], f"{field}: the input of {shorten(op)}")
        if not 0 <= index <= b + 1:
            raise src.error(
                f"{field}: input index {index} of {shorten(op)} refers to no earlier state",
                parts[1].start,
                parts[1].end,
                f"block {b + 1} reads 0 (h_prev), 1 (h) or an earlier block (2..{b + 1})"
                if b
                else "block 1 reads 0 (h_prev) or 1 (h)",
            )
        ref = StateRef(_state(index), src.span(parts[1].start, parts[1].end))
        ops.append(known_op(src, op, text_start(src, parts[0]), ref))
    return Block(f"b{b + 1}", "add", tuple(ops), src.span(pairs[2 * b].start, pairs[2 * b + 1].end))


def _no_darts_form(message: str, cell: CellDef, span: SourceSpan | None = None) -> DslSyntaxError:
    hint = "a DARTS cell reads (h_prev, h), has add(op(x), op(y)) blocks and output concat(...)"
    return DslSyntaxError("E122", message, span or cell.span, hint)


def _darts_pairs(cell: CellDef) -> tuple[str, str]:
    if len(cell.inputs) != 2:
        raise _no_darts_form(f"cell {cell.name} has {len(cell.inputs)} inputs, not 2", cell)
    index = {ref.name: i for i, ref in enumerate(cell.inputs)}
    pairs = []
    for b, block in enumerate(cell.blocks):
        if block.combine != "add" or len(block.ops) != 2 or any(op.params for op in block.ops):
            raise _no_darts_form(f"block {block.name} is not add(op(x), op(y))", cell, block.span)
        for op in block.ops:
            if op.input.name not in index:
                raise _no_darts_form(
                    f"block {block.name} reads {op.input.name!r}, no earlier state",
                    cell,
                    op.input.span,
                )
            pairs.append(f"({op.op!r}, {index[op.input.name]})")
        index[block.name] = b + 2
    if cell.output is None or cell.output.combine != "concat":
        raise _no_darts_form(f"cell {cell.name} has no explicit output concat(...)", cell)
    unknown = [s for s in cell.output.states if s.name not in index]
    if unknown:
        raise _no_darts_form(f"output of {cell.name} reads undefined {unknown[0].name!r}", cell)
    concat = [index[s.name] for s in cell.output.states]
    return f"[{', '.join(pairs)}]", f"{concat}"


def export_darts(module: Module, normal: str = "normal", reduction: str = "reduction") -> str:
    """The DARTS ``Genotype(...)`` string of a two-cell module."""
    cells = {c.name: c for c in module.cells}
    if normal not in cells or reduction not in cells:
        raise DslSyntaxError("E122", f"needs cells {normal!r} and {reduction!r}", module.span)
    n, nc = _darts_pairs(cells[normal])
    r, rc = _darts_pairs(cells[reduction])
    return f"Genotype(normal={n}, normal_concat={nc}, reduce={r}, reduce_concat={rc})"
