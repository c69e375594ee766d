"""Architecture fingerprints: one hash for every file that compiles to the same network.

Pipeline stage: review (reads resolved architectures). Imports ``nasgen.dsl`` and ``nasgen.ops``.

NOTE: [What the fingerprint sees]
The graph, not the text. A cell is a DAG: its inputs (known by position: h_{i-1}, h_i), blocks
that combine op outputs, and an ordered output list. Two cells get the same hash exactly when
one is the other with

  1. states (inputs and blocks) renamed,
  2. blocks reordered without changing what they read,
  3. the operands of an ``add`` permuted (``add`` is commutative; ``concat`` is not, and
     neither is the output list, whose order is the channel order of the cell's output),
  4. ops spelled differently with the same resolved op and params (``skip_connect`` /
     ``identity``, ``sep_conv_5x5(h)`` / ``sep_conv(h, k=5)``), comments or layout changed.

Nothing else is normalised: ``add(op(x))`` is not ``op(x)`` (drop path applies to the operands
of an ``add``), ``none`` is not ``identity`` even where the convention makes it so (the rules
are hashed, so the pair still differs from a file spelling the other). One order fact of the
text reaches the graph: the last block's width is the shape ``output_adapt`` reduces the other
concatenated states to, so the hash includes that width (a ``concat`` block is wider).

The network part is the resolved ``NetworkSpec`` (every key but the cell names) and the
convention's rules (not its preset name); each cell the network uses is hashed under its role
(``normal``, ``reduction``, ``stem_cell``), so renaming a cell changes nothing either. A stage
network is hashed by its stages (depth, width, stride, b, g each), so a ``body = regnet`` file
and its explicit stage form (``nasgen space regnet --cell``) hash alike.

NOTE: [Canonical labelling]
Blocks first get a Merkle hash, bottom up from the inputs: the block's combine and its
operands' (op, params, hash of the state read), sorted for ``add``. Equal Merkle hashes mean
equal computations, but a tree of hashes cannot tell *which* of two equal blocks a third one
reads, so the digest is not the Merkle hash of the outputs. It is the canonical labelling of a
depth-first walk from the ordered outputs (then from blocks nothing reads, which only a cell
validation would reject, E305), operands of an ``add`` visited in Merkle order. Where that
order ties between distinct states, every order is tried and the smallest encoding kept: exact,
and exponential only in the number of interchangeable twin operands, which real cells have few
of (a cell with t pairs of twin operands is labelled 2^t times).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from nasgen.dsl.network import KEYS, REGNET_KEYS, STAGE_KEYS, NetworkSpec
from nasgen.dsl.resolve import Architecture, ResolvedBlock, ResolvedCell, ResolvedOp, body_stages

__all__ = [
    "FORMAT",
    "CellFingerprint",
    "architecture_hash",
    "block_width",
    "cell_hashes",
    "fingerprint_cell",
    "is_commutative",
    "used_cells",
]

FORMAT = "nasgen1"
"""Prefix of ``architecture_hash``; bumped whenever the canonical form changes."""

_COMMUTATIVE = frozenset({"add"})
_ROOTS = ""  # no state has an empty name: the walk's own "operands" (outputs, then dead ends)

Json = str | int | float | bool | list["Json"] | dict[str, "Json"] | None


@dataclass(frozen=True, slots=True)
class CellFingerprint:
    """The canonical form of one cell.

    Attributes:
        digest: sha256 hex of the canonical encoding; equal iff the cells are isomorphic.
        merkle: state name -> hash of its computation from the inputs (equal hashes, equal
            computations); the structural key ``semantic_diff`` matches blocks with.
        labels: state name -> canonical index (inputs 0..k-1, then blocks); two cells with
            equal digests map state to state through equal labels.

    """

    digest: str
    merkle: Mapping[str, str]
    labels: Mapping[str, int]


def _digest(payload: Json) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_commutative(combine: str | None) -> bool:
    """True when the order of a block's operands does not matter (``add``)."""
    return combine in _COMMUTATIVE


def block_width(block: ResolvedBlock) -> int:
    """Channels of a block's value in units of the cell's F (a ``concat`` of n ops: n)."""
    return len(block.ops) if block.combine == "concat" else 1


_EDGE_TEXTS: dict[tuple[object, ...], str] = {}


def _operand(op: ResolvedOp, ref: str | int) -> str:
    """``json.dumps([name, params, ref])`` for a hex digest or a label ``ref``.

    The ``[name, params`` part is encoded once per op and kept (keyed by the values' types
    too: ``1``, ``1.0`` and ``True`` compare equal but encode differently).
    """
    items = op.params.items_
    key = (op.op.name, items, tuple(type(v) for _, v in items))
    edge = _EDGE_TEXTS.get(key)
    if edge is None:
        if len(_EDGE_TEXTS) > 4096:
            _EDGE_TEXTS.clear()
        edge = _EDGE_TEXTS[key] = json.dumps([op.op.name, [[k, v] for k, v in items]])[:-1]
    shown = f'"{ref}"' if isinstance(ref, str) else str(ref)
    return f"{edge}, {shown}]"


def _merkle(cell: ResolvedCell) -> dict[str, str]:
    hashes = {name: _digest(["input", i]) for i, name in enumerate(cell.inputs)}
    for block in cell.blocks:
        operands = [_operand(op, hashes[op.input]) for op in block.ops]
        if is_commutative(block.combine):
            operands.sort()
        hashes[block.name] = _digest(["block", block.combine, list(operands)])
    return hashes


