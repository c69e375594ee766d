"""DARTS architecture weights in, a derived genotype out: the DARTS code's derivation rule.

Pipeline stage: front end (foreign data -> **AST**). Imports ``nasgen.errors`` and the
``nasgen.dsl.foreign_*`` modules.

Input: a JSON (or Python literal) object ``{"normal": ROWS, "reduce": ROWS, "primitives":
[names]}``, each ROWS one row of logits per edge in the DARTS code's order (node 0's two inputs
c_{k-2}, c_{k-1}, then node 1's three, ...: 14 rows for 4 nodes), each row one number per
primitive. Read by the bounded literal reader, never evaluated; every error points into it.

The rule (Liu, Simonyan, Yang, "DARTS", ICLR 2019, section 2.4; the code's
``Network.genotype``): softmax each row; for node i, rank its incoming edges by their largest
non-``none`` weight and keep the two strongest (Python's stable sort: of equal edges the earlier
input wins); on each kept edge take the strongest non-``none`` op (the first of equal ones);
the output concatenates every node. The genotype lists each node's two edges strongest first,
as the code does. Softmax runs in float64 here (the code runs it in float32, so two weights
equal to within float32 rounding may break a tie the other way).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nasgen.dsl.ast import Module
from nasgen.dsl.foreign_darts import import_darts
from nasgen.dsl.foreign_reader import Lit, LiteralReader
from nasgen.dsl.foreign_source import ForeignSource
from nasgen.dsl.foreign_values import describe, mapping_of, seq_of, text_of
from nasgen.errors import NasgenError, SourceText

__all__ = ["darts_genes", "darts_genotype", "derive_darts"]

_HINT = 'expected {"normal": [[...], ...], "reduce": [[...], ...], "primitives": [...]}'
MAX_NODES = 16


def _softmax(row: Sequence[float]) -> list[float]:
    top = max(row)
    exps = [math.exp(x - top) for x in row]
    total = sum(exps)
    return [e / total for e in exps]


def _parse(weights: Sequence[Sequence[float]], primitives: Sequence[str]) -> list[tuple[str, int]]:
    """The DARTS code's ``_parse``: two (op, input) pairs per node, strongest edge first."""
    skip = primitives.index("none") if "none" in primitives else None
    gene: list[tuple[str, int]] = []
    start, n = 0, 2
    while start < len(weights):
        rows = weights[start : start + n]

        def strength(j: int, rows: Sequence[Sequence[float]] = rows) -> float:
            return max(w for k, w in enumerate(rows[j]) if k != skip)

        for j in sorted(range(n), key=lambda j: -strength(j))[:2]:
            best = max((k for k in range(len(primitives)) if k != skip), key=lambda k: rows[j][k])
            gene.append((primitives[best], j))
        start, n = start + n, n + 1
    return gene


def darts_genes(
    logits: Sequence[Sequence[float]], primitives: Sequence[str]
) -> list[tuple[str, int]]:
    """The (op, input) pairs the DARTS rule keeps from one cell's logits, two per node."""
    return _parse([_softmax(r) for r in logits], primitives)


def darts_genotype(
    normal: Sequence[Sequence[float]], reduce: Sequence[Sequence[float]], primitives: Sequence[str]
) -> str:
    """The ``Genotype(...)`` text DARTS derives from these logits (rows already checked)."""
    nodes = _nodes(len(normal))
    concat = list(range(2, 2 + nodes))
    genes = [darts_genes(rows, primitives) for rows in (normal, reduce)]
    return (
        f"Genotype(normal={genes[0]!r}, normal_concat={concat!r}, "
        f"reduce={genes[1]!r}, reduce_concat={concat!r})"
    )


def _nodes(rows: int) -> int:
    """Nodes n with 2 + 3 + ... + (n + 1) = ``rows`` edges (0 when there is none)."""
    total, n = 0, 0
    while total < rows:
        n += 1
        total += n + 1
    return n if total == rows else 0


def _rows(src: ForeignSource, lit: Lit, what: str, width: int) -> list[list[float]]:
    rows = []
    for row_lit in seq_of(src, lit, what):
        row = []
        for item in seq_of(src, row_lit, f"a row of {what}"):
            if item.kind not in ("int", "float") or isinstance(item.value, bool):
                raise src.error(f"{what} holds numbers, not {describe(item)}", item.start, item.end)
            value = float(item.value)  # type: ignore[arg-type]
            if not math.isfinite(value):
                raise src.error(f"{what} holds a non-finite number", item.start, item.end)
            row.append(value)
        if len(row) != width:
            raise src.error(
                f"a row of {what} has {len(row)} numbers; there are {width} primitives",
                row_lit.start,
                row_lit.end,
            )
        rows.append(row)
    nodes = _nodes(len(rows))
    if not 1 <= nodes <= MAX_NODES:
        raise src.error(
            f"{what} has {len(rows)} rows: not 2 + 3 + ... + (n + 1) edges for n nodes "
            f"(4 nodes: 14 rows)",
            lit.start,
            lit.end,
        )
    return rows


def derive_darts(text: str | SourceText) -> tuple[str, Module]:
    """The genotype text DARTS's rule derives from architecture weights, and its module."""
    src = ForeignSource(text, "E125", _HINT)
    top = LiteralReader(src).expression()
    fields = mapping_of(src, top, "the architecture weights")
    for key in ("normal", "reduce", "primitives"):
        if key not in fields:
            raise src.error(f"no {key!r} entry", top.start, top.end)
    prim_lit = fields["primitives"]
    primitives = [text_of(src, p, "a primitive") for p in seq_of(src, prim_lit, "primitives")]
    if len(set(primitives)) != len(primitives) or not [p for p in primitives if p != "none"]:
        raise src.error(
            "primitives must be distinct and name an op besides none", prim_lit.start, prim_lit.end
        )
    normal = _rows(src, fields["normal"], "normal", len(primitives))
    reduce = _rows(src, fields["reduce"], "reduce", len(primitives))
    if len(normal) != len(reduce):
        raise src.error(
            f"reduce has {len(reduce)} rows but normal {len(normal)}",
            fields["reduce"].start,
            fields["reduce"].end,
        )
    genotype = darts_genotype(normal, reduce, primitives)
    try:
        return genotype, import_darts(genotype, "derived")
    except NasgenError as err:  # a primitive nasgen does not know: point at the list
        raise src.error(
            f"the derived genotype does not import: {err.message}",
            prim_lit.start,
            prim_lit.end,
            err.hint,
        ) from None
