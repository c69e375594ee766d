"""What the importers share when they build .cell ASTs: checked ops, spans, skeleton settings.

Pipeline stage: front end (checked foreign values -> **AST**). Imports ``nasgen.dsl.ast``,
``nasgen.dsl.foreign_source``, ``nasgen.errors`` and ``nasgen.ops``.
"""

from __future__ import annotations

from nasgen.dsl.ast import Ident, OpCall, Setting, StateRef
from nasgen.dsl.foreign_source import ForeignSource, shorten
from nasgen.errors import DslSemanticError, did_you_mean
from nasgen.ops import OPS

__all__ = ["MAX_BLOCKS", "check_block_count", "known_op", "settings"]

MAX_BLOCKS = 64
"""Blocks per imported cell (published cells have at most 8); more is refused, not compiled."""


def settings(pairs: tuple[tuple[str, str | int | float], ...]) -> tuple[Setting, ...]:
    """``network`` / ``variant`` settings from (key, value) pairs; strings become identifiers."""
    return tuple(Setting(k, Ident(v) if isinstance(v, str) else v) for k, v in pairs)


def known_op(src: ForeignSource, op: str, start: int, ref: StateRef) -> OpCall:
    """``op(ref)``, the op checked against the registry (E203/E223, as in a .cell file).

    ``start`` is the offset of the op's name in the input; the call's span points there.
    """
    span = src.span(start, start + max(1, len(op)))
    found = OPS.lookup(op)
    if found is None:
        hint = did_you_mean(op, OPS.spellings()) if len(op) <= 64 else None
        raise DslSemanticError("E203", f"unknown op {shorten(op)}", span, hint)
    if not found[0].searchable:
        raise DslSemanticError(
            "E223",
            f"{shorten(op)} is an internal op and cannot be used in a cell",
            span,
            "cells use searchable ops such as sep_conv_3x3, skip_connect, avg_pool_3x3",
        )
    return OpCall(op, ref, span=span)


def check_block_count(src: ForeignSource, count: int, what: str, start: int, end: int) -> None:
    """Refuse a cell of more than ``MAX_BLOCKS`` blocks before any of them is built."""
    if count > MAX_BLOCKS:
        raise src.error(
            f"{what}: {count:,} blocks; an imported cell may have at most {MAX_BLOCKS}",
            start,
            end,
            hint="published cells have at most 8 blocks",
        )