def _groups(keyed: list[tuple[str, str]]) -> list[list[str]]:
    """States sorted by key, grouped where keys tie (their visiting order is then free)."""
    runs = itertools.groupby(sorted(keyed), key=lambda pair: pair[0])
    return [list(dict.fromkeys(state for _, state in run)) for _, run in runs]


def _visit_order(block: ResolvedBlock, merkle: Mapping[str, str]) -> list[list[str]]:
    """The states a block reads, in visiting order, as groups whose internal order is free."""
    if not is_commutative(block.combine):
        return [[op.input] for op in block.ops]
    return _groups([(_operand(op, merkle[op.input]), op.input) for op in block.ops])


def _dead_ends(cell: ResolvedCell, merkle: Mapping[str, str]) -> list[list[str]]:
    """Blocks neither read nor output (E305: only unvalidated cells have them), as groups."""
    read = {op.input for block in cell.blocks for op in block.ops} | set(cell.output)
    return _groups([(merkle[b.name], b.name) for b in cell.blocks if b.name not in read])


def _choices(cell: ResolvedCell, merkle: Mapping[str, str]) -> Iterator[dict[str, list[str]]]:
    """Every visiting order of every block's operands that the Merkle order leaves open."""
    base = {b.name: _visit_order(b, merkle) for b in cell.blocks}
    base[_ROOTS] = [[s] for s in cell.output] + _dead_ends(cell, merkle)
    ties = [(name, i) for name, groups in base.items() for i, g in enumerate(groups) if len(g) > 1]
    options = [list(itertools.permutations(base[name][i])) for name, i in ties]
    for pick in itertools.product(*options):
        chosen = {name: [list(g) for g in groups] for name, groups in base.items()}
        for (name, i), order in zip(ties, pick, strict=True):
            chosen[name][i] = list(order)
        yield {name: [s for g in groups for s in g] for name, groups in chosen.items()}


def _label(cell: ResolvedCell, order: Mapping[str, Sequence[str]]) -> dict[str, int]:
    labels = {name: i for i, name in enumerate(cell.inputs)}

    def visit(state: str) -> None:
        if state in labels:
            return
        for read in order[state]:
            visit(read)
        labels[state] = len(labels)

    for state in order[_ROOTS]:
        visit(state)
    return labels


def _encode(cell: ResolvedCell, labels: Mapping[str, int]) -> str:
    blocks: list[Json] = []
    for block in sorted(cell.blocks, key=lambda b: labels[b.name]):
        operands = [_operand(op, labels[op.input]) for op in block.ops]
        if is_commutative(block.combine):
            operands.sort()
        blocks.append([block.combine, list(operands)])
    payload: Json = {
        "inputs": len(cell.inputs),
        "blocks": blocks,
        "output": [cell.concat_output, [labels[s] for s in cell.output]],
        "last_width": block_width(cell.blocks[-1]) if cell.blocks else 0,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def fingerprint_cell(cell: ResolvedCell) -> CellFingerprint:
    """The canonical form of a cell (see the module notes)."""
    merkle = _merkle(cell)
    best: tuple[str, dict[str, int]] | None = None
    for order in _choices(cell, merkle):
        labels = _label(cell, order)
        encoding = _encode(cell, labels)
        if best is None or encoding < best[0]:
            best = (encoding, labels)
    assert best is not None  # itertools.product of nothing yields one empty choice
    digest = hashlib.sha256(best[0].encode("utf-8")).hexdigest()
    return CellFingerprint(digest, MappingProxyType(merkle), MappingProxyType(best[1]))


def used_cells(spec: NetworkSpec) -> dict[str, str]:
    """Role (network key) -> cell name, for the cells this network instantiates.

    The same rule as the resolver's check: the normal cell always, the reduction cell when
    reduction cells are inserted, the stem cell under the ``nasnet_imagenet`` stem; none for a
    RegNet or stages body (its stages are network keys).
    """
    if spec.body != "cells":
        return {}
    roles = {"normal": spec.normal}
    if spec.reduction_mode == "insert_cell" and spec.reductions > 0:
        roles["reduction"] = spec.reduction
    if spec.stem == "nasnet_imagenet":
        roles["stem_cell"] = spec.stem_cell
    return roles


def cell_hashes(arch: Architecture) -> dict[str, str]:
    """Cell name -> sha256 hex of its canonical form, for every cell of the file."""
    return {name: fingerprint_cell(cell).digest for name, cell in arch.cells.items()}


def architecture_hash(arch: Architecture) -> str:
    """The fingerprint of a resolved architecture: ``nasgen1:`` and a sha256 hex digest.

    Equal for files that compile to the same network (see the module notes for exactly what is
    normalised), different when any op, input, combine, output list, convention rule, network
    setting or skeleton differs.

    Args:
        arch: a resolved architecture (file plus compile options: the variant, N and F given
            on the command line are part of the network).

    Returns:
        ``"nasgen1:" + 64 hex digits``.

    """
    network: dict[str, Json] = {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in arch.network.as_dict().items()
        if not KEYS[k].cell_name
    }
    if arch.network.body != "cells":  # a RegNet and its stage form are one network
        for key in ("body", *REGNET_KEYS, *STAGE_KEYS):
            network.pop(key, None)
        network["stages"] = [
            [s.depth, s.width, s.stride, s.bottleneck, s.group_width]
            for s in body_stages(arch.network)
        ]
    cells: dict[str, Json] = {
        role: fingerprint_cell(arch.cells[name]).digest if name in arch.cells else None
        for role, name in used_cells(arch.network).items()
    }
    payload: Json = {
        "format": FORMAT,
        "convention": dict(arch.convention.rules()),
        "network": network,
        "cells": cells,
    }
    return f"{FORMAT}:{_digest(payload)}"
